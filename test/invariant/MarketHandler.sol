// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EnergyMarket} from "../../src/EnergyMarket.sol";
import {EnergyToken} from "../../src/EnergyToken.sol";
import {ProsumerRegistry} from "../../src/ProsumerRegistry.sol";
import {IEnergyMarket} from "../../src/interfaces/IEnergyMarket.sol";
import {IProsumerRegistry} from "../../src/interfaces/IProsumerRegistry.sol";
import {SignedOrderLib} from "../utils/SignedOrderFixture.sol";
import {Test} from "forge-std/Test.sol";
import {Vm} from "forge-std/Vm.sol";

/// @notice Drives whole lifecycles over many windows: bursts of orders per window, late closes, keeper
/// outages and gas-limited upkeeps, deregistrations, readings batches with bad entries. Every call either is
/// predicted to succeed (and a revert fails the run) or is predicted to fail with one named error (checked
/// with expectRevert). Settlement is checked trade by trade against a model of the settlement rule. Orders
/// come directly and as signed orders (batches relayed by a third party, good ones among bad ones) and signed
/// cancels; a node-level model of each side of each book (every placement, tombstones included) predicts the
/// hint walk (`HintTooFar`), and the handler's own placement counts predict `PlacementLimitReached` and every
/// nonce.
contract MarketHandler is Test {
    uint256 internal constant KWH = 1000;
    uint256 internal constant TOKEN = 1e18;
    /// @dev Below this a perform may run out of gas (the first step is not metered); from it on it must not.
    uint256 public constant PERFORM_GAS_FLOOR = 300_000;
    uint256 internal constant PERFORM_GAS_MAX = 5_000_000;
    /// @dev Mirrors `EnergyMarket.MAX_UPKEEP_SCAN`.
    uint256 internal constant UPKEEP_SCAN = 64;
    /// @dev Mirror `EnergyMarket.MAX_PLACEMENTS_PER_WINDOW` and `MAX_HINT_WALK` (checked in the constructor).
    uint256 internal constant MAX_PLACEMENTS = 8;
    uint256 internal constant MAX_WALK = 20;

    IEnergyMarket.WindowStatus internal constant NONE = IEnergyMarket.WindowStatus.None;
    IEnergyMarket.WindowStatus internal constant OPEN = IEnergyMarket.WindowStatus.Open;
    IEnergyMarket.WindowStatus internal constant CLOSING = IEnergyMarket.WindowStatus.Closing;
    IEnergyMarket.WindowStatus internal constant CLEARED = IEnergyMarket.WindowStatus.Cleared;
    IEnergyMarket.WindowStatus internal constant SETTLING = IEnergyMarket.WindowStatus.Settling;
    IEnergyMarket.WindowStatus internal constant SETTLED = IEnergyMarket.WindowStatus.Settled;

    EnergyMarket public immutable market;
    EnergyToken public immutable token;
    ProsumerRegistry public immutable registry;
    /// @dev Holds the oracle role of the market and the registrar role of the registry.
    address public immutable admin;
    /// @dev Never registered: readings for it are skipped with MeterReadingRejected(NotRegistered).
    address public immutable stranger;
    uint256 public immutable duration;
    uint256 public immutable grace;
    address[] public actors;
    mapping(address => uint256) internal actorIndexPlusOne;
    mapping(address => bool) public registered;
    /// @dev Each actor's private key (`vm.addr(key)` is the actor), for signed orders and cancels.
    mapping(address => uint256) internal keyOf;
    /// @dev Submits the signed orders and cancels (holds no role, no order).
    address public immutable relayer;

    /// @dev A node of one side of a window's book: every placement, direct or signed, cancelled ones included
    /// (book order: price, then `seq`).
    struct Node {
        address owner;
        uint64 price; // at most 7 tokens/kWh here
        uint24 seq;
        bool live;
    }

    /// @dev A signed cancel that took effect, kept for replays.
    struct UsedCancel {
        address prosumer;
        uint256 windowId;
        uint256 nonce;
        bytes signature;
    }

    mapping(uint256 => Node[]) internal bidNodes;
    mapping(uint256 => Node[]) internal askNodes;
    /// @dev Placements (direct and signed) per window and actor: the next nonce, `orderNonce` must equal it.
    mapping(uint256 => mapping(address => uint256)) public placements;
    /// @dev Whether the actor's latest order in the window is live, by the handler's record.
    mapping(uint256 => mapping(address => bool)) public liveInModel;
    /// @dev Where the actor's latest node is: its index in `bidNodes` or `askNodes`, plus one, and the side.
    mapping(uint256 => mapping(address => uint256)) internal latestNodePlusOne;
    mapping(uint256 => mapping(address => bool)) internal latestNodeIsBid;
    /// @dev Actors whose order state the current call may have changed (checked by `_checkBookModel`).
    address[] internal touched;
    /// @dev Signed orders that were placed and signed cancels that took effect, replayed later.
    IEnergyMarket.SignedOrder[] internal usedOrders;
    UsedCancel[] internal usedCancels;

    uint256[] public windows;
    /// @dev Windows before this index are Settled and fingerprinted.
    uint256 public firstActive;
    mapping(uint256 => mapping(address => uint256)) public placementSeq;
    uint256 internal seqCounter;
    mapping(uint256 => uint8) public maxStatus;
    mapping(uint256 => uint256) public clearedAt;
    /// @dev Cancelled orders per window (tombstones the clearing walk skips) and metered close performs of the
    /// window that made no trade: each such perform must have skipped at least one tombstone.
    mapping(uint256 => uint256) public cancelsIn;
    mapping(uint256 => uint256) public tradelessClosePerforms;
    mapping(uint256 => uint256) public settleStartedAt;
    mapping(uint256 => bytes32) public settledFingerprint;
    mapping(uint256 => mapping(uint256 => uint8)) internal seenTradeStatus;
    mapping(uint256 => mapping(address => bytes32)) internal frozenReading;
    /// @dev Energy accepted so far per window and trader (the model's cumulative sums).
    mapping(uint256 => mapping(address => uint256)) internal acceptedSold;
    mapping(uint256 => mapping(address => uint256)) internal acceptedBought;

    uint256 public violations;
    string public lastViolation;
    /// @dev Outcome counters of the run (see `MarketInvariantsTest.COUNTERS`).
    mapping(string => uint256) public counts;

    constructor(
        EnergyMarket market_,
        EnergyToken token_,
        ProsumerRegistry registry_,
        address admin_,
        address[] memory actors_,
        uint256[] memory keys_
    ) {
        market = market_;
        token = token_;
        registry = registry_;
        admin = admin_;
        stranger = makeAddr("stranger");
        actors = actors_;
        relayer = makeAddr("relayer");
        for (uint256 i; i < actors_.length; ++i) {
            actorIndexPlusOne[actors_[i]] = i + 1;
            registered[actors_[i]] = true;
            require(vm.addr(keys_[i]) == actors_[i], "actor key");
            keyOf[actors_[i]] = keys_[i];
        }
        duration = market_.windowDuration();
        grace = market_.settlementGrace();
        require(market_.MAX_PLACEMENTS_PER_WINDOW() == MAX_PLACEMENTS, "placement cap");
        require(market_.MAX_HINT_WALK() == MAX_WALK, "hint walk bound");
    }

    // ================================================================ actions: orders

    function openWindow() external {
        uint256 w = market.currentWindow();
        if (_status(w) != NONE) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.WindowAlreadyExists.selector, w));
            market.openWindow();
            return;
        }
        market.openWindow();
        windows.push(w);
        _afterCall();
    }

    /// @dev One order into the latest window, with every revert it can meet predicted.
    function placeOrder(
        uint256 actorSeed,
        bool isBid,
        uint256 energySeed,
        uint256 priceSeed,
        uint256 hintSeed
    ) external {
        if (windows.length == 0) return;
        uint256 w = windows[windows.length - 1];
        address who = _actorWithoutOrder(w, actorSeed, actorSeed % 5 != 0);
        // Energies just past the valid range on purpose (0); prices in few levels for many ties.
        uint256 energy = energySeed % (5 * KWH + 1);
        uint256 price = (1 + priceSeed % 6) * TOKEN;
        IEnergyMarket.Side side = isBid ? IEnergyMarket.Side.Buy : IEnergyMarket.Side.Sell;
        address hint = _hint(w, side, price, hintSeed);
        bytes memory err = _placeError(w, who, isBid, energy, price, hint);
        vm.prank(who);
        if (err.length == 0) {
            market.placeOrder(w, side, energy, price, hint);
            _recordPlacement(w, who, isBid, price);
            ++counts["ordersPlaced"];
            _checkBookModel(w, hintSeed);
            _afterCall();
            return;
        }
        vm.expectRevert(err);
        market.placeOrder(w, side, energy, price, hint);
        _countRefusal(bytes4(err));
    }

    /// @dev Several valid orders into the current window (opened first if nobody did), so that windows fill
    /// up before time moves on. Bids at 2..7 tokens/kWh, asks at 1..6: most books cross at several levels.
    function placeBurst(uint256 seed) external {
        uint256 w = market.currentWindow();
        if (_status(w) == NONE) {
            market.openWindow();
            windows.push(w);
        }
        ++counts["bursts"];
        uint256 k = 3 + seed % 12;
        for (uint256 j; j < k; ++j) {
            uint256 r = uint256(keccak256(abi.encode(seed, j)));
            // Mostly a registered actor without an order; one in eight tries a deregistered one (NotRegistered).
            address who = r % 8 == 0 ? _deregisteredActor(r >> 3) : address(0);
            if (who == address(0)) who = _freeRegisteredActor(w, r >> 3);
            if (who == address(0)) break; // every registered actor already has an order
            bool isBid = (r >> 8) % 2 == 0;
            IEnergyMarket.Side side = isBid ? IEnergyMarket.Side.Buy : IEnergyMarket.Side.Sell;
            uint256 energy = 100 + (r >> 16) % (5 * KWH);
            uint256 price = ((isBid ? 2 : 1) + (r >> 32) % 6) * TOKEN;
            address hint = _hint(w, side, price, r >> 48);
            bytes memory err = _placeError(w, who, isBid, energy, price, hint);
            if (err.length != 0) {
                vm.prank(who);
                vm.expectRevert(err);
                market.placeOrder(w, side, energy, price, hint);
                _countRefusal(bytes4(err));
                touched.push(who);
                // A refused hint: the prosumer retries with the exact one (findHint, no walk).
                if (bytes4(err) != IEnergyMarket.HintTooFar.selector) continue;
                hint = market.findHint(w, side, price);
            }
            vm.prank(who);
            market.placeOrder(w, side, energy, price, hint);
            _recordPlacement(w, who, isBid, price);
            ++counts["ordersPlaced"];
        }
        _checkBookModel(w, seed);
        _afterCall();
    }

    function cancelOrder(uint256 actorSeed) external {
        if (windows.length == 0) return;
        uint256 w = windows[windows.length - 1];
        address who = actors[actorSeed % actors.length];
        (,,,, bool live) = market.getOrder(w, who);
        IEnergyMarket.WindowStatus status = _status(w);
        vm.prank(who);
        if (status != OPEN) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.WindowNotOpen.selector, w));
        } else if (block.timestamp >= w + duration) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.OrderingClosed.selector, w, w + duration));
        } else if (!live) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.NoLiveOrder.selector, w, who));
        } else {
            // Deregistered prosumers may still cancel (their ID stays bound).
            market.cancelOrder(w);
            _recordCancel(w, who);
            ++counts["cancels"];
            _checkBookModel(w, actorSeed);
            _afterCall();
            return;
        }
        market.cancelOrder(w);
        ++counts["cancelsRefused"];
    }

    // ================================================================ actions: signed orders and cancels

    /// @dev A relayer's batch of 1-6 signed orders, mostly into the current window (opened first if nobody
    /// did), sometimes into an older window (`WindowNotOpen`/`OrderingClosed`) or the current one before
    /// anyone opened it. Each order is predicted placed or rejected with its reason, in the documented check
    /// order, from the state the earlier orders of the batch leave; the batch must emit exactly one event per
    /// order, in order.
    function placeOrdersBySig(uint256 seed) external {
        ++counts["callsPlaceOrdersBySig"];
        uint256 w = market.currentWindow();
        if (seed % 16 == 0 && windows.length != 0) {
            w = windows[(seed >> 4) % windows.length];
        } else if (_status(w) == NONE && seed % 16 != 1) {
            market.openWindow();
            windows.push(w);
        }
        ++counts["signedBatches"];
        uint256 n = 1 + (seed >> 8) % 6;
        IEnergyMarket.SignedOrder[] memory orders = new IEnergyMarket.SignedOrder[](n);
        bytes4[] memory reasons = new bytes4[](n);
        uint256 placed;
        for (uint256 j; j < n; ++j) {
            (orders[j], reasons[j]) = _signedOrder(w, uint256(keccak256(abi.encode(seed, j))));
            IEnergyMarket.SignedOrder memory o = orders[j];
            touched.push(o.prosumer);
            if (reasons[j] != 0) {
                _countSignedRejection(reasons[j]);
                continue;
            }
            ++placed;
            _recordPlacement(o.windowId, o.prosumer, o.side == IEnergyMarket.Side.Buy, o.pricePerKWh);
            usedOrders.push(o);
        }
        _relay(orders, reasons, placed);
        _checkBookModel(w, seed >> 64);
        _afterCall();
    }

    /// @dev Relays a batch whose outcome was predicted (`reasons`, 0: placed; the placements already
    /// recorded).
    function _relay(IEnergyMarket.SignedOrder[] memory orders, bytes4[] memory reasons, uint256 placed)
        internal
    {
        vm.recordLogs();
        vm.prank(relayer);
        uint256 got = market.placeOrdersBySig(orders);
        if (got != placed) _violation("placeOrdersBySig: placed count differs from the prediction");
        _checkBatchLogs(orders, reasons);
        counts["signedPlaced"] += placed;
        counts["signedRejected"] += orders.length - placed;
    }

    /// @dev A prosumer's app re-prices its order again and again in one window by signature (the replace
    /// flow: the relayer relays the `Cancel` of order n-1, then the `Order` n, one batch each), 1-5 rounds,
    /// until the placements run out (`PlacementLimitReached`). Each round leaves a tombstone, so books get
    /// deep and far hints (a quarter are random) meet `HintTooFar`; every outcome predicted.
    function replaceBySig(uint256 seed) external {
        ++counts["callsReplaceBySig"];
        if (windows.length == 0) return;
        uint256 w = windows[windows.length - 1];
        if (_status(w) != OPEN || block.timestamp >= w + duration) return; // other actions cover those
        // Half the time the actor with the most placements (a busy app keeps re-pricing), else a random one.
        address who = seed % 2 == 0 ? _busiestActor(w) : _actorWithLiveOrder(w, seed >> 1);
        if (!liveInModel[w][who]) return;
        ++counts["replaceRuns"];
        uint256 rounds = 1 + (seed >> 8) % 5;
        for (uint256 k; k < rounds; ++k) {
            uint256 r = uint256(keccak256(abi.encode(seed, k)));
            if (liveInModel[w][who]) {
                uint256 nonce = placements[w][who] - 1;
                bytes memory signature = SignedOrderLib.sign(
                    keyOf[who], SignedOrderLib.cancelDigest(address(market), block.chainid, who, w, nonce)
                );
                vm.prank(relayer);
                market.cancelOrderBySig(who, w, nonce, signature);
                _recordCancel(w, who);
                ++counts["signedCancels"];
            }
            bool isBid = r % 2 == 0;
            IEnergyMarket.Side side = isBid ? IEnergyMarket.Side.Buy : IEnergyMarket.Side.Sell;
            uint256 price = ((isBid ? 2 : 1) + (r >> 8) % 6) * TOKEN;
            IEnergyMarket.SignedOrder[] memory orders = new IEnergyMarket.SignedOrder[](1);
            orders[0] = IEnergyMarket.SignedOrder({
                prosumer: who,
                windowId: w,
                side: side,
                energyWh: 100 + (r >> 16) % (5 * KWH),
                pricePerKWh: price,
                nonce: placements[w][who],
                hintPrev: (r >> 40) % 4 == 0 ? _hint(w, side, price, r >> 42) : _modelHint(w, isBid, price),
                signature: ""
            });
            orders[0].signature = SignedOrderLib.sign(
                keyOf[who], SignedOrderLib.orderDigest(address(market), block.chainid, orders[0])
            );
            bytes4[] memory reasons = new bytes4[](1);
            reasons[0] = _signedReason(orders[0], true);
            ++counts["signedBatches"];
            if (reasons[0] == 0) {
                _recordPlacement(w, who, isBid, price);
                usedOrders.push(orders[0]);
            } else {
                _countSignedRejection(reasons[0]);
            }
            _relay(orders, reasons, reasons[0] == 0 ? 1 : 0);
            if (reasons[0] == IEnergyMarket.PlacementLimitReached.selector) break;
        }
        _checkBookModel(w, seed >> 32);
        _afterCall();
    }

    /// @dev One signed order for window `w` and the reason it must be skipped for (0: placed). Mostly good (a
    /// registered actor without a live order, its nonce and key; the hint as a relayer computes it, from the
    /// book as the earlier orders leave it, a quarter of the time a random or stale one); else a wrong nonce,
    /// another actor's signature, a field changed after signing, a field out of range, or a replay of a
    /// signed order that was placed (any window).
    function _signedOrder(uint256 w, uint256 r)
        internal
        view
        returns (IEnergyMarket.SignedOrder memory o, bytes4 reason)
    {
        uint256 variant = (r >> 8) % 16;
        if (variant == 15 && usedOrders.length != 0) {
            o = usedOrders[(r >> 16) % usedOrders.length];
            return (o, _signedReason(o, true));
        }
        address who = r % 4 != 0 ? _signingActor(w, r >> 2) : actors[(r >> 2) % actors.length];
        bool isBid = (r >> 12) % 2 == 0;
        IEnergyMarket.Side side = isBid ? IEnergyMarket.Side.Buy : IEnergyMarket.Side.Sell;
        uint256 price = ((isBid ? 2 : 1) + (r >> 16) % 6) * TOKEN;
        o = IEnergyMarket.SignedOrder({
            prosumer: who,
            windowId: w,
            side: side,
            energyWh: 100 + (r >> 24) % (5 * KWH),
            pricePerKWh: price,
            nonce: placements[w][who],
            hintPrev: (r >> 40) % 4 == 0 ? _hint(w, side, price, r >> 42) : _modelHint(w, isBid, price),
            signature: ""
        });
        if (variant == 10) o.nonce = o.nonce == 0 ? 1 + (r >> 56) % 3 : o.nonce - 1 + 2 * ((r >> 56) % 2);
        if (variant == 13) {
            uint256 field = (r >> 60) % 4;
            if (field == 0) o.energyWh = 0;
            else if (field == 1) o.energyWh = market.MAX_ENERGY_WH() + 1;
            else if (field == 2) o.pricePerKWh = 0;
            else o.pricePerKWh = market.MAX_PRICE_PER_KWH() + 1;
        }
        address signer = variant == 11 ? _otherActor(who, r >> 64) : who;
        o.signature =
            SignedOrderLib.sign(keyOf[signer], SignedOrderLib.orderDigest(address(market), block.chainid, o));
        if (variant == 12) {
            uint256 field = (r >> 72) % 4;
            if (field == 0) ++o.energyWh;
            else if (field == 1) o.pricePerKWh += TOKEN;
            else if (field == 2) o.side = isBid ? IEnergyMarket.Side.Sell : IEnergyMarket.Side.Buy;
            else o.prosumer = _otherActor(who, r >> 76);
        }
        reason = _signedReason(o, variant != 11 && variant != 12);
    }

    /// @dev docs/protocol.md, "Signed orders", check order: the checks of `placeOrder` (fields, window,
    /// registration, live order, placement cap), the nonce, the signature, the hint walk.
    function _signedReason(IEnergyMarket.SignedOrder memory o, bool signatureOk)
        internal
        view
        returns (bytes4)
    {
        uint256 w = o.windowId;
        bytes4 failure = _placeCheck(w, o.prosumer, o.energyWh, o.pricePerKWh);
        if (failure != 0) return failure;
        if (o.nonce != placements[w][o.prosumer]) return IEnergyMarket.InvalidNonce.selector;
        if (!signatureOk) return IEnergyMarket.InvalidSignature.selector;
        if (_walk(w, o.side == IEnergyMarket.Side.Buy, o.pricePerKWh, o.hintPrev) > MAX_WALK) {
            return IEnergyMarket.HintTooFar.selector;
        }
        return 0;
    }

    /// @dev The batch emitted exactly one market event per order, in array order: `OrderPlaced`, or
    /// `SignedOrderRejected` with the predicted reason.
    function _checkBatchLogs(IEnergyMarket.SignedOrder[] memory orders, bytes4[] memory reasons) internal {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        if (logs.length != orders.length) {
            _violation("placeOrdersBySig: not one event per signed order");
            return;
        }
        for (uint256 j; j < orders.length; ++j) {
            IEnergyMarket.SignedOrder memory o = orders[j];
            Vm.Log memory log_ = logs[j];
            bytes32 topic = reasons[j] == 0
                ? IEnergyMarket.OrderPlaced.selector
                : IEnergyMarket.SignedOrderRejected.selector;
            bytes memory data = reasons[j] == 0
                ? abi.encode(o.side, o.energyWh, o.pricePerKWh)
                : abi.encode(o.nonce, reasons[j]);
            if (
                log_.emitter != address(market) || log_.topics.length != 3 || log_.topics[0] != topic
                    || log_.topics[1] != bytes32(o.windowId)
                    || log_.topics[2] != bytes32(uint256(uint160(o.prosumer)))
                    || keccak256(log_.data) != keccak256(data)
            ) {
                _violation(
                    string.concat(
                        "signed order ",
                        vm.toString(j),
                        ": expected ",
                        reasons[j] == 0 ? "OrderPlaced" : "SignedOrderRejected ",
                        vm.toString(abi.encodePacked(reasons[j])),
                        ", got ",
                        vm.toString(log_.data)
                    )
                );
            }
        }
    }

    /// @dev A relayed signed cancel in the latest window: mostly good (an actor with a live order, its nonce,
    /// its key), else a wrong nonce, another actor's signature, a replay of a cancel that took effect (any
    /// window), or an actor (or the never registered stranger) without a live order. Reverts predicted in the
    /// documented order.
    function cancelOrderBySig(uint256 seed) external {
        ++counts["callsCancelOrderBySig"];
        if (windows.length == 0) return;
        uint256 w = windows[windows.length - 1];
        uint256 variant = seed % 8;
        address who;
        uint256 nonce;
        bytes memory signature;
        bool signatureOk = variant != 5;
        if (variant == 6 && usedCancels.length != 0) {
            UsedCancel storage used = usedCancels[(seed >> 3) % usedCancels.length];
            (who, w, nonce, signature) = (used.prosumer, used.windowId, used.nonce, used.signature);
        } else {
            if (variant < 6) who = _actorWithLiveOrder(w, seed >> 3);
            else who = (seed >> 3) % 6 == 0 ? stranger : actors[(seed >> 3) % actors.length];
            uint256 p = placements[w][who];
            nonce = variant == 4 ? p + (seed >> 16) % 2 : (p == 0 ? 0 : p - 1);
            address signer = variant == 5 || who == stranger ? _otherActor(who, seed >> 24) : who;
            signature = SignedOrderLib.sign(
                keyOf[signer], SignedOrderLib.cancelDigest(address(market), block.chainid, who, w, nonce)
            );
        }
        bytes memory err = _cancelBySigError(w, who, nonce, signatureOk && who != stranger);
        vm.prank(relayer);
        if (err.length != 0) {
            vm.expectRevert(err);
            market.cancelOrderBySig(who, w, nonce, signature);
            ++counts["signedCancelsRefused"];
            return;
        }
        market.cancelOrderBySig(who, w, nonce, signature);
        _recordCancel(w, who);
        usedCancels.push(UsedCancel(who, w, nonce, signature));
        ++counts["signedCancels"];
        _checkBookModel(w, seed >> 32);
        _afterCall();
    }

    /// @dev `cancelOrderBySig`'s checks in their order (a deregistered prosumer may cancel).
    function _cancelBySigError(uint256 w, address who, uint256 nonce, bool signatureOk)
        internal
        view
        returns (bytes memory)
    {
        if (_status(w) != OPEN) return abi.encodeWithSelector(IEnergyMarket.WindowNotOpen.selector, w);
        if (block.timestamp >= w + duration) {
            return abi.encodeWithSelector(IEnergyMarket.OrderingClosed.selector, w, w + duration);
        }
        uint256 p = placements[w][who];
        if (p == 0) return abi.encodeWithSelector(IEnergyMarket.NoLiveOrder.selector, w, who);
        if (nonce != p - 1) {
            return abi.encodeWithSelector(IEnergyMarket.InvalidNonce.selector, who, p - 1, nonce);
        }
        if (!liveInModel[w][who]) return abi.encodeWithSelector(IEnergyMarket.NoLiveOrder.selector, w, who);
        if (!signatureOk) return abi.encodeWithSelector(IEnergyMarket.InvalidSignature.selector, who);
        return "";
    }

    function _countSignedRejection(bytes4 reason) internal {
        if (reason == IEnergyMarket.InvalidSignature.selector) {
            ++counts["signedRejectedInvalidSignature"];
        } else if (reason == IEnergyMarket.InvalidNonce.selector) {
            ++counts["signedRejectedInvalidNonce"];
        } else if (reason == IEnergyMarket.AlreadyHasOrder.selector) {
            ++counts["signedRejectedAlreadyHasOrder"];
        } else if (reason == IEnergyMarket.PlacementLimitReached.selector) {
            ++counts["signedRejectedPlacementLimit"];
        } else if (reason == IEnergyMarket.HintTooFar.selector) {
            ++counts["signedRejectedHintTooFar"];
        } else if (reason == IEnergyMarket.NotRegistered.selector) {
            ++counts["signedRejectedNotRegistered"];
        } else if (
            reason == IEnergyMarket.WindowNotOpen.selector || reason == IEnergyMarket.OrderingClosed.selector
        ) {
            ++counts["signedRejectedWindow"];
        } else {
            ++counts["signedRejectedFields"];
        }
    }

    function _countRefusal(bytes4 reason) internal {
        if (reason == IEnergyMarket.NotRegistered.selector) {
            ++counts["ordersRefusedNotRegistered"];
        } else if (reason == IEnergyMarket.PlacementLimitReached.selector) {
            ++counts["ordersRefusedPlacementLimit"];
        } else if (reason == IEnergyMarket.HintTooFar.selector) {
            ++counts["ordersRefusedHintTooFar"];
        }
    }

    // ================================================================ order book model

    /// @dev The first check of `placeOrder` that an order of `who` fails, the hint walk aside (0: none), from
    /// the handler's record (placements, live orders, registrations). The handler never pauses.
    function _placeCheck(uint256 w, address who, uint256 energy, uint256 price)
        internal
        view
        returns (bytes4)
    {
        if (energy == 0) return IEnergyMarket.ZeroEnergy.selector;
        if (energy > market.MAX_ENERGY_WH()) return IEnergyMarket.EnergyOutOfRange.selector;
        if (price == 0) return IEnergyMarket.ZeroPrice.selector;
        if (price > market.MAX_PRICE_PER_KWH()) return IEnergyMarket.PriceOutOfRange.selector;
        if (_status(w) != OPEN) return IEnergyMarket.WindowNotOpen.selector;
        if (block.timestamp >= w + duration) return IEnergyMarket.OrderingClosed.selector;
        if (!registered[who]) return IEnergyMarket.NotRegistered.selector;
        if (liveInModel[w][who]) return IEnergyMarket.AlreadyHasOrder.selector;
        if (placements[w][who] == MAX_PLACEMENTS) return IEnergyMarket.PlacementLimitReached.selector;
        return 0;
    }

    /// @dev The revert data `placeOrder` must give (empty: it places), `HintTooFar` from the node model.
    function _placeError(uint256 w, address who, bool isBid, uint256 energy, uint256 price, address hint)
        internal
        view
        returns (bytes memory)
    {
        bytes4 failure = _placeCheck(w, who, energy, price);
        if (failure == 0) {
            if (_walk(w, isBid, price, hint) <= MAX_WALK) return "";
            return abi.encodeWithSelector(IEnergyMarket.HintTooFar.selector, w, hint);
        }
        if (failure == IEnergyMarket.WindowNotOpen.selector) return abi.encodeWithSelector(failure, w);
        if (failure == IEnergyMarket.OrderingClosed.selector) {
            return abi.encodeWithSelector(failure, w, w + duration);
        }
        if (failure == IEnergyMarket.NotRegistered.selector) return abi.encodeWithSelector(failure, who);
        if (failure == IEnergyMarket.AlreadyHasOrder.selector) {
            return abi.encodeWithSelector(failure, w, who);
        }
        if (failure == IEnergyMarket.PlacementLimitReached.selector) {
            return abi.encodeWithSelector(failure, w, who, MAX_PLACEMENTS);
        }
        return abi.encodeWithSelector(failure); // ZeroEnergy (the direct paths never go out of range)
    }

    function _recordPlacement(uint256 w, address who, bool isBid, uint256 price) internal {
        touched.push(who);
        uint256 seq = ++seqCounter;
        placementSeq[w][who] = seq;
        Node[] storage list = isBid ? bidNodes[w] : askNodes[w];
        list.push(Node(who, uint64(price), uint24(seq), true));
        latestNodePlusOne[w][who] = list.length;
        latestNodeIsBid[w][who] = isBid;
        ++placements[w][who];
        liveInModel[w][who] = true;
    }

    function _recordCancel(uint256 w, address who) internal {
        touched.push(who);
        ++cancelsIn[w];
        liveInModel[w][who] = false;
        (latestNodeIsBid[w][who] ? bidNodes[w] : askNodes[w])[latestNodePlusOne[w][who] - 1].live = false;
    }

    /// @dev How many preceding nodes `placeOrder` walks past from its start: the latest (in book order) of
    /// the hinted prosumer's nodes on that side that precede the new order, else the head.
    function _walk(uint256 w, bool isBid, uint256 price, address hint) internal view returns (uint256 walk) {
        Node[] memory list = isBid ? bidNodes[w] : askNodes[w];
        uint256 startPlusOne;
        if (hint != address(0)) {
            for (uint256 i; i < list.length; ++i) {
                if (list[i].owner != hint || !_precedes(isBid, list[i].price, price)) continue;
                if (startPlusOne == 0 || _later(isBid, list[startPlusOne - 1], list[i])) {
                    startPlusOne = i + 1;
                }
            }
        }
        for (uint256 i; i < list.length; ++i) {
            if (!_precedes(isBid, list[i].price, price)) continue;
            if (startPlusOne == 0 || _later(isBid, list[startPlusOne - 1], list[i])) ++walk;
        }
    }

    /// @dev What `findHint` answers: the owner of the last node (live or not) that precedes the place.
    function _modelHint(uint256 w, bool isBid, uint256 price) internal view returns (address) {
        Node[] memory list = isBid ? bidNodes[w] : askNodes[w];
        uint256 lastPlusOne;
        for (uint256 i; i < list.length; ++i) {
            if (!_precedes(isBid, list[i].price, price)) continue;
            if (lastPlusOne == 0 || _later(isBid, list[lastPlusOne - 1], list[i])) lastPlusOne = i + 1;
        }
        return lastPlusOne == 0 ? address(0) : list[lastPlusOne - 1].owner;
    }

    /// @dev Whether node `b` comes after node `a` in book order: a worse price, or an equal one placed later.
    function _later(bool isBid, Node memory a, Node memory b) internal pure returns (bool) {
        if (a.price != b.price) return isBid ? b.price < a.price : b.price > a.price;
        return b.seq > a.seq;
    }

    function _precedes(bool isBid, uint256 existing, uint256 price) internal pure returns (bool) {
        return isBid ? existing >= price : existing <= price;
    }

    /// @notice The live orders of one side of window `w` in book order, by the node model.
    function modelBook(uint256 w, bool isBid) external view returns (address[] memory) {
        return _modelBook(w, isBid);
    }

    function _modelBook(uint256 w, bool isBid) internal view returns (address[] memory book) {
        Node[] memory list = isBid ? bidNodes[w] : askNodes[w];
        uint256[] memory order = new uint256[](list.length);
        uint256 n;
        for (uint256 i; i < list.length; ++i) {
            if (!list[i].live) continue;
            uint256 k = n++;
            while (k > 0 && _later(isBid, list[i], list[order[k - 1]])) {
                order[k] = order[k - 1];
                --k;
            }
            order[k] = i;
        }
        book = new address[](n);
        for (uint256 k; k < n; ++k) {
            book[k] = list[order[k]].owner;
        }
    }

    /// @dev Invariant 18, after every action that changes a book (books change nowhere else): a side of window
    /// `w` is the live part of the node model, `findHint` names the model's last preceding node (at one price
    /// level), and the touched actors' nonces and live flags are as recorded (`seed` picks the side, the price
    /// and, one time in eight, a check of every actor).
    function _checkBookModel(uint256 w, uint256 seed) internal {
        if (_status(w) != OPEN) {
            delete touched;
            return;
        }
        // One side, picked by `seed` (a difference persists, so a later check of that side finds it).
        bool isBid = seed % 2 == 0;
        IEnergyMarket.Side side = isBid ? IEnergyMarket.Side.Buy : IEnergyMarket.Side.Sell;
        if (
            keccak256(abi.encode(market.getBook(w, side, 0, type(uint256).max)))
                != keccak256(abi.encode(_modelBook(w, isBid)))
        ) {
            _violation("18: book differs from the node model");
        }
        uint256 price = (1 + (seed >> 8) % 7) * TOKEN;
        if (market.findHint(w, side, price) != _modelHint(w, isBid, price)) {
            _violation("18: findHint differs from the node model");
        }
        // The actors the call touched (placed, cancelled, refused), and one check in eight every actor.
        bool everyone = (seed >> 48) % 8 == 0;
        uint256 n = everyone ? actors.length : touched.length;
        for (uint256 i; i < n; ++i) {
            address a = everyone ? actors[i] : touched[i];
            if (market.orderNonce(w, a) != placements[w][a]) {
                _violation("18: orderNonce differs from placements");
            }
            (,,,, bool live) = market.getOrder(w, a);
            if (live != liveInModel[w][a]) _violation("18: live order differs from the record");
        }
        delete touched;
        ++counts["bookChecks"];
    }

    /// @dev A registered actor without a live order in `w` and with placements left (else any actor).
    function _signingActor(uint256 w, uint256 seed) internal view returns (address) {
        uint256 n = actors.length;
        for (uint256 k; k < n; ++k) {
            address candidate = actors[(seed % n + k) % n];
            if (
                registered[candidate] && !liveInModel[w][candidate]
                    && placements[w][candidate] < MAX_PLACEMENTS
            ) {
                return candidate;
            }
        }
        return actors[seed % n];
    }

    /// @dev The actor with a live order in `w` and the most placements there (address(0) if none).
    function _busiestActor(uint256 w) internal view returns (address busiest) {
        uint256 most;
        for (uint256 i; i < actors.length; ++i) {
            address a = actors[i];
            if (liveInModel[w][a] && placements[w][a] >= most) (busiest, most) = (a, placements[w][a]);
        }
    }

    function _actorWithLiveOrder(uint256 w, uint256 seed) internal view returns (address) {
        uint256 n = actors.length;
        for (uint256 k; k < n; ++k) {
            address candidate = actors[(seed % n + k) % n];
            if (liveInModel[w][candidate]) return candidate;
        }
        return actors[seed % n];
    }

    /// @dev An actor other than `who`.
    function _otherActor(address who, uint256 seed) internal view returns (address) {
        uint256 n = actors.length;
        address other = actors[seed % n];
        return other == who ? actors[(seed + 1) % n] : other;
    }

    // ================================================================ actions: close, readings, settle

    function closeWindow(uint256 windowSeed, uint256 stepsSeed) external {
        if (windows.length == 0) return;
        uint256 w = _pick(windowSeed, CLOSING);
        uint256 steps = stepsSeed % 4 == 0 ? type(uint256).max : 1 + stepsSeed % 8;
        IEnergyMarket.WindowStatus status = _status(w);
        if (status >= CLEARED) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.WindowAlreadyCleared.selector, w));
        } else if (block.timestamp < w + duration) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.TooEarly.selector, w, w + duration));
        } else {
            (,,,, uint256 tradesBefore,) = market.getWindow(w);
            market.closeWindow(w, steps);
            (IEnergyMarket.WindowStatus after_,,,, uint256 tradesAfter,) = market.getWindow(w);
            if (after_ != CLEARED && tradesAfter - tradesBefore != steps) _violation("close stopped early");
            _afterCall();
            return;
        }
        market.closeWindow(w, steps);
    }

    /// @dev Late close (a keeper outage across the end of delivery): warps past `w + 2d + grace` of the
    /// oldest window not yet cleared, then clears it. The grace must count from the clearing.
    function lateClose(uint256 offsetSeed) external {
        // Rare (it moves time by hours); the seed is hashed so that the fuzzer's favourite values (0, ...) do
        // not make it frequent.
        offsetSeed = uint256(keccak256(abi.encode(offsetSeed)));
        if (offsetSeed % 4 != 0) return;
        offsetSeed /= 4;
        uint256 w;
        bool found;
        for (uint256 i = firstActive; i < windows.length; ++i) {
            if (_status(windows[i]) < CLEARED) {
                (w, found) = (windows[i], true);
                break;
            }
        }
        if (!found) return;
        uint256 target = w + 2 * duration + grace + 1 + offsetSeed % duration;
        if (block.timestamp < target) vm.warp(target);
        market.closeWindow(w, type(uint256).max);
        ++counts["lateCloses"];
        _afterCall();
        (,,,, uint256 tradeCount,) = market.getWindow(w);
        // Nobody can have a reading yet (readings need a cleared window), so traders wait for the grace.
        uint256 expected = block.timestamp + (tradeCount == 0 ? 0 : grace);
        if (clearedAt[w] != block.timestamp) _violation("late close: clearing time not recorded");
        if (market.settleReadyAt(w) != expected) {
            _violation("late close: grace does not count from the clearing");
        }
    }

    /// @dev The oracle's round: three times in four a readings batch for every cleared window whose delivery
    /// hour has ended (as the keeper does), otherwise one batch for any window (the reverts predicted).
    function submitReadings(uint256 windowSeed, uint256 valueSeed) external {
        if (windows.length == 0) return;
        if (windowSeed % 4 == 0) {
            _submitReadings(windows[(windowSeed >> 2) % windows.length], valueSeed);
            return;
        }
        _submitAllDueReadings(valueSeed);
    }

    function _submitAllDueReadings(uint256 valueSeed) internal {
        for (uint256 i = firstActive; i < windows.length; ++i) {
            uint256 w = windows[i];
            if (_status(w) == CLEARED && block.timestamp >= w + 2 * duration) {
                _submitReadings(w, uint256(keccak256(abi.encode(valueSeed, i))));
            }
        }
    }

    /// @dev One readings batch: mostly every actor, sometimes some missing, delivered or short or more;
    /// sometimes with entries that must be skipped (an account that never registered, a value out of range).
    /// The good entries must be stored, each bad one announced by MeterReadingRejected.
    function _submitReadings(uint256 w, uint256 valueSeed) internal {
        (address[] memory who, uint256[] memory imported, uint256[] memory exported) =
            _readingsBatch(w, valueSeed);
        IEnergyMarket.WindowStatus status = _status(w);
        if (status < CLEARED) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.WindowNotCleared.selector, w));
        } else if (status > CLEARED) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.SettlementStarted.selector, w));
        } else if (block.timestamp < w + 2 * duration) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.TooEarly.selector, w, w + 2 * duration));
        } else {
            bytes32[] memory before = new bytes32[](actors.length);
            for (uint256 i; i < actors.length; ++i) {
                before[i] = _readingHash(w, actors[i]);
            }
            for (uint256 i; i < who.length; ++i) {
                bytes4 reason = _readingRejection(who[i], imported[i], exported[i]);
                if (reason == bytes4(0)) continue;
                vm.expectEmit(true, true, false, true, address(market));
                emit IEnergyMarket.MeterReadingRejected(w, who[i], reason);
                ++counts["readingsRejected"];
            }
            vm.prank(admin);
            market.submitMeterReadings(w, who, imported, exported);
            ++counts["readingsBatches"];
            _checkReadingsStored(w, who, imported, exported, before);
            _afterCall();
            return;
        }
        vm.prank(admin);
        market.submitMeterReadings(w, who, imported, exported);
    }

    function settleWindow(uint256 windowSeed, uint256 stepsSeed) external {
        if (windows.length == 0) return;
        uint256 w = _pick(windowSeed, SETTLING);
        uint256 steps = stepsSeed % 4 == 0 ? type(uint256).max : 1 + stepsSeed % 16;
        IEnergyMarket.WindowStatus status = _status(w);
        uint256 readyAt = market.settleReadyAt(w);
        if (status < CLEARED) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.WindowNotCleared.selector, w));
        } else if (status == SETTLED) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.WindowAlreadySettled.selector, w));
        } else if (status == CLEARED && block.timestamp < readyAt) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.TooEarly.selector, w, readyAt));
        } else {
            Snapshot memory snap = _beforeSettle(w);
            if ((stepsSeed >> 8) % 4 == 0) {
                _settleWithLittleGas(w, stepsSeed >> 10, snap);
                return;
            }
            market.settleWindow(w, steps);
            _afterSettle(w, snap);
            (,,,,, uint256 settledAfter) = market.getWindow(w);
            if (_status(w) != SETTLED && settledAfter - snap.settledBefore != steps) {
                _violation("settle stopped early");
            }
            _afterCall();
            return;
        }
        market.settleWindow(w, steps);
    }

    /// @dev Anyone may settle with any gas: 40k-400k for one to three trades. Running out of gas is the only
    /// allowed failure, and a success must still follow the settlement rule: the caller cannot choose a gas
    /// limit that makes a funded buyer's transfer fail (InsufficientFunds) while the call goes through.
    function _settleWithLittleGas(uint256 w, uint256 seed, Snapshot memory snap) internal {
        uint256 gas = 40_000 + seed % 360_001;
        uint256 steps = 1 + (seed >> 32) % 3;
        (bool ok, bytes memory ret) =
            address(market).call{gas: gas}(abi.encodeCall(market.settleWindow, (w, steps)));
        if (!ok) {
            if (ret.length != 0) _violation(string.concat("settleWindow reverted: ", vm.toString(ret)));
            ++counts["settleOutOfGas"];
            return;
        }
        ++counts["settleWithLittleGas"];
        _afterSettle(w, snap);
        _afterCall();
    }

    // ================================================================ actions: registry

    /// @dev Deregisters or re-registers an actor (half the time a seller of a window cleared but not settled,
    /// so its reading and its payment are exercised after it left), with the registry's reverts predicted.
    function toggleRegistration(uint256 seed) external {
        // A quarter of the time a seller awaiting settlement, a quarter a deregistered actor, else anyone.
        address who = seed % 4 == 0 ? _sellerAwaitingSettlement(seed >> 2) : address(0);
        if (seed % 4 == 1) who = _deregisteredActor(seed >> 2);
        if (who == address(0)) who = actors[(seed >> 2) % actors.length];
        uint256 id = registry.prosumerIdOf(who);
        uint256 mode = (seed >> 16) % 8;
        vm.startPrank(admin);
        if (registered[who]) {
            if (mode == 0) {
                vm.expectRevert(abi.encodeWithSelector(IProsumerRegistry.AlreadyRegistered.selector, who));
                registry.register(who, id);
            } else {
                registry.deregister(who);
                registered[who] = false;
                ++counts["deregistrations"];
            }
        } else if (mode == 0) {
            uint256 otherId = registry.prosumerIdOf(actors[(actorIndexPlusOne[who]) % actors.length]);
            vm.expectRevert(abi.encodeWithSelector(IProsumerRegistry.AccountBoundToOtherId.selector, who, id));
            registry.register(who, otherId);
        } else if (mode == 1) {
            vm.expectRevert(abi.encodeWithSelector(IProsumerRegistry.NotRegistered.selector, who));
            registry.deregister(who);
        } else {
            registry.register(who, id);
            registered[who] = true;
            ++counts["reregistrations"];
        }
        vm.stopPrank();
    }

    // ================================================================ actions: time and automation

    /// @dev Prefers small moves, so that several bursts land in one window: half the time 1-10 minutes,
    /// a quarter to just after the next hour boundary, a quarter 10-30 minutes.
    function warp(uint256 seed) external {
        uint256 r = seed % 4;
        uint256 step;
        if (r < 2) step = 60 + (seed >> 2) % 541;
        else if (r == 2) step = duration - block.timestamp % duration + (seed >> 2) % 300;
        else step = duration / 6 + (seed >> 2) % (duration / 3 + 1);
        vm.warp(block.timestamp + step);
    }

    /// @dev One automation round: checkUpkeep must propose the due action (open first, then the oldest due
    /// close, then the oldest ready settle), and performUpkeep with 300k..5M gas must do it and make progress.
    /// One time in eight the gas is below that floor: then running out of gas is the only allowed failure.
    function upkeep(uint256 gasSeed) external {
        uint256 r = gasSeed % 8;
        gasSeed >>= 3;
        uint256 gas;
        if (r == 0) gas = 30_000 + gasSeed % (PERFORM_GAS_FLOOR - 30_000);
        // Near the floor, so that batches are cut by the gas meter and steps start with little gas left.
        else if (r < 4) gas = PERFORM_GAS_FLOOR + gasSeed % 150_001;
        else gas = PERFORM_GAS_FLOOR + gasSeed % (PERFORM_GAS_MAX - PERFORM_GAS_FLOOR + 1);
        _upkeepOnce(gas);
    }

    /// @dev One upkeep cycle (check and perform until nothing is due) must open the current window, close every
    /// window that has ended and settle every window that is ready, in a bounded number of performs. One time
    /// in three it follows an outage: the keeper (and everybody else) was away for 2-5 hours.
    function upkeepCycle(uint256 seed) external {
        seed = uint256(keccak256(abi.encode(seed)));
        if (seed % 4 == 0) {
            vm.warp(block.timestamp + (2 + (seed >> 2) % 4) * duration + (seed >> 8) % duration);
            ++counts["keeperOutages"];
        }
        ++counts["upkeepCycles"];
        // Half the time the oracle has just delivered every due reading (as the keeper does before settling).
        if ((seed >> 4) % 2 == 0) _submitAllDueReadings(seed >> 5);
        uint256 limit = 16;
        for (uint256 i = firstActive; i < windows.length; ++i) {
            (,,,, uint256 tradeCount,) = market.getWindow(windows[i]);
            limit += 2 + tradeCount;
        }
        // Half the cycles give each perform little gas (batches cut by the gas meter), half up to 5M.
        uint256 gas = (seed >> 16) % 2 == 0
            ? PERFORM_GAS_FLOOR + (seed >> 24) % 150_001
            : PERFORM_GAS_MAX / (1 + (seed >> 24) % 4);
        uint256 performs;
        while (_upkeepOnce(gas)) {
            if (++performs > limit) {
                _violation("upkeep cycle did not end");
                return;
            }
        }
        if (_status(market.currentWindow()) == NONE) {
            _violation("upkeep cycle left the current window unopened");
        }
        for (uint256 i = firstActive; i < windows.length; ++i) {
            uint256 w = windows[i];
            IEnergyMarket.WindowStatus status = _status(w);
            if (status < CLEARED && block.timestamp >= w + duration) {
                _violation("upkeep cycle left a due close");
            }
            if (status == SETTLING || (status == CLEARED && block.timestamp >= market.settleReadyAt(w))) {
                _violation("upkeep cycle left a ready window unsettled");
            }
        }
    }

    /// @return performed whether checkUpkeep said an upkeep was needed (and one was attempted).
    function _upkeepOnce(uint256 gas) internal returns (bool performed) {
        (bool needed, bytes memory data) = market.checkUpkeep("");
        (IEnergyMarket.UpkeepAction action, uint256 w, uint256 maxSteps) =
            abi.decode(data, (IEnergyMarket.UpkeepAction, uint256, uint256));
        (IEnergyMarket.UpkeepAction expectedAction, uint256 expectedWindow) = expectedUpkeep();
        if (action != expectedAction || w != expectedWindow) {
            _violation("checkUpkeep proposed another action");
        }
        if (needed != (action != IEnergyMarket.UpkeepAction.None)) _violation("upkeepNeeded disagrees");
        if (maxSteps != 0) _violation("checkUpkeep capped maxSteps");
        if (!needed) {
            vm.expectRevert(IEnergyMarket.InvalidPerformData.selector);
            market.performUpkeep(data);
            return false;
        }
        Snapshot memory snap;
        if (action == IEnergyMarket.UpkeepAction.Settle) snap = _beforeSettle(w);
        (,,,, uint256 tradesBefore,) = market.getWindow(w);
        (bool ok, bytes memory ret) =
            address(market).call{gas: gas}(abi.encodeCall(market.performUpkeep, (data)));
        if (!ok) {
            if (gas < PERFORM_GAS_FLOOR && ret.length == 0) {
                ++counts["upkeepOutOfGas"];
            } else {
                _violation(string.concat("performUpkeep reverted: ", vm.toString(ret)));
            }
            return true;
        }
        ++counts["upkeepPerforms"];
        (IEnergyMarket.WindowStatus status,,,, uint256 tradesAfter, uint256 settledAfter) =
            market.getWindow(w);
        if (action == IEnergyMarket.UpkeepAction.Open) {
            if (status != OPEN) _violation("upkeep open: window not open");
            windows.push(w);
        } else if (action == IEnergyMarket.UpkeepAction.Close) {
            // Progress is a trade, or skipping tombstones (invisible from outside): at most one tradeless
            // perform per cancelled order of the window.
            if (
                status != CLEARED && tradesAfter == tradesBefore && ++tradelessClosePerforms[w] > cancelsIn[w]
            ) {
                _violation("upkeep close made no progress");
            }
            if (status != CLEARED) ++counts["upkeepBatchesCutByGas"];
        } else {
            if (status != SETTLED && settledAfter == snap.settledBefore) {
                _violation("upkeep settle made no progress");
            }
            if (status != SETTLED) ++counts["upkeepBatchesCutByGas"];
            _afterSettle(w, snap);
        }
        _afterCall();
        return true;
    }

    /// @notice What checkUpkeep must propose now, from the handler's own record of the windows.
    function expectedUpkeep() public view returns (IEnergyMarket.UpkeepAction, uint256) {
        uint256 current = market.currentWindow();
        if (_status(current) == NONE) return (IEnergyMarket.UpkeepAction.Open, current);
        for (uint256 i = firstActive; i < windows.length; ++i) {
            uint256 w = windows[i];
            if (_status(w) < CLEARED) {
                if (block.timestamp >= w + duration) return (IEnergyMarket.UpkeepAction.Close, w);
                break;
            }
        }
        uint256 first = firstActive;
        while (first < windows.length && _status(windows[first]) == SETTLED) {
            ++first;
        }
        uint256 end = windows.length - first > UPKEEP_SCAN ? first + UPKEEP_SCAN : windows.length;
        for (uint256 i = first; i < end; ++i) {
            uint256 w = windows[i];
            IEnergyMarket.WindowStatus status = _status(w);
            if (status == SETTLING || (status == CLEARED && block.timestamp >= expectedReadyAt(w))) {
                return (IEnergyMarket.UpkeepAction.Settle, w);
            }
        }
        return (IEnergyMarket.UpkeepAction.None, 0);
    }

    /// @notice When settlement of a cleared window may start: `max(w + 2d, clearedAt)`, plus the grace unless
    /// every trader (an actor with a filled order) has a reading.
    function expectedReadyAt(uint256 w) public view returns (uint256) {
        uint256 from = w + 2 * duration;
        if (clearedAt[w] > from) from = clearedAt[w];
        for (uint256 i; i < actors.length; ++i) {
            (,,, uint256 filled,) = market.getOrder(w, actors[i]);
            if (filled == 0) continue;
            (bool submitted,,) = market.getReading(w, actors[i]);
            if (!submitted) return from + grace;
        }
        return from;
    }

    // ================================================================ views for the invariants

    function windowCount() external view returns (uint256) {
        return windows.length;
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    /// @notice Every settled window is exactly as it was when it became Settled.
    function settledUnchanged() external view returns (bool) {
        for (uint256 i; i < windows.length; ++i) {
            uint256 w = windows[i];
            if (settledFingerprint[w] != bytes32(0) && settledFingerprint[w] != fingerprint(w)) return false;
        }
        return true;
    }

    /// @notice Everything the market tells about window `w`.
    function fingerprint(uint256 w) public view returns (bytes32 h) {
        {
            (IEnergyMarket.WindowStatus s, uint256 p, uint256 c, uint256 o, uint256 t, uint256 n) =
                market.getWindow(w);
            (uint256 traders, uint256 readings) = market.readingProgress(w);
            h = keccak256(abi.encode(s, p, c, o, t, n, traders, readings));
            for (uint256 k; k < t; ++k) {
                h = keccak256(abi.encode(h, _tradeHash(w, k)));
            }
        }
        for (uint256 i; i < actors.length; ++i) {
            (IEnergyMarket.Side side, uint256 energy, uint256 price, uint256 filled, bool live) =
                market.getOrder(w, actors[i]);
            h = keccak256(abi.encode(h, _readingHash(w, actors[i]), side, energy, price, filled, live));
        }
    }

    // ================================================================ settlement model

    struct Snapshot {
        IEnergyMarket.WindowStatus statusBefore;
        uint256 settledBefore;
        uint256[] balances;
        uint256[] allowances;
    }

    function _beforeSettle(uint256 w) internal returns (Snapshot memory snap) {
        snap.statusBefore = _status(w);
        (,,,,, snap.settledBefore) = market.getWindow(w);
        if (snap.statusBefore == CLEARED) _freezeReadings(w);
        snap.balances = new uint256[](actors.length);
        snap.allowances = new uint256[](actors.length);
        for (uint256 i; i < actors.length; ++i) {
            snap.balances[i] = token.balanceOf(actors[i]);
            snap.allowances[i] = token.allowance(actors[i], address(market));
        }
    }

    /// @dev The batch just settled: a prefix grows, each trade settled once, each outcome exactly the one the
    /// settlement rule gives (readings, cumulative energies, balance and allowance before the trade), tokens
    /// moved exactly as the accepted trades say. MissingReading never before the grace counted from the
    /// clearing.
    function _afterSettle(uint256 w, Snapshot memory snap) internal {
        if (snap.statusBefore == CLEARED) {
            settleStartedAt[w] = block.timestamp;
            if (block.timestamp < w + 2 * duration) _violation("settlement started before w + 2d");
        }
        (, uint256 price,,, uint256 tradeCount, uint256 settledAfter) = market.getWindow(w);
        if (settledAfter > tradeCount || settledAfter < snap.settledBefore) {
            _violation("settled count out of range");
        }
        for (uint256 t; t < tradeCount; ++t) {
            (,,, IEnergyMarket.TradeStatus status,) = market.getTrade(w, t);
            if ((t < settledAfter) != (status != IEnergyMarket.TradeStatus.Pending)) {
                _violation("settled set is not a prefix");
            }
            if (t < snap.settledBefore && uint8(status) != seenTradeStatus[w][t]) {
                _violation("trade settled twice");
            }
            seenTradeStatus[w][t] = uint8(status);
        }
        for (uint256 t = snap.settledBefore; t < settledAfter; ++t) {
            _checkTradeOutcome(w, t, price, snap);
        }
        for (uint256 i; i < actors.length; ++i) {
            if (token.balanceOf(actors[i]) != snap.balances[i]) {
                _violation("token movement differs from accepted trades");
            }
        }
    }

    function _checkTradeOutcome(uint256 w, uint256 t, uint256 price, Snapshot memory snap) internal {
        (
            address buyer,
            address seller,
            uint256 energy,
            IEnergyMarket.TradeStatus status,
            IEnergyMarket.RejectReason reason
        ) = market.getTrade(w, t);
        IEnergyMarket.RejectReason expected = _modelOutcome(w, buyer, seller, energy, price, snap);
        IEnergyMarket.TradeStatus expectedStatus = expected == IEnergyMarket.RejectReason.None
            ? IEnergyMarket.TradeStatus.Accepted
            : IEnergyMarket.TradeStatus.Rejected;
        if (status != expectedStatus || reason != expected) {
            _violation(
                string.concat(
                    "trade ",
                    vm.toString(t),
                    " of window ",
                    vm.toString(w),
                    ": reason ",
                    vm.toString(uint8(reason)),
                    ", settlement rule says ",
                    vm.toString(uint8(expected))
                )
            );
        }
        if (expected == IEnergyMarket.RejectReason.MissingReading) {
            uint256 from = w + 2 * duration;
            if (clearedAt[w] > from) from = clearedAt[w];
            if (settleStartedAt[w] < from + grace) {
                _violation("MissingReading before the grace from the clearing");
            }
        }
        if (!registered[seller] || !registered[buyer]) ++counts["settledWithDeregisteredParty"];
        if (!registered[seller] && expected == IEnergyMarket.RejectReason.None) {
            ++counts["paidDeregisteredSeller"];
        }
        if (expected == IEnergyMarket.RejectReason.None) ++counts["accepted"];
        else if (expected == IEnergyMarket.RejectReason.MissingReading) ++counts["rejectedMissingReading"];
        else if (expected == IEnergyMarket.RejectReason.SellerShortfall) ++counts["rejectedSellerShortfall"];
        else if (expected == IEnergyMarket.RejectReason.BuyerShortfall) ++counts["rejectedBuyerShortfall"];
        else ++counts["rejectedInsufficientFunds"];
    }

    /// @dev The settlement rule, applied to the model's state (which it updates for accepted trades).
    function _modelOutcome(
        uint256 w,
        address buyer,
        address seller,
        uint256 energy,
        uint256 price,
        Snapshot memory snap
    ) internal returns (IEnergyMarket.RejectReason) {
        (bool sellerRead,, uint256 exported) = market.getReading(w, seller);
        (bool buyerRead, uint256 imported,) = market.getReading(w, buyer);
        if (!sellerRead || !buyerRead) return IEnergyMarket.RejectReason.MissingReading;
        if (acceptedSold[w][seller] + energy > exported) return IEnergyMarket.RejectReason.SellerShortfall;
        if (acceptedBought[w][buyer] + energy > imported) return IEnergyMarket.RejectReason.BuyerShortfall;
        uint256 cost = energy * price / 1000;
        uint256 b = _index(buyer);
        if (snap.balances[b] < cost || snap.allowances[b] < cost) {
            return IEnergyMarket.RejectReason.InsufficientFunds;
        }
        acceptedSold[w][seller] += energy;
        acceptedBought[w][buyer] += energy;
        snap.balances[b] -= cost;
        snap.balances[_index(seller)] += cost;
        if (snap.allowances[b] != type(uint256).max) snap.allowances[b] -= cost;
        return IEnergyMarket.RejectReason.None;
    }

    // ================================================================ readings

    function _readingsBatch(uint256 w, uint256 seed)
        internal
        returns (address[] memory who, uint256[] memory imported, uint256[] memory exported)
    {
        uint256 n = actors.length;
        uint256 extra = (seed % 3 == 0 ? 1 : 0) + (seed % 5 == 0 ? 1 : 0);
        who = new address[](n + extra);
        imported = new uint256[](n + extra);
        exported = new uint256[](n + extra);
        uint256 m;
        // A quarter of the batches leave out some actors (traders among them wait for the grace).
        bool someMissing = seed % 4 == 1;
        uint256 badAt = (seed >> 8) % (n + 1);
        for (uint256 i; i <= n; ++i) {
            if (i == badAt && extra != 0) {
                // An account that never registered, and/or a value out of range for an actor.
                if (seed % 3 == 0) {
                    (who[m], imported[m], exported[m]) = (stranger, 1 + (seed >> 16) % KWH, 0);
                    ++m;
                }
                if (seed % 5 == 0) {
                    address a = actors[(seed >> 24) % n];
                    uint256 big = market.MAX_ENERGY_WH() + 1 + (seed >> 32) % 1000;
                    (who[m], imported[m], exported[m]) =
                        (seed & 1 == 0) ? (a, big, uint256(0)) : (a, uint256(0), big);
                    ++m;
                }
            }
            if (i == n) break;
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            if (someMissing && r % 3 == 0) continue;
            (IEnergyMarket.Side side,,, uint256 filled,) = market.getOrder(w, actors[i]);
            // Mostly exactly what was traded, sometimes short, sometimes more.
            uint256 measured = r % 5 == 0 ? filled / 2 : (r % 7 == 0 ? filled + (r >> 8) % KWH : filled);
            who[m] = actors[i];
            (imported[m], exported[m]) =
                side == IEnergyMarket.Side.Buy ? (measured, uint256(0)) : (uint256(0), measured);
            if (!registered[actors[i]] && filled != 0) ++counts["readingsOfDeregisteredTraders"];
            ++m;
        }
        assembly ("memory-safe") {
            mstore(who, m)
            mstore(imported, m)
            mstore(exported, m)
        }
    }

    /// @dev Which error makes the market skip this entry (0: none): a value out of range first, then an account
    /// that never held a prosumer ID.
    function _readingRejection(address who, uint256 imported, uint256 exported)
        internal
        view
        returns (bytes4)
    {
        uint256 max = market.MAX_ENERGY_WH();
        if (imported > max || exported > max) return IEnergyMarket.ReadingOutOfRange.selector;
        if (registry.prosumerIdOf(who) == 0) return IEnergyMarket.NotRegistered.selector;
        return bytes4(0);
    }

    /// @dev Each actor's reading is its last good entry of the batch, or what it was before.
    function _checkReadingsStored(
        uint256 w,
        address[] memory who,
        uint256[] memory imported,
        uint256[] memory exported,
        bytes32[] memory before
    ) internal {
        bytes32[] memory expected = before;
        for (uint256 i; i < who.length; ++i) {
            if (_readingRejection(who[i], imported[i], exported[i]) != bytes4(0)) continue;
            expected[_index(who[i])] = keccak256(abi.encode(true, imported[i], exported[i]));
        }
        for (uint256 i; i < actors.length; ++i) {
            if (_readingHash(w, actors[i]) != expected[i]) {
                _violation("readings batch: entry not stored as given");
            }
        }
        (bool strangerRead,,) = market.getReading(w, stranger);
        if (strangerRead) _violation("readings batch: unregistered account stored");
    }

    // ================================================================ ghost checks after each successful call

    function _afterCall() internal {
        uint256 first = firstActive;
        bool prefixSettled = true;
        for (uint256 i = first; i < windows.length; ++i) {
            uint256 w = windows[i];
            uint8 status = uint8(_status(w));
            uint8 before = maxStatus[w];
            if (status < before) _violation("status went backwards");
            if (status >= uint8(CLEARED) && before < uint8(CLEARED)) {
                clearedAt[w] = block.timestamp;
                (,,,, uint256 tradeCount,) = market.getWindow(w);
                counts["tradesCleared"] += tradeCount;
                ++counts["windowsCleared"];
            }
            if (status >= uint8(SETTLING) && before < uint8(SETTLING) && block.timestamp < w + 2 * duration) {
                _violation("settlement started before w + 2d");
            }
            maxStatus[w] = status;
            if (status == uint8(SETTLING)) _checkFrozenReadings(w);
            if (status == uint8(SETTLED)) {
                if (before < uint8(SETTLED)) {
                    _checkFrozenReadings(w);
                    settledFingerprint[w] = fingerprint(w);
                    ++counts["windowsSettled"];
                    (,,,, uint256 tradeCount,) = market.getWindow(w);
                    counts["tradesSettled"] += tradeCount;
                }
                if (prefixSettled) first = i + 1;
            } else {
                prefixSettled = false;
            }
        }
        firstActive = first;
    }

    function _freezeReadings(uint256 w) internal {
        for (uint256 i; i < actors.length; ++i) {
            frozenReading[w][actors[i]] = _readingHash(w, actors[i]);
        }
    }

    function _checkFrozenReadings(uint256 w) internal {
        for (uint256 i; i < actors.length; ++i) {
            if (frozenReading[w][actors[i]] != _readingHash(w, actors[i])) {
                _violation("reading changed after settlement started");
            }
        }
    }

    // ================================================================ helpers

    function _readingHash(uint256 w, address who) internal view returns (bytes32) {
        (bool submitted, uint256 imported, uint256 exported) = market.getReading(w, who);
        return keccak256(abi.encode(submitted, imported, exported));
    }

    function _tradeHash(uint256 w, uint256 t) internal view returns (bytes32) {
        (address b, address s, uint256 e, IEnergyMarket.TradeStatus st, IEnergyMarket.RejectReason r) =
            market.getTrade(w, t);
        return keccak256(abi.encode(b, s, e, st, r));
    }

    function _hint(uint256 w, IEnergyMarket.Side side, uint256 price, uint256 seed)
        internal
        view
        returns (address)
    {
        return seed % 3 == 0 ? market.findHint(w, side, price) : actors[seed % actors.length];
    }

    /// @dev When `mustBeFree`, an actor without a live order in `w` (if there is one), else any actor.
    function _actorWithoutOrder(uint256 w, uint256 seed, bool mustBeFree) internal view returns (address) {
        uint256 n = actors.length;
        if (mustBeFree) {
            for (uint256 k; k < n; ++k) {
                address candidate = actors[(seed % n + k) % n];
                (,,,, bool live) = market.getOrder(w, candidate);
                if (!live) return candidate;
            }
        }
        return actors[seed % n];
    }

    function _freeRegisteredActor(uint256 w, uint256 seed) internal view returns (address) {
        uint256 n = actors.length;
        for (uint256 k; k < n; ++k) {
            address candidate = actors[(seed % n + k) % n];
            if (!registered[candidate]) continue;
            (,,,, bool live) = market.getOrder(w, candidate);
            if (!live) return candidate;
        }
        return address(0);
    }

    function _deregisteredActor(uint256 seed) internal view returns (address) {
        uint256 n = actors.length;
        for (uint256 k; k < n; ++k) {
            address candidate = actors[(seed % n + k) % n];
            if (!registered[candidate]) return candidate;
        }
        return address(0);
    }

    /// @dev A seller of a trade in a window cleared but not settled (address(0) if there is none).
    function _sellerAwaitingSettlement(uint256 seed) internal view returns (address) {
        for (uint256 i = firstActive; i < windows.length; ++i) {
            (IEnergyMarket.WindowStatus status,,,, uint256 tradeCount,) = market.getWindow(windows[i]);
            if ((status == CLEARED || status == SETTLING) && tradeCount != 0) {
                (, address seller,,,) = market.getTrade(windows[i], seed % tradeCount);
                return seller;
            }
        }
        return address(0);
    }

    /// @dev Three times in four the oldest window whose status is at most `upTo` but past the one before it
    /// (the window the action is meant for); otherwise any window, so that the expected reverts happen too.
    function _pick(uint256 seed, IEnergyMarket.WindowStatus upTo) internal view returns (uint256) {
        if (seed % 4 != 0) {
            for (uint256 i = firstActive; i < windows.length; ++i) {
                IEnergyMarket.WindowStatus status = _status(windows[i]);
                if (status <= upTo && uint8(status) + 2 > uint8(upTo)) return windows[i];
            }
        }
        return windows[(seed >> 2) % windows.length];
    }

    /// @dev Three times in four a random window with exactly `status` (if any), otherwise any window.
    function _pickExact(uint256 seed, IEnergyMarket.WindowStatus status) internal view returns (uint256) {
        if (seed % 4 != 0) {
            uint256 matching;
            for (uint256 i = firstActive; i < windows.length; ++i) {
                if (_status(windows[i]) == status) ++matching;
            }
            if (matching != 0) {
                uint256 k = (seed >> 2) % matching;
                for (uint256 i = firstActive; i < windows.length; ++i) {
                    if (_status(windows[i]) != status) continue;
                    if (k == 0) return windows[i];
                    --k;
                }
            }
        }
        return windows[(seed >> 2) % windows.length];
    }

    function _index(address who) internal view returns (uint256) {
        uint256 i = actorIndexPlusOne[who];
        require(i != 0, "unknown actor");
        return i - 1;
    }

    function _status(uint256 w) internal view returns (IEnergyMarket.WindowStatus status) {
        (status,,,,,) = market.getWindow(w);
    }

    function _violation(string memory what) internal {
        ++violations;
        lastViolation = what;
    }
}
