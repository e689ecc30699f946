// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyMarket} from "../../src/interfaces/IEnergyMarket.sol";
import {ClearingModel} from "../utils/ClearingModel.sol";
import {MarketFixture} from "../utils/MarketFixture.sol";
import {SignedOrderLib} from "../utils/SignedOrderFixture.sol";
import {Vm} from "forge-std/Vm.sol";

/// @notice Random books (many equal prices, random and wrong hints, cancels and replacements) cleared
/// on-chain in random batch sizes must equal the independent model, trade by trade. Cancelled orders stay in
/// the book as tombstones, so the runs also cover hints naming cancelled prosumers (or prosumers that
/// re-placed several times), clearing over tombstones and rule 3 with a tombstone after the marginal order;
/// the book seen by `getBook` and every `orderNonce` are checked against the model too. A second campaign
/// mixes signed placements (batches relayed by a third party, good orders among bad ones: wrong nonce,
/// another key's signature, a field changed after signing, a replayed signature, fields out of range) and
/// signed cancels with direct ones, with every rejection, every revert (`PlacementLimitReached`, `HintTooFar`
/// from a node-level model of both sides) and every event predicted; the clearing must still match the model
/// trade by trade.
contract ClearingDifferentialTest is MarketFixture {
    uint256 internal constant PROSUMERS = 24;
    uint256 internal constant MAX_ACTIONS = 48;
    uint256 internal constant PRICE_LEVELS = 6;
    uint256 internal constant MAX_ENERGY = 9;

    /// @dev Signed campaign: more actions, batches of up to `MAX_BATCH` signed orders.
    uint256 internal constant MAX_SIGNED_ACTIONS = 96;
    /// @dev Most signed orders and cancels come from a busy group of prosumers that keeps changing its mind:
    /// placements run out (`PlacementLimitReached`) and the book fills with tombstones (`HintTooFar`).
    uint256 internal constant BUSY = 3;
    uint256 internal constant MAX_BATCH = 6;
    /// @dev Mirror `EnergyMarket.MAX_PLACEMENTS_PER_WINDOW` and `MAX_HINT_WALK` (checked in `setUp`).
    uint256 internal constant MAX_PLACEMENTS = 8;
    uint256 internal constant MAX_WALK = 20;

    address[] internal people;
    /// @dev The private key of each of `people` (same accounts as `_prosumers` makes: `makeAddr` derives
    /// them).
    uint256[] internal keys;
    address internal relayer = makeAddr("relayer");

    function setUp() public override {
        super.setUp();
        for (uint256 i; i < PROSUMERS; ++i) {
            (address account, uint256 key) = makeAddrAndKey(string.concat("p", vm.toString(nextProsumerId)));
            vm.prank(admin);
            registry.register(account, nextProsumerId++);
            people.push(account);
            keys.push(key);
        }
        assertEq(market.MAX_PLACEMENTS_PER_WINDOW(), MAX_PLACEMENTS);
        assertEq(market.MAX_HINT_WALK(), MAX_WALK);
    }

    function testFuzz_closeWindow_matchesModel(uint256 seed, uint256 actionCount, uint256 maxSteps) public {
        actionCount = bound(actionCount, 1, MAX_ACTIONS);
        maxSteps = bound(maxSteps, 1, 6);
        Run memory run = _newRun(_open());
        for (uint256 k; k < actionCount; ++k) {
            uint256 r = uint256(keccak256(abi.encode(seed, k)));
            uint256 who = r % PROSUMERS;
            if (run.has[who]) {
                if ((r >> 8) % 2 != 0) continue; // keep half of the existing orders
                vm.prank(people[who]);
                market.cancelOrder(run.w);
                run.has[who] = false;
                continue;
            }
            bool isBid = (r >> 16) % 2 == 0;
            uint256 energy = 1 + (r >> 24) % MAX_ENERGY;
            uint256 price = 1 + (r >> 32) % PRICE_LEVELS;
            address hint = _hint(run.w, isBid ? BUY : SELL, price, r >> 40);
            // Hostile: the hinted owner cancels and re-places elsewhere (another price or side) before the
            // victim's transaction; the model sees the move as a cancel and a new placement.
            if ((r >> 48) % 4 == 0) _moveHinted(run, hint, r);
            _placeDirect(run, who, isBid, energy, price, hint);
        }
        _assertClearsLikeModel(run.w, run.live, run.has, run.placements, maxSteps);
    }

    /// @dev The book and the nonces equal the model's, and the window clears in batches of `maxSteps` exactly
    /// as the model does: price, energy, every trade, every fill.
    function _assertClearsLikeModel(
        uint256 w,
        ClearingModel.ModelOrder[] memory live,
        bool[] memory has,
        uint256[] memory placements,
        uint256 maxSteps
    ) internal {
        ClearingModel.Result memory expected = ClearingModel.clear(_liveOrders(live, has));
        _assertBookOrder(w, BUY, expected.bids);
        _assertBookOrder(w, SELL, expected.asks);
        for (uint256 i; i < PROSUMERS; ++i) {
            assertEq(market.orderNonce(w, people[i]), placements[i], "orderNonce counts placements");
        }

        _warpToClose(w);
        uint256 calls;
        while (!market.closeWindow(w, maxSteps)) {
            ++calls;
            assertLe(calls * maxSteps, expected.trades.length, "more calls than batches");
        }
        assertEq(_price(w), expected.price, "price");
        assertEq(_cleared(w), expected.cleared, "cleared energy");
        assertEq(_tradeCount(w), expected.trades.length, "trade count");
        for (uint256 t; t < expected.trades.length; ++t) {
            _assertTrade(
                w,
                t,
                people[expected.trades[t].buyer],
                people[expected.trades[t].seller],
                expected.trades[t].energy
            );
        }
        _assertFills(w, expected.bids);
        _assertFills(w, expected.asks);
    }

    // ------------------------------------------------------------ signed and direct orders, mixed

    /// @dev A node of the book (every placement of the window, cancelled ones included), for the hint walk.
    struct Node {
        uint256 owner;
        bool isBid;
        uint256 price;
        uint256 seq;
    }

    /// @dev A signed cancel that was relayed and took effect, kept for replays.
    struct UsedCancel {
        uint256 owner;
        uint256 nonce;
        bytes signature;
    }

    /// @dev The model of the window in the mixed campaign: live orders, placements (nonces), every node, and
    /// the signatures that took effect (for replays).
    struct Run {
        uint256 w;
        ClearingModel.ModelOrder[] live;
        bool[] has;
        uint256[] placements;
        uint256 seq;
        Node[] nodes;
        uint256 nodeCount;
        IEnergyMarket.SignedOrder[] used;
        uint256 usedCount;
        UsedCancel[] cancels;
        uint256 cancelCount;
    }

    /// forge-config: default.fuzz.runs = 300
    function testFuzz_closeWindow_signedAndDirectMixed_matchesModel(
        uint256 seed,
        uint256 actionCount,
        uint256 maxSteps
    ) public {
        actionCount = bound(actionCount, 16, MAX_SIGNED_ACTIONS);
        maxSteps = bound(maxSteps, 1, 6);
        Run memory run = _newRun(_open());
        for (uint256 k; k < actionCount; ++k) {
            uint256 r = uint256(keccak256(abi.encode(seed, k)));
            uint256 kind = r % 8;
            if (kind < 2) _directAction(run, r >> 3);
            else if (kind < 5) _signedBatch(run, r >> 3);
            else _signedCancel(run, r >> 3);
        }
        _assertClearsLikeModel(run.w, run.live, run.has, run.placements, maxSteps);
    }

    function _newRun(uint256 w) internal pure returns (Run memory run) {
        uint256 capacity = PROSUMERS * MAX_PLACEMENTS;
        run.w = w;
        run.live = new ClearingModel.ModelOrder[](PROSUMERS);
        run.has = new bool[](PROSUMERS);
        run.placements = new uint256[](PROSUMERS);
        run.nodes = new Node[](capacity);
        run.used = new IEnergyMarket.SignedOrder[](capacity);
        run.cancels = new UsedCancel[](capacity);
    }

    /// @dev A direct cancel (half of the prosumers with an order) or placement, random hint;
    /// `PlacementLimitReached` and `HintTooFar` predicted (after a refused hint the prosumer retries with
    /// `findHint`).
    function _directAction(Run memory run, uint256 r) internal {
        uint256 who = _someone(r);
        uint256 w = run.w;
        if (run.has[who]) {
            if ((r >> 8) % 2 != 0) return;
            vm.prank(people[who]);
            market.cancelOrder(w);
            run.has[who] = false;
            return;
        }
        bool isBid = (r >> 16) % 2 == 0;
        uint256 price = 1 + (r >> 32) % PRICE_LEVELS;
        _placeDirect(
            run, who, isBid, 1 + (r >> 24) % MAX_ENERGY, price, _hint(w, isBid ? BUY : SELL, price, r >> 40)
        );
    }

    /// @dev `placeOrder` by prosumer `who`, `PlacementLimitReached` and `HintTooFar` predicted (the node
    /// model); after a refused hint the prosumer retries with `findHint`, which must name the model's last
    /// preceding node.
    function _placeDirect(
        Run memory run,
        uint256 who,
        bool isBid,
        uint256 energy,
        uint256 price,
        address hint
    ) internal {
        uint256 w = run.w;
        IEnergyMarket.Side side = isBid ? BUY : SELL;
        assertEq(
            market.findHint(w, side, price), _modelHint(run, isBid, price), "findHint: last preceding node"
        );
        vm.startPrank(people[who]);
        if (run.placements[who] == MAX_PLACEMENTS) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IEnergyMarket.PlacementLimitReached.selector, w, people[who], MAX_PLACEMENTS
                )
            );
            market.placeOrder(w, side, energy, price, hint);
            vm.stopPrank();
            return;
        }
        if (_walk(run, isBid, price, hint) > MAX_WALK) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.HintTooFar.selector, w, hint));
            market.placeOrder(w, side, energy, price, hint);
            hint = market.findHint(w, side, price);
        }
        market.placeOrder(w, side, energy, price, hint);
        vm.stopPrank();
        _modelPlace(run, who, isBid, energy, price);
    }

    /// @dev A relayed batch of 1..MAX_BATCH signed orders, each predicted placed or rejected (with its
    /// reason), checked event by event (one per order, in array order) and by the count returned.
    function _signedBatch(Run memory run, uint256 r) internal {
        uint256 n = 1 + r % MAX_BATCH;
        IEnergyMarket.SignedOrder[] memory orders = new IEnergyMarket.SignedOrder[](n);
        bytes4[] memory reasons = new bytes4[](n);
        uint256 placed;
        for (uint256 j; j < n; ++j) {
            (orders[j], reasons[j]) = _signedOrder(run, uint256(keccak256(abi.encode(r, j))));
            if (reasons[j] != 0) continue;
            ++placed;
            _modelPlace(
                run,
                _indexOf(orders[j].prosumer),
                orders[j].side == BUY,
                orders[j].energyWh,
                orders[j].pricePerKWh
            );
            run.used[run.usedCount++] = orders[j];
        }
        vm.recordLogs();
        vm.prank(relayer);
        assertEq(market.placeOrdersBySig(orders), placed, "placeOrdersBySig: placed count");
        _assertBatchLogs(orders, reasons);
    }

    /// @dev One signed order and the reason it must be rejected for (0: placed). Half are good (nonce, key,
    /// fields; hint as a relayer computes it, from the book as the earlier orders of the batch leave it, or a
    /// quarter of the time a stale or random one); the rest: a wrong nonce, another key's signature, a field
    /// changed after signing (or only the hint, which is not signed: still good), a field out of range, a
    /// replay of a signature that took effect. Prosumers are random, so some already have a live order or
    /// have used up their placements.
    function _signedOrder(Run memory run, uint256 r)
        internal
        returns (IEnergyMarket.SignedOrder memory o, bytes4 reason)
    {
        uint256 variant = (r >> 8) % 12;
        if (variant == 11 && run.usedCount != 0) {
            o = run.used[(r >> 16) % run.usedCount];
            return (o, _reason(run, o, true));
        }
        // Mostly a prosumer without a live order (some of them with their placements used up), else anyone.
        uint256 who = (r >> 12) % 4 == 0 ? _someone(r) : _withoutLiveOrder(run, r);
        bool isBid = (r >> 20) % 2 == 0;
        uint256 price = 1 + (r >> 24) % PRICE_LEVELS;
        o = IEnergyMarket.SignedOrder({
            prosumer: people[who],
            windowId: run.w,
            side: isBid ? BUY : SELL,
            energyWh: 1 + (r >> 32) % MAX_ENERGY,
            pricePerKWh: price,
            nonce: run.placements[who],
            hintPrev: (r >> 40) % 4 == 0
                ? _hint(run.w, isBid ? BUY : SELL, price, r >> 44)
                : _modelHint(run, isBid, price),
            signature: ""
        });
        if (variant == 6) o.nonce = o.nonce == 0 ? 1 + (r >> 52) % 3 : o.nonce - 1 + 2 * ((r >> 52) % 2);
        if (variant == 9) {
            uint256 field = (r >> 56) % 4;
            if (field == 0) o.energyWh = 0;
            else if (field == 1) o.energyWh = market.MAX_ENERGY_WH() + 1;
            else if (field == 2) o.pricePerKWh = 0;
            else o.pricePerKWh = market.MAX_PRICE_PER_KWH() + 1;
        }
        uint256 key = keys[variant == 7 ? _other(who, r >> 60) : who];
        o.signature = SignedOrderLib.sign(key, SignedOrderLib.orderDigest(address(market), block.chainid, o));
        bool signatureOk = variant != 7;
        if (variant == 8) {
            uint256 field = (r >> 64) % 5;
            if (field == 0) ++o.energyWh;
            else if (field == 1) ++o.pricePerKWh;
            else if (field == 2) o.side = isBid ? SELL : BUY;
            else if (field == 3) o.prosumer = people[_other(who, r >> 68)];
            else o.hintPrev = people[(r >> 68) % PROSUMERS]; // not signed: the relayer's to choose
            signatureOk = field == 4;
        }
        reason = _reason(run, o, signatureOk);
    }

    /// @dev The check order of docs/protocol.md ("Signed orders"): the fields, the checks of `placeOrder`
    /// (window open and registration hold here), the nonce, the signature, the hint walk.
    function _reason(Run memory run, IEnergyMarket.SignedOrder memory o, bool signatureOk)
        internal
        view
        returns (bytes4)
    {
        if (o.energyWh == 0) return IEnergyMarket.ZeroEnergy.selector;
        if (o.energyWh > market.MAX_ENERGY_WH()) return IEnergyMarket.EnergyOutOfRange.selector;
        if (o.pricePerKWh == 0) return IEnergyMarket.ZeroPrice.selector;
        if (o.pricePerKWh > market.MAX_PRICE_PER_KWH()) return IEnergyMarket.PriceOutOfRange.selector;
        uint256 who = _indexOf(o.prosumer);
        if (run.has[who]) return IEnergyMarket.AlreadyHasOrder.selector;
        if (run.placements[who] == MAX_PLACEMENTS) return IEnergyMarket.PlacementLimitReached.selector;
        if (o.nonce != run.placements[who]) return IEnergyMarket.InvalidNonce.selector;
        if (!signatureOk) return IEnergyMarket.InvalidSignature.selector;
        if (_walk(run, o.side == BUY, o.pricePerKWh, o.hintPrev) > MAX_WALK) {
            return IEnergyMarket.HintTooFar.selector;
        }
        return 0;
    }

    /// @dev Exactly one market event per order, in array order: `OrderPlaced`, or `SignedOrderRejected` with
    /// the predicted reason.
    function _assertBatchLogs(IEnergyMarket.SignedOrder[] memory orders, bytes4[] memory reasons) internal {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, orders.length, "one event per signed order");
        for (uint256 j; j < orders.length; ++j) {
            IEnergyMarket.SignedOrder memory o = orders[j];
            string memory what = string.concat("signed order ", vm.toString(j));
            assertEq(logs[j].emitter, address(market), what);
            assertEq(logs[j].topics.length, 3, what);
            assertEq(logs[j].topics[1], bytes32(o.windowId), what);
            assertEq(logs[j].topics[2], bytes32(uint256(uint160(o.prosumer))), what);
            if (reasons[j] == 0) {
                assertEq(
                    logs[j].topics[0], IEnergyMarket.OrderPlaced.selector, string.concat(what, " placed")
                );
                assertEq(logs[j].data, abi.encode(o.side, o.energyWh, o.pricePerKWh), what);
            } else {
                assertEq(
                    logs[j].topics[0],
                    IEnergyMarket.SignedOrderRejected.selector,
                    string.concat(what, " rejected ", vm.toString(abi.encodePacked(reasons[j])))
                );
                assertEq(logs[j].data, abi.encode(o.nonce, reasons[j]), string.concat(what, " reason"));
            }
        }
    }

    /// @dev A relayed signed cancel: mostly good (of a prosumer with a live order), else a wrong nonce,
    /// another key's signature, a replay of a cancel that took effect, or a prosumer without a live order;
    /// every revert predicted in the documented order.
    function _signedCancel(Run memory run, uint256 r) internal {
        uint256 variant = (r >> 8) % 8;
        uint256 who;
        uint256 nonce;
        bytes memory signature;
        if (variant == 6 && run.cancelCount != 0) {
            UsedCancel memory c = run.cancels[(r >> 16) % run.cancelCount];
            (who, nonce, signature) = (c.owner, c.nonce, c.signature);
        } else {
            who = variant < 6 ? _withLiveOrder(run, r) : _someone(r);
            uint256 p = run.placements[who];
            nonce = variant == 4 ? p + (r >> 20) % 2 : (p == 0 ? 0 : p - 1);
            uint256 key = keys[variant == 5 ? _other(who, r >> 24) : who];
            signature = SignedOrderLib.sign(
                key, SignedOrderLib.cancelDigest(address(market), block.chainid, people[who], run.w, nonce)
            );
            if (variant == 5) variant = 255; // signature of another key
        }
        bytes memory err = _cancelError(run, who, nonce, variant != 255);
        vm.prank(relayer);
        if (err.length != 0) {
            vm.expectRevert(err);
            market.cancelOrderBySig(people[who], run.w, nonce, signature);
            return;
        }
        vm.expectEmit(address(market));
        emit IEnergyMarket.OrderCancelled(run.w, people[who]);
        market.cancelOrderBySig(people[who], run.w, nonce, signature);
        run.has[who] = false;
        run.cancels[run.cancelCount++] = UsedCancel(who, nonce, signature);
    }

    /// @dev `cancelOrderBySig`'s checks in order (the window is open here).
    function _cancelError(Run memory run, uint256 who, uint256 nonce, bool signatureOk)
        internal
        view
        returns (bytes memory)
    {
        uint256 p = run.placements[who];
        address prosumer = people[who];
        if (p == 0) return abi.encodeWithSelector(IEnergyMarket.NoLiveOrder.selector, run.w, prosumer);
        if (nonce != p - 1) {
            return abi.encodeWithSelector(IEnergyMarket.InvalidNonce.selector, prosumer, p - 1, nonce);
        }
        if (!run.has[who]) {
            return abi.encodeWithSelector(IEnergyMarket.NoLiveOrder.selector, run.w, prosumer);
        }
        if (!signatureOk) return abi.encodeWithSelector(IEnergyMarket.InvalidSignature.selector, prosumer);
        return "";
    }

    /// @dev Three times in four one of the busy group, else anyone.
    function _someone(uint256 r) internal pure returns (uint256) {
        return (r >> 128) % 4 != 0 ? (r >> 130) % BUSY : (r >> 130) % PROSUMERS;
    }

    /// @dev A prosumer other than `who`.
    function _other(uint256 who, uint256 r) internal pure returns (uint256) {
        return (who + 1 + r % (PROSUMERS - 1)) % PROSUMERS;
    }

    function _withoutLiveOrder(Run memory run, uint256 r) internal pure returns (uint256) {
        uint256 start = _someone(r);
        for (uint256 k; k < PROSUMERS; ++k) {
            uint256 candidate = (start + k) % PROSUMERS;
            if (!run.has[candidate]) return candidate;
        }
        return r % PROSUMERS;
    }

    function _withLiveOrder(Run memory run, uint256 r) internal pure returns (uint256) {
        uint256 start = _someone(r);
        for (uint256 k; k < PROSUMERS; ++k) {
            uint256 candidate = (start + k) % PROSUMERS;
            if (run.has[candidate]) return candidate;
        }
        return r % PROSUMERS;
    }

    function _modelPlace(Run memory run, uint256 who, bool isBid, uint256 energy, uint256 price)
        internal
        pure
    {
        run.nodes[run.nodeCount++] = Node(who, isBid, price, run.seq);
        run.live[who] = ClearingModel.ModelOrder(who, isBid, energy, price, run.seq++, 0);
        run.has[who] = true;
        ++run.placements[who];
    }

    /// @dev How many preceding nodes `placeOrder` walks past from its start (the latest, in book order, of
    /// the hinted prosumer's nodes on that side that precede the new order, else the head).
    function _walk(Run memory run, bool isBid, uint256 price, address hint)
        internal
        view
        returns (uint256 walk)
    {
        uint256 h = _indexOf(hint);
        uint256 startPlusOne;
        for (uint256 i; i < run.nodeCount; ++i) {
            Node memory n = run.nodes[i];
            if (n.owner != h || n.isBid != isBid || !_precedes(isBid, n.price, price)) continue;
            if (startPlusOne == 0 || _later(run.nodes[startPlusOne - 1], n)) startPlusOne = i + 1;
        }
        for (uint256 i; i < run.nodeCount; ++i) {
            Node memory n = run.nodes[i];
            if (n.isBid != isBid || !_precedes(isBid, n.price, price)) continue;
            if (startPlusOne == 0 || _later(run.nodes[startPlusOne - 1], n)) ++walk;
        }
    }

    /// @dev What `findHint` must answer: the owner of the last node (live or not) that precedes the place.
    function _modelHint(Run memory run, bool isBid, uint256 price) internal view returns (address) {
        uint256 lastPlusOne;
        for (uint256 i; i < run.nodeCount; ++i) {
            Node memory n = run.nodes[i];
            if (n.isBid != isBid || !_precedes(isBid, n.price, price)) continue;
            if (lastPlusOne == 0 || _later(run.nodes[lastPlusOne - 1], n)) lastPlusOne = i + 1;
        }
        return lastPlusOne == 0 ? address(0) : people[run.nodes[lastPlusOne - 1].owner];
    }

    /// @dev Whether node `b` comes after node `a` (same side) in book order: a worse price, or placed later.
    function _later(Node memory a, Node memory b) internal pure returns (bool) {
        if (a.price != b.price) return a.isBid ? b.price < a.price : b.price > a.price;
        return b.seq > a.seq;
    }

    function _precedes(bool isBid, uint256 existing, uint256 price) internal pure returns (bool) {
        return isBid ? existing >= price : existing <= price;
    }

    /// @dev A hint that is right, right but shifted by one order (stale), at the head, random (possibly
    /// another side, a cancelled order or no order), or an outsider.
    function _hint(uint256 w, IEnergyMarket.Side side, uint256 price, uint256 r) internal returns (address) {
        uint256 kind = r % 6;
        if (kind <= 1) return market.findHint(w, side, price);
        if (kind == 2) {
            address right = market.findHint(w, side, price);
            address[] memory book = _book(w, side);
            for (uint256 i; i < book.length; ++i) {
                if (book[i] == right) {
                    return i + 1 < book.length ? book[i + 1] : (i > 0 ? book[i - 1] : right);
                }
            }
            return book.length == 0 ? address(0) : book[0];
        }
        if (kind == 3) return address(0);
        if (kind == 4) return people[(r >> 4) % PROSUMERS];
        return makeAddr("outsider");
    }

    /// @dev The owner of `hint` (if it has a live order) cancels, and mostly re-places at a random price and
    /// side (once or twice, unless its placements are used up), else leaves its order cancelled (the hint
    /// then names a tombstone).
    function _moveHinted(Run memory run, address hint, uint256 r) internal {
        uint256 h = _indexOf(hint);
        if (h >= PROSUMERS || !run.has[h]) return;
        bool movedBid = (r >> 56) % 2 == 0;
        uint256 movedPrice = 1 + (r >> 64) % PRICE_LEVELS;
        uint256 moves = (r >> 72) % 3; // 0: cancel only
        vm.prank(people[h]);
        market.cancelOrder(run.w);
        run.has[h] = false;
        for (uint256 m; m < moves; ++m) {
            if (m != 0) {
                if (!run.has[h]) return; // the re-placement was refused (placements used up)
                vm.prank(people[h]);
                market.cancelOrder(run.w);
                run.has[h] = false;
            }
            _placeDirect(run, h, movedBid, run.live[h].energy, movedPrice + m, address(0));
        }
    }

    /// @dev `getBook` lists exactly the model's sorted live orders of one side.
    function _assertBookOrder(uint256 w, IEnergyMarket.Side side, ClearingModel.ModelOrder[] memory sorted)
        internal
        view
    {
        address[] memory book = _book(w, side);
        assertEq(book.length, sorted.length, "book length");
        for (uint256 i; i < sorted.length; ++i) {
            assertEq(book[i], people[sorted[i].owner], "book order");
        }
    }

    function _indexOf(address account) internal view returns (uint256) {
        for (uint256 i; i < PROSUMERS; ++i) {
            if (people[i] == account) return i;
        }
        return type(uint256).max;
    }

    function _liveOrders(ClearingModel.ModelOrder[] memory live, bool[] memory has)
        internal
        pure
        returns (ClearingModel.ModelOrder[] memory orders)
    {
        orders = new ClearingModel.ModelOrder[](live.length);
        uint256 n;
        for (uint256 i; i < live.length; ++i) {
            if (has[i]) orders[n++] = live[i];
        }
        assembly ("memory-safe") {
            mstore(orders, n)
        }
    }

    function _assertFills(uint256 w, ClearingModel.ModelOrder[] memory list) internal view {
        for (uint256 i; i < list.length; ++i) {
            (, uint256 energy, uint256 price, uint256 filled, bool isLive) =
                market.getOrder(w, people[list[i].owner]);
            assertTrue(isLive, "live");
            assertEq(energy, list[i].energy, "energy");
            assertEq(price, list[i].price, "price of order");
            assertEq(filled, list[i].filled, "filled");
        }
    }
}
