// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyMarket} from "./interfaces/IEnergyMarket.sol";
import {IProsumerRegistry} from "./interfaces/IProsumerRegistry.sol";
import {TradeRecord} from "./libraries/TradeRecord.sol";
import {UniformPriceClearing} from "./libraries/UniformPriceClearing.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title EnergyMarket
/// @notice Hourly P2P energy market with uniform-price clearing and settlement against meter readings.
/// @dev Orders are kept per window in two singly linked lists (bids descending, asks ascending, time priority on
/// equal prices), one storage slot per order. A cancelled order stays linked in place as a tombstone (not live),
/// so nodes never move and no neighbour is written on a cancel; a prosumer's k-th placement in a window gets its
/// own node, keyed `prosumerId | k << 32` (40 bits; the first one is keyed by the bare ID, its "home", which also
/// holds the placement count). Trades are packed two per slot and name prosumer IDs.
contract EnergyMarket is IEnergyMarket, AccessControl, Pausable, ReentrancyGuardTransient, EIP712 {
    using SafeERC20 for IERC20;

    /// @notice Role allowed to submit meter readings.
    bytes32 public constant ORACLE_ROLE = keccak256("ORACLE_ROLE");
    /// @notice Role allowed to pause new orders.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    /// @notice Largest energy of an order or a meter reading, in Wh.
    uint256 public constant MAX_ENERGY_WH = type(uint32).max;
    /// @notice Largest price, in token base units per kWh (1.2 million tokens of 18 decimals).
    uint256 public constant MAX_PRICE_PER_KWH = type(uint80).max;
    /// @notice Largest number of orders one prosumer may place in one window (cancelled ones included); the
    /// count is the signed-order nonce and lives in the order's own slot. Every node of a hinted prosumer is a
    /// start of the hint walk, so this also bounds what reading them costs (see `_position`).
    uint256 public constant MAX_PLACEMENTS_PER_WINDOW = 8;
    /// @notice How many nodes `placeOrder` walks past from its start (the best node of the hinted prosumer that
    /// precedes the new order, else the head) before it gives up with `HintTooFar`; bounds a placement's gas
    /// whatever the hint (~150k at most, see docs/benchmarks.md).
    uint256 public constant MAX_HINT_WALK = 20;
    /// @notice Longest window the market accepts.
    uint256 public constant MAX_WINDOW_DURATION = 1 days;
    /// @notice Longest settlement grace, in windows: bounds how many cleared windows can wait for readings.
    uint256 public constant MAX_GRACE_WINDOWS = 24;
    /// @notice How many finished windows one clearing or settlement moves the upkeep cursors past, so that
    /// finishing a window costs bounded gas however many later windows were finished before it.
    uint256 internal constant MAX_CURSOR_ADVANCE = 16;
    /// @notice Gas `performUpkeep` keeps in hand before each close step: the worst step plus finishing the
    /// window (price, event, cursor advance), ~155k measured (test/unit/UpkeepGasFloor.t.sol), plus a margin.
    /// Batches are metered by `gasleft()`, so a perform fits whatever gas the caller gives it, and more gas never
    /// makes it fail.
    uint256 public constant UPKEEP_CLOSE_STEP_GAS = 200_000;
    /// @notice Gas `performUpkeep` keeps in hand before each settle step: the worst step (~60k) plus finishing
    /// the window (event, cursor advance), ~150k measured, plus a margin.
    uint256 internal constant UPKEEP_SETTLE_STEP_GAS = 220_000;
    /// @notice How many unsettled windows `checkUpkeep` looks at for a settlement, oldest first.
    uint256 internal constant MAX_UPKEEP_SCAN = 64;

    /// @dev EIP-712 type hash of a signed order (see docs/protocol.md, "Signed orders").
    bytes32 private constant ORDER_TYPEHASH = keccak256(
        "Order(address prosumer,uint256 windowId,uint8 side,uint256 energyWh,uint256 pricePerKWh,uint256 nonce)"
    );
    /// @dev EIP-712 type hash of a signed cancel.
    bytes32 private constant CANCEL_TYPEHASH =
        keccak256("Cancel(address prosumer,uint256 windowId,uint256 nonce)");

    /// @notice The payment token.
    IERC20 public immutable token;
    /// @notice The community's member registry.
    IProsumerRegistry public immutable registry;
    /// @inheritdoc IEnergyMarket
    uint256 public immutable windowDuration;
    /// @inheritdoc IEnergyMarket
    uint256 public immutable settlementGrace;

    /// @dev One slot: a node of a side's list. `next` is a node key (0: none). `flags`: `SELL_FLAG`,
    /// `LIVE_FLAG` (cleared by a cancel: the node stays in the list as a tombstone). `placements`, in the home
    /// node (key = prosumer ID) only: orders the prosumer placed in this window so far, i.e. the signed-order
    /// nonce of the next one; the prosumer's current node is its placement `placements - 1`.
    struct Order {
        uint40 next;
        uint32 energyWh;
        uint32 filledWh;
        uint80 price;
        uint8 flags;
        uint8 placements;
    }

    uint8 private constant SELL_FLAG = 1;
    uint8 private constant LIVE_FLAG = 2;
    /// @dev Node key = prosumer ID | placement index << `KEY_SHIFT`.
    uint256 private constant KEY_SHIFT = 32;
    /// @dev Bit offsets of the `Order` fields in its slot (Solidity's packing, first field lowest), for the hot
    /// paths that read or write a node as one word instead of field by field.
    uint256 private constant NEXT_MASK = type(uint40).max;
    uint256 private constant ENERGY_SHIFT = 40;
    uint256 private constant FILLED_SHIFT = 72;
    uint256 private constant PRICE_SHIFT = 104;
    uint256 private constant PRICE_MASK = type(uint80).max;
    uint256 private constant FLAGS_SHIFT = 184;
    uint256 private constant PLACEMENTS_SHIFT = 192;

    /// @dev Two slots. Heads and cursors are node keys. While Closing, the cursors point at the next bid/ask
    /// the clearing walk looks at (live and not yet fully filled, or a tombstone still to be skipped). Once
    /// Cleared the walk is over and the cursor slots are reused: `bidCursor` holds the seconds from the window's
    /// start to its clearing (see `_clearedAt`) and `askCursor` the number of settled trades (see
    /// `_settledCount`), which keeps both out of slots of their own.
    struct Window {
        WindowStatus status;
        bool paused;
        uint32 orderCount;
        uint40 bidHead;
        uint40 askHead;
        uint40 bidCursor;
        uint40 askCursor;
        uint32 tradeCount;
        uint32 traderCount;
        uint96 clearingPrice;
        uint64 clearedEnergyWh;
        uint32 acceptedCount;
        uint32 readingCount;
    }

    /// @dev One slot: the meter reading and the energy accepted so far by settlement.
    struct Reading {
        bool submitted;
        uint32 importedWh;
        uint32 exportedWh;
        uint32 acceptedBoughtWh;
        uint32 acceptedSoldWh;
    }

    mapping(uint256 windowId => Window) private _windows;
    mapping(uint256 windowId => mapping(uint256 prosumerId => Order)) private _orders;
    mapping(uint256 windowId => mapping(uint256 slot => uint256)) private _tradeSlots;
    mapping(uint256 windowId => mapping(uint256 prosumerId => Reading)) private _readings;
    /// @dev Every window ever opened, in order; indexes of the oldest not yet cleared and not yet settled.
    uint256[] private _openedWindows;
    uint256 private _firstUnclosed;
    uint256 private _firstUnsettled;

    /// @param admin Receives the admin, oracle and pauser roles.
    constructor(
        IERC20 token_,
        IProsumerRegistry registry_,
        uint256 windowDuration_,
        uint256 settlementGrace_,
        address admin
    ) EIP712("EnergyMarket", "1") {
        if (address(token_) == address(0) || address(registry_) == address(0) || admin == address(0)) {
            revert ZeroAddress();
        }
        if (windowDuration_ == 0 || windowDuration_ > MAX_WINDOW_DURATION) {
            revert InvalidWindowDuration(windowDuration_);
        }
        uint256 maxGrace = MAX_GRACE_WINDOWS * windowDuration_;
        if (settlementGrace_ > maxGrace) revert InvalidSettlementGrace(settlementGrace_, maxGrace);
        token = token_;
        registry = registry_;
        windowDuration = windowDuration_;
        settlementGrace = settlementGrace_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(ORACLE_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
    }

    // ---------------------------------------------------------------- admin

    /// @notice Stops new orders (cancelling, closing and settling go on). Pauser only.
    /// @dev The flag is also kept in the slot of the window taking orders (the current one; windows opened
    /// while paused copy it), so that `placeOrder` reads no extra storage slot.
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
        _setCurrentWindowPaused(true);
    }

    /// @notice Allows new orders again. Pauser only.
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
        _setCurrentWindowPaused(false);
    }

    function _setCurrentWindowPaused(bool paused_) private {
        Window storage window = _windows[currentWindow()];
        if (window.status == WindowStatus.Open) window.paused = paused_;
    }

    // ---------------------------------------------------------------- open and order book

    /// @inheritdoc IEnergyMarket
    function currentWindow() public view returns (uint256) {
        return block.timestamp - (block.timestamp % windowDuration);
    }

    /// @inheritdoc IEnergyMarket
    function openWindow() public returns (uint256 windowId) {
        windowId = currentWindow();
        Window storage window = _windows[windowId];
        if (window.status != WindowStatus.None) revert WindowAlreadyExists(windowId);
        window.status = WindowStatus.Open;
        if (paused()) window.paused = true;
        _openedWindows.push(windowId);
        emit WindowOpened(windowId);
    }

    /// @inheritdoc IEnergyMarket
    function placeOrder(uint256 windowId, Side side, uint256 energyWh, uint256 pricePerKWh, address hintPrev)
        external
    {
        (bytes4 failure, Window storage window, uint256 id, uint256 hintId, uint256 placements) =
            _checkPlace(windowId, msg.sender, energyWh, pricePerKWh, hintPrev);
        if (failure != 0) _revertPlace(failure, windowId, msg.sender, energyWh, pricePerKWh);
        if (!_insert(windowId, window, id, side == Side.Buy, energyWh, pricePerKWh, hintId, placements)) {
            revert HintTooFar(windowId, hintPrev);
        }
        emit OrderPlaced(windowId, msg.sender, side, energyWh, pricePerKWh);
    }

    /// @inheritdoc IEnergyMarket
    /// @dev Per order: the checks of `placeOrder` in its order (`_checkPlace`), then the nonce, then the signature
    /// (the dearest check, and the only one whose cost a signer controls, ERC-1271: an order that fails anything
    /// else never pays it). Memory is reset after each order, so a batch does not grow it.
    function placeOrdersBySig(SignedOrder[] calldata orders) external returns (uint256 placed) {
        for (uint256 i; i < orders.length; ++i) {
            SignedOrder calldata order = orders[i];
            uint256 freeMemory;
            assembly ("memory-safe") {
                freeMemory := mload(0x40)
            }
            OrderFields memory f = _orderFields(order);
            bytes4 failure = _placeSigned(f, order.signature);
            if (failure == 0) {
                ++placed;
            } else {
                // 0xffffffff: a side that is neither Buy nor Sell, which fails ABI decoding in `placeOrder`
                // (no named error): reported as 0x00000000.
                emit SignedOrderRejected(
                    f.windowId, f.prosumer, f.nonce, failure == 0xffffffff ? bytes4(0) : failure
                );
            }
            assembly ("memory-safe") {
                mstore(0x40, freeMemory)
            }
        }
    }

    /// @dev The signed fields of an order preceded by the type hash: the memory `hashStruct` is taken over.
    struct OrderFields {
        bytes32 typeHash;
        address prosumer;
        uint256 windowId;
        uint256 side;
        uint256 energyWh;
        uint256 pricePerKWh;
        uint256 nonce;
        address hintPrev;
    }

    /// @dev The words of a signed order as they are: a dirty address word cannot carry a valid signature (EIP-712
    /// encodes it clean) and is read masked until then.
    function _orderFields(SignedOrder calldata order) private pure returns (OrderFields memory f) {
        bytes32 typeHash = ORDER_TYPEHASH;
        assembly ("memory-safe") {
            mstore(f, typeHash)
            calldatacopy(add(f, 0x20), order, 0xe0)
        }
    }

    /// @dev Places the signed order `f` (returns 0) or returns the selector of the first check it fails: the side
    /// (0xffffffff), the checks of `placeOrder` (`_checkPlace`, in its order), the nonce, the signature.
    function _placeSigned(OrderFields memory f, bytes calldata signature) private returns (bytes4 failure) {
        if (f.side > uint256(Side.Sell)) return 0xffffffff;
        (bytes4 checked, Window storage window, uint256 id, uint256 hintId, uint256 placements) =
            _checkPlace(f.windowId, f.prosumer, f.energyWh, f.pricePerKWh, f.hintPrev);
        if (checked != 0) return checked;
        if (placements != f.nonce) return InvalidNonce.selector;
        bytes32 structHash;
        assembly ("memory-safe") {
            structHash := keccak256(f, 0xe0)
        }
        if (!_isValidSignature(f.prosumer, structHash, signature)) return InvalidSignature.selector;
        if (!_insert(f.windowId, window, id, f.side == 0, f.energyWh, f.pricePerKWh, hintId, placements)) {
            return HintTooFar.selector;
        }
        emit OrderPlaced(f.windowId, f.prosumer, Side(f.side), f.energyWh, f.pricePerKWh);
    }

    /// @inheritdoc IEnergyMarket
    /// @dev Checks in this order: `WindowNotOpen`, `OrderingClosed`, `NoLiveOrder` (none placed), `InvalidNonce`
    /// (not the nonce of the current order), `NoLiveOrder` (the current order was cancelled), `InvalidSignature`.
    function cancelOrderBySig(address prosumer, uint256 windowId, uint256 nonce, bytes calldata signature)
        external
    {
        Window storage window = _requireOrdering(windowId);
        (uint256 id,,) = _registrationAndHintId(prosumer, address(0));
        mapping(uint256 => Order) storage book = _orders[windowId];
        uint256 placements = book[id].placements; // 0 for ID 0 (no prosumer): its home is never written
        if (placements == 0) revert NoLiveOrder(windowId, prosumer);
        if (nonce != placements - 1) revert InvalidNonce(prosumer, placements - 1, nonce);
        Order storage order = book[_nodeKey(id, nonce)];
        uint8 flags = order.flags;
        if (flags & LIVE_FLAG == 0) revert NoLiveOrder(windowId, prosumer);
        bytes32 typeHash = CANCEL_TYPEHASH;
        bytes32 structHash;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typeHash)
            mstore(add(m, 0x20), prosumer)
            mstore(add(m, 0x40), windowId)
            mstore(add(m, 0x60), nonce)
            structHash := keccak256(m, 0x80)
        }
        if (!_isValidSignature(prosumer, structHash, signature)) revert InvalidSignature(prosumer);
        order.flags = flags & ~LIVE_FLAG;
        --window.orderCount;
        emit OrderCancelled(windowId, prosumer);
    }

    /// @dev Whether `signature` is `signer`'s for the typed data `structHash` in this market's domain, with the
    /// semantics of OpenZeppelin's `SignatureChecker.isValidSignatureNow`, from its parts: for an account without
    /// code `ECDSA.tryRecover` (65 bytes, read from calldata without a copy; refuses high s), else
    /// `SignatureChecker.isValidERC1271SignatureNow`. Never reverts on a malformed signature.
    function _isValidSignature(address signer, bytes32 structHash, bytes calldata signature)
        private
        view
        returns (bool)
    {
        bytes32 digest = _hashTypedDataV4(structHash);
        if (signer.code.length != 0) {
            return SignatureChecker.isValidERC1271SignatureNow(signer, digest, signature);
        }
        if (signature.length != 65) return false;
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly ("memory-safe") {
            r := calldataload(signature.offset)
            s := calldataload(add(signature.offset, 0x20))
            v := byte(0, calldataload(add(signature.offset, 0x40)))
        }
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, v, r, s);
        return err == ECDSA.RecoverError.NoError && recovered == signer;
    }

    /// @dev The checks of `placeOrder` for an order of `prosumer`, in order; `failure` is the selector of the first
    /// error (0: none), the other values are what `_insert` needs. Reverts only if the registry does.
    function _checkPlace(
        uint256 windowId,
        address prosumer,
        uint256 energyWh,
        uint256 pricePerKWh,
        address hintPrev
    )
        private
        view
        returns (bytes4 failure, Window storage window, uint256 id, uint256 hintId, uint256 placements)
    {
        window = _windows[windowId];
        if (energyWh == 0) return (ZeroEnergy.selector, window, 0, 0, 0);
        if (energyWh > MAX_ENERGY_WH) return (EnergyOutOfRange.selector, window, 0, 0, 0);
        if (pricePerKWh == 0) return (ZeroPrice.selector, window, 0, 0, 0);
        if (pricePerKWh > MAX_PRICE_PER_KWH) return (PriceOutOfRange.selector, window, 0, 0, 0);
        // The window's first slot as one word: status, pause flag and order count (see `Window`).
        uint256 windowWord;
        assembly ("memory-safe") {
            windowWord := sload(window.slot)
        }
        if (uint8(windowWord) != uint8(WindowStatus.Open)) return (WindowNotOpen.selector, window, 0, 0, 0);
        if (block.timestamp >= windowId + windowDuration) return (OrderingClosed.selector, window, 0, 0, 0);
        if (uint8(windowWord >> 8) != 0) return (EnforcedPause.selector, window, 0, 0, 0);
        bool registered;
        (id, registered, hintId) = _registrationAndHintId(prosumer, hintPrev);
        if (!registered) return (NotRegistered.selector, window, 0, 0, 0);
        mapping(uint256 => Order) storage book = _orders[windowId];
        placements = uint8(_load(book[id]) >> PLACEMENTS_SHIFT);
        if (placements != 0) {
            if (uint8(_load(book[_nodeKey(id, placements - 1)]) >> FLAGS_SHIFT) & LIVE_FLAG != 0) {
                failure = AlreadyHasOrder.selector;
            } else if (placements == MAX_PLACEMENTS_PER_WINDOW) {
                failure = PlacementLimitReached.selector;
            }
        }
    }

    /// @dev Reverts with the full error named by `failure` (a selector from `_checkPlace`), encoded by hand: every
    /// argument is one word.
    function _revertPlace(bytes4 failure, uint256 windowId, address prosumer, uint256 energyWh, uint256 price)
        private
        view
    {
        uint256[3] memory args;
        uint256 count = 2;
        if (failure == EnergyOutOfRange.selector) {
            (args[0], args[1]) = (energyWh, MAX_ENERGY_WH);
        } else if (failure == PriceOutOfRange.selector) {
            (args[0], args[1]) = (price, MAX_PRICE_PER_KWH);
        } else if (failure == OrderingClosed.selector) {
            (args[0], args[1]) = (windowId, windowId + windowDuration);
        } else if (failure == AlreadyHasOrder.selector) {
            (args[0], args[1]) = (windowId, uint256(uint160(prosumer)));
        } else if (failure == PlacementLimitReached.selector) {
            (args[0], args[1], args[2], count) =
            (windowId, uint256(uint160(prosumer)), MAX_PLACEMENTS_PER_WINDOW, 3);
        } else if (failure == WindowNotOpen.selector) {
            (args[0], count) = (windowId, 1);
        } else if (failure == NotRegistered.selector) {
            (args[0], count) = (uint256(uint160(prosumer)), 1);
        } else {
            count = 0; // ZeroEnergy, ZeroPrice, EnforcedPause
        }
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, failure)
            mcopy(add(m, 4), args, 0x60)
            revert(m, add(4, mul(count, 0x20)))
        }
    }

    /// @dev `registry.registrationAndIdOf(account, hint)`, as a plain static call.
    function _registrationAndHintId(address account, address hint)
        private
        view
        returns (uint256 id, bool registered, uint256 hintId)
    {
        IProsumerRegistry target = registry;
        bytes4 selector = IProsumerRegistry.registrationAndIdOf.selector;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, selector)
            mstore(add(m, 4), account)
            mstore(add(m, 36), hint)
            if iszero(staticcall(gas(), target, m, 68, m, 96)) {
                returndatacopy(m, 0, returndatasize())
                revert(m, returndatasize())
            }
            if lt(returndatasize(), 96) { revert(0, 0) }
            id := mload(m)
            registered := iszero(iszero(mload(add(m, 32))))
            hintId := mload(add(m, 64))
        }
    }

    /// @dev Writes the new order into its node and links it after its predecessor, and counts it. The first
    /// placement is the home node itself (its slot gets the placement count: one write); a later one gets a fresh
    /// node and bumps the count in the home. Nodes are read and written as whole words (see `_load`/`_store`).
    /// `placements` is the count before this order (checked by `_checkPlace`). False, with nothing written, when
    /// the place is out of the hint's reach (`HintTooFar`).
    function _insert(
        uint256 windowId,
        Window storage window,
        uint256 id,
        bool isBid,
        uint256 energyWh,
        uint256 price,
        uint256 hintId,
        uint256 placements
    ) private returns (bool placed) {
        mapping(uint256 => Order) storage book = _orders[windowId];
        uint256 key = _nodeKey(id, placements);
        uint40 prev;
        uint40 next;
        (placed, prev, next) = _position(book, window, isBid, price, hintId);
        if (!placed) return false;
        _store(
            book[key],
            uint256(next) | energyWh << ENERGY_SHIFT | price << PRICE_SHIFT
                | uint256(isBid ? LIVE_FLAG : LIVE_FLAG | SELL_FLAG) << FLAGS_SHIFT
                | (placements == 0 ? 1 << PLACEMENTS_SHIFT : 0)
        );
        if (prev == 0) {
            if (isBid) window.bidHead = uint40(key);
            else window.askHead = uint40(key);
        } else {
            Order storage before = book[prev];
            _store(before, _load(before) & ~NEXT_MASK | key);
        }
        if (placements != 0) {
            // Re-read: the home may have just been linked to the new node (re-placed right after it).
            Order storage homeNode = book[id];
            homeNode.placements = uint8(placements + 1);
        }
        // `orderCount` (bits 16-47) + 1: it counts live orders, at most one per 32-bit prosumer ID.
        assembly ("memory-safe") {
            sstore(window.slot, add(sload(window.slot), 0x10000))
        }
    }

    /// @dev The slot of `order` as one word.
    function _load(Order storage order) private view returns (uint256 word) {
        assembly ("memory-safe") {
            word := sload(order.slot)
        }
    }

    /// @dev Writes the slot of `order` as one word.
    function _store(Order storage order, uint256 word) private {
        assembly ("memory-safe") {
            sstore(order.slot, word)
        }
    }

    /// @inheritdoc IEnergyMarket
    /// @dev O(1): the order's node stays linked in place as a tombstone (see `Order`); no neighbour is written.
    function cancelOrder(uint256 windowId) external {
        Window storage window = _requireOrdering(windowId);
        uint256 id = registry.prosumerIdOf(msg.sender);
        mapping(uint256 => Order) storage book = _orders[windowId];
        uint256 placements = book[id].placements;
        if (id == 0 || placements == 0) revert NoLiveOrder(windowId, msg.sender);
        Order storage order = book[_nodeKey(id, placements - 1)];
        uint8 flags = order.flags;
        if (flags & LIVE_FLAG == 0) revert NoLiveOrder(windowId, msg.sender);
        order.flags = flags & ~LIVE_FLAG;
        --window.orderCount;
        emit OrderCancelled(windowId, msg.sender);
    }

    /// @inheritdoc IEnergyMarket
    /// @dev Any node is a start of `placeOrder`'s walk (a tombstone keeps its place), so the last one before the
    /// place is exact, whoever owns it and whatever its owner did since.
    function findHint(uint256 windowId, Side side, uint256 pricePerKWh)
        external
        view
        returns (address hintPrev)
    {
        mapping(uint256 => Order) storage book = _orders[windowId];
        Window storage window = _windows[windowId];
        bool isBid = side == Side.Buy;
        uint256 hintKey;
        for (uint256 key = isBid ? window.bidHead : window.askHead; key != 0; key = book[key].next) {
            if (!UniformPriceClearing.precedes(isBid, book[key].price, pricePerKWh)) break;
            hintKey = key;
        }
        return hintKey == 0 ? address(0) : registry.accountOf(uint32(hintKey));
    }

    /// @inheritdoc IEnergyMarket
    function orderNonce(uint256 windowId, address prosumer) external view returns (uint256) {
        return _orders[windowId][registry.prosumerIdOf(prosumer)].placements;
    }

    // ---------------------------------------------------------------- clearing

    /// @inheritdoc IEnergyMarket
    function closeWindow(uint256 windowId, uint256 maxSteps) external returns (bool done) {
        return _close(windowId, maxSteps, 0);
    }

    /// @dev `stepGas`: stop before a step when less gas than this is left (0: only `maxSteps` bounds the batch).
    function _close(uint256 windowId, uint256 maxSteps, uint256 stepGas) private returns (bool done) {
        if (maxSteps == 0) revert ZeroMaxSteps();
        Window storage window = _windows[windowId];
        WindowStatus status = window.status;
        if (status == WindowStatus.None) revert WindowNotFound(windowId);
        if (status >= WindowStatus.Cleared) revert WindowAlreadyCleared(windowId);
        uint256 readyAt = windowId + windowDuration;
        if (block.timestamp < readyAt) revert TooEarly(windowId, readyAt);
        if (status == WindowStatus.Open) {
            window.status = WindowStatus.Closing;
            window.bidCursor = window.bidHead;
            window.askCursor = window.askHead;
        }
        return _clear(windowId, window, maxSteps, stepGas);
    }

    /// @dev Progress of the clearing walk, held in memory during a call.
    struct Walk {
        uint256 bidId; // node keys (40 bits), kept as full words: no masking in the hot loop
        uint256 askId;
        uint256 tradeCount;
        uint256 traderCount;
        uint256 clearedWh;
        uint256 tradeSlots; // storage slot of `_tradeSlots[windowId]`, computed once per call
        uint256 pendingTrade; // record of an even-index trade not yet stored (0: none), see `_recordTrade`
    }

    /// @dev The clearing walk from the stored cursors, at most `maxSteps` trades (at least one when due, then
    /// while `stepGas` is left); fixes the price at the end. Tombstones (cancelled orders) are skipped: a skip
    /// is no trade and does not count against `maxSteps`, but it is metered by `stepGas` like a step, so a call
    /// that has made progress stops before a skip when gas runs low. The walk only ends (price fixed) with both
    /// cursors on live orders or past the end, so rule 3's next unmatched bid/ask is the next live one.
    function _clear(uint256 windowId, Window storage window, uint256 maxSteps, uint256 stepGas)
        private
        returns (bool done)
    {
        mapping(uint256 => Order) storage book = _orders[windowId];
        Walk memory walk = Walk({
            bidId: window.bidCursor,
            askId: window.askCursor,
            tradeCount: window.tradeCount,
            traderCount: window.traderCount,
            clearedWh: window.clearedEnergyWh,
            tradeSlots: 0,
            pendingTrade: 0
        });
        mapping(uint256 => uint256) storage tradeSlots = _tradeSlots[windowId];
        assembly ("memory-safe") {
            mstore(add(walk, 0xa0), tradeSlots.slot)
        }
        uint256 steps;
        bool progressed;
        for (;;) {
            // Both orders read as whole words (see `_load`); key 0 (no order) reads as 0.
            Order storage bid = book[walk.bidId];
            Order storage ask = book[walk.askId];
            uint256 bidWord = walk.bidId == 0 ? 0 : _load(bid);
            uint256 askWord = walk.askId == 0 ? 0 : _load(ask);
            bool skipBid = walk.bidId != 0 && (bidWord >> FLAGS_SHIFT) & LIVE_FLAG == 0;
            if (skipBid || (walk.askId != 0 && (askWord >> FLAGS_SHIFT) & LIVE_FLAG == 0)) {
                if (progressed && gasleft() < stepGas) {
                    _saveWalk(window, walk);
                    return false;
                }
                if (skipBid) walk.bidId = uint40(bidWord);
                else walk.askId = uint40(askWord);
                progressed = true;
                continue;
            }
            if (walk.bidId == 0 || walk.askId == 0) break;
            if (!UniformPriceClearing.crosses(
                    (bidWord >> PRICE_SHIFT) & PRICE_MASK, (askWord >> PRICE_SHIFT) & PRICE_MASK
                )) break;
            if (steps == maxSteps || (progressed && gasleft() < stepGas)) {
                _saveWalk(window, walk);
                return false;
            }
            _match(windowId, walk, bid, ask, bidWord, askWord);
            unchecked {
                ++steps; // below maxSteps
            }
            progressed = true;
        }

        _storePendingTrade(walk);
        uint256 price = walk.tradeCount == 0 ? 0 : _marginalPrice(windowId, book, walk);
        // The walk is over: the cursor slots take the clearing time instead (see `Window`).
        walk.bidId = uint40(Math.min(block.timestamp - windowId, type(uint32).max));
        walk.askId = 0;
        _saveWalk(window, walk);
        window.status = WindowStatus.Cleared;
        window.clearingPrice = uint96(price);
        emit WindowCleared(windowId, price, walk.clearedWh, walk.tradeCount);
        _advanceFirstUnclosed();
        return true;
    }

    /// @dev One step of the walk: trades `min(remaining bid, remaining ask)`, stores and announces the trade, and
    /// moves past filled orders. `bidWord`/`askWord`: the two orders' slots as read by `_clear`.
    function _match(
        uint256 windowId,
        Walk memory walk,
        Order storage bid,
        Order storage ask,
        uint256 bidWord,
        uint256 askWord
    ) private {
        unchecked {
            // filled <= energy always; filled + quantity <= energy < 2^32 keeps the additions inside `filledWh`;
            // at most 2^32 traders and trades of at most 2^32 Wh each.
            uint256 bidFilled = uint32(bidWord >> FILLED_SHIFT);
            uint256 askFilled = uint32(askWord >> FILLED_SHIFT);
            uint256 bidLeft = uint32(bidWord >> ENERGY_SHIFT) - bidFilled;
            uint256 askLeft = uint32(askWord >> ENERGY_SHIFT) - askFilled;
            uint256 quantity = UniformPriceClearing.matchQuantity(bidLeft, askLeft);
            uint256 firstFills; // orders filled for the first time: new traders
            assembly ("memory-safe") {
                firstFills := add(iszero(bidFilled), iszero(askFilled))
            }
            walk.traderCount += firstFills;
            _store(bid, bidWord + (quantity << FILLED_SHIFT));
            _store(ask, askWord + (quantity << FILLED_SHIFT));
            uint256 index = walk.tradeCount;
            (uint32 buyerId, uint32 sellerId) = (uint32(walk.bidId), uint32(walk.askId));
            _recordTrade(walk, index, TradeRecord.encode(buyerId, sellerId, uint32(quantity)));
            _emitTradeMatched(windowId, index, buyerId, sellerId, quantity);
            walk.tradeCount = index + 1;
            walk.clearedWh += quantity;
            if (quantity == bidLeft) walk.bidId = uint40(bidWord);
            if (quantity == askLeft) walk.askId = uint40(askWord);
        }
    }

    /// @dev Trades are stored two per slot (`_tradeSlots[windowId][index >> 1]`): an even-index trade waits in
    /// `walk.pendingTrade` and is stored with the next one in one fresh-slot write, or alone by
    /// `_storePendingTrade` when the call ends first (the next call then adds the high half to it).
    function _recordTrade(Walk memory walk, uint256 index, uint256 record) private {
        if (index & 1 == 0) {
            walk.pendingTrade = record;
            return;
        }
        uint256 low = walk.pendingTrade;
        uint256 tradeSlots = walk.tradeSlots;
        assembly ("memory-safe") {
            mstore(0, shr(1, index))
            mstore(32, tradeSlots)
            let slot := keccak256(0, 64)
            // No pending low half: this call started at an odd index, the low half is in storage.
            if iszero(low) { low := sload(slot) }
            sstore(slot, or(low, shl(128, record)))
        }
        walk.pendingTrade = 0;
    }

    /// @dev Stores the pending even-index trade (the last one, `tradeCount - 1`) in the low half of its slot.
    function _storePendingTrade(Walk memory walk) private {
        uint256 low = walk.pendingTrade;
        if (low == 0) return;
        uint256 index = walk.tradeCount - 1;
        uint256 tradeSlots = walk.tradeSlots;
        assembly ("memory-safe") {
            mstore(0, shr(1, index))
            mstore(32, tradeSlots)
            sstore(keccak256(0, 64), low)
        }
        walk.pendingTrade = 0;
    }

    /// @dev `TradeMatched` with the accounts from `registry.accountsOf(buyerId, sellerId)` (one plain static call,
    /// the clearing's hottest path) as its indexed buyer and seller.
    function _emitTradeMatched(
        uint256 windowId,
        uint256 index,
        uint256 buyerId,
        uint256 sellerId,
        uint256 quantity
    ) private {
        IProsumerRegistry target = registry;
        bytes4 selector = IProsumerRegistry.accountsOf.selector;
        bytes32 topic = TradeMatched.selector;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, selector)
            mstore(add(m, 4), buyerId)
            mstore(add(m, 36), sellerId)
            if iszero(staticcall(gas(), target, m, 68, m, 64)) {
                returndatacopy(m, 0, returndatasize())
                revert(m, returndatasize())
            }
            if lt(returndatasize(), 64) { revert(0, 0) }
            let buyer := mload(m)
            let seller := mload(add(m, 32))
            mstore(m, index)
            mstore(add(m, 32), quantity)
            log4(m, 64, topic, windowId, buyer, seller)
        }
    }

    function _saveWalk(Window storage window, Walk memory walk) private {
        _storePendingTrade(walk);
        (window.bidCursor, window.askCursor) = (uint40(walk.bidId), uint40(walk.askId));
        (window.tradeCount, window.traderCount) = (uint32(walk.tradeCount), uint32(walk.traderCount));
        window.clearedEnergyWh = uint64(walk.clearedWh);
    }

    /// @dev Rule 3 of the clearing rule, from the last trade and the first unmatched (live) bid and ask. The
    /// trade names prosumer IDs; its orders are their owners' current nodes (nothing moves once Closing).
    function _marginalPrice(uint256 windowId, mapping(uint256 => Order) storage book, Walk memory walk)
        private
        view
        returns (uint256)
    {
        uint256 last = walk.tradeCount - 1;
        (uint32 bidId, uint32 askId,,,) =
            TradeRecord.decode(TradeRecord.read(_tradeSlots[windowId][last >> 1], last & 1));
        Order storage bid = book[_currentKey(book, bidId)];
        Order storage ask = book[_currentKey(book, askId)];
        return UniformPriceClearing.price(
            UniformPriceClearing.Marginal({
                bidPrice: bid.price,
                bidPartlyFilled: bid.filledWh < bid.energyWh,
                askPrice: ask.price,
                askPartlyFilled: ask.filledWh < ask.energyWh,
                hasNextBid: walk.bidId != 0,
                nextBidPrice: book[walk.bidId].price,
                hasNextAsk: walk.askId != 0,
                nextAskPrice: book[walk.askId].price
            })
        );
    }

    // ---------------------------------------------------------------- readings and settlement

    /// @inheritdoc IEnergyMarket
    function submitMeterReadings(
        uint256 windowId,
        address[] calldata prosumers,
        uint256[] calldata importedWh,
        uint256[] calldata exportedWh
    ) external onlyRole(ORACLE_ROLE) {
        uint256 count = prosumers.length;
        if (importedWh.length != count || exportedWh.length != count) {
            revert LengthMismatch(count, importedWh.length, exportedWh.length);
        }
        Window storage window = _windows[windowId];
        WindowStatus status = window.status;
        if (status == WindowStatus.None) revert WindowNotFound(windowId);
        if (status < WindowStatus.Cleared) revert WindowNotCleared(windowId);
        if (status > WindowStatus.Cleared) revert SettlementStarted(windowId);
        uint256 readyAt = windowId + 2 * windowDuration;
        if (block.timestamp < readyAt) revert TooEarly(windowId, readyAt);

        uint256 readingCount = window.readingCount;
        for (uint256 i; i < count; ++i) {
            if (_recordReading(windowId, prosumers[i], importedWh[i], exportedWh[i])) ++readingCount;
        }
        window.readingCount = uint32(readingCount);
    }

    /// @dev Stores one reading, or skips it with `MeterReadingRejected` (an account that never registered, a
    /// value out of range) so that one bad entry cannot hold back the others. Deregistered prosumers keep
    /// their ID, so readings of windows they traded in are still stored. Returns true for the first reading
    /// of a trader of the window.
    function _recordReading(uint256 windowId, address prosumer, uint256 imported, uint256 exported)
        private
        returns (bool firstOfTrader)
    {
        if (imported > MAX_ENERGY_WH || exported > MAX_ENERGY_WH) {
            emit MeterReadingRejected(windowId, prosumer, ReadingOutOfRange.selector);
            return false;
        }
        uint256 id = registry.prosumerIdOf(prosumer);
        if (id == 0) {
            emit MeterReadingRejected(windowId, prosumer, NotRegistered.selector);
            return false;
        }
        Reading storage reading = _readings[windowId][id];
        firstOfTrader = !reading.submitted && _tradedSomething(_orders[windowId], id);
        reading.submitted = true;
        reading.importedWh = uint32(imported);
        reading.exportedWh = uint32(exported);
        emit MeterReadingSubmitted(windowId, prosumer, imported, exported);
    }

    /// @inheritdoc IEnergyMarket
    function settleWindow(uint256 windowId, uint256 maxSteps) external nonReentrant returns (bool done) {
        return _settle(windowId, maxSteps, 0);
    }

    /// @dev `stepGas`: stop before a step when less gas than this is left (0: only `maxSteps` bounds the batch);
    /// at least one step runs.
    function _settle(uint256 windowId, uint256 maxSteps, uint256 stepGas) private returns (bool done) {
        if (maxSteps == 0) revert ZeroMaxSteps();
        Window storage window = _windows[windowId];
        WindowStatus status = window.status;
        if (status == WindowStatus.None) revert WindowNotFound(windowId);
        if (status < WindowStatus.Cleared) revert WindowNotCleared(windowId);
        if (status == WindowStatus.Settled) revert WindowAlreadySettled(windowId);
        if (status == WindowStatus.Cleared) {
            uint256 readyAt = _settleReadyAt(windowId, window);
            if (block.timestamp < readyAt) revert TooEarly(windowId, readyAt);
            window.status = WindowStatus.Settling;
        }

        uint256 tradeCount = window.tradeCount;
        uint256 index = _settledCount(window);
        uint256 end = tradeCount - index > maxSteps ? index + maxSteps : tradeCount;
        uint256 accepted = window.acceptedCount;
        uint256 price = window.clearingPrice;
        for (uint256 first = index; index < end; ++index) {
            if (index != first && gasleft() < stepGas) break;
            if (_settleTrade(windowId, index, price)) ++accepted;
        }
        window.askCursor = uint40(index); // the settled count once Cleared (see `Window`)
        window.acceptedCount = uint32(accepted);
        if (index < tradeCount) return false;

        window.status = WindowStatus.Settled;
        emit WindowSettled(windowId, accepted, tradeCount - accepted);
        _advanceFirstUnsettled();
        return true;
    }

    /// @dev Applies the settlement rule to one trade.
    function _settleTrade(uint256 windowId, uint256 index, uint256 price) private returns (bool accepted) {
        uint256 slotValue = _tradeSlots[windowId][index >> 1];
        uint256 record = TradeRecord.read(slotValue, index & 1);
        (uint32 buyerId, uint32 sellerId, uint32 energyWh,,) = TradeRecord.decode(record);
        Reading storage buyerReading = _readings[windowId][buyerId];
        Reading storage sellerReading = _readings[windowId][sellerId];
        (Reading memory buyerState, Reading memory sellerState) = (buyerReading, sellerReading);
        RejectReason reason = _meterCheck(buyerState, sellerState, energyWh);
        if (reason == RejectReason.None) {
            // Effects first; undone below if the transfer fails (rule 4: balance or allowance too small, or a
            // token that returns false or reverts, is InsufficientFunds and must not block the window).
            sellerReading.acceptedSoldWh = sellerState.acceptedSoldWh + energyWh;
            buyerReading.acceptedBoughtWh = buyerState.acceptedBoughtWh + energyWh;
            _setOutcome(windowId, index, slotValue, record, TradeStatus.Accepted, RejectReason.None);
            uint256 cost = UniformPriceClearing.cost(energyWh, price);
            if (_pay(buyerId, sellerId, cost)) {
                emit TradeSettled(windowId, index, TradeStatus.Accepted, RejectReason.None, cost);
                return true;
            }
            sellerReading.acceptedSoldWh = sellerState.acceptedSoldWh;
            buyerReading.acceptedBoughtWh = buyerState.acceptedBoughtWh;
            reason = RejectReason.InsufficientFunds;
        }
        _setOutcome(windowId, index, slotValue, record, TradeStatus.Rejected, reason);
        emit TradeSettled(windowId, index, TradeStatus.Rejected, reason, 0);
        return false;
    }

    /// @dev Rule 4's transfer; false when it fails for any reason.
    function _pay(uint32 buyerId, uint32 sellerId, uint256 cost) private returns (bool) {
        (address buyer, address seller) = registry.accountsOf(buyerId, sellerId);
        return token.trySafeTransferFrom(buyer, seller, cost);
    }

    /// @dev Rules 1 to 3: readings present, seller exported enough, buyer imported enough (cumulative).
    function _meterCheck(Reading memory buyerReading, Reading memory sellerReading, uint256 energyWh)
        private
        pure
        returns (RejectReason)
    {
        if (!sellerReading.submitted || !buyerReading.submitted) return RejectReason.MissingReading;
        if (sellerReading.acceptedSoldWh + energyWh > sellerReading.exportedWh) {
            return RejectReason.SellerShortfall;
        }
        if (buyerReading.acceptedBoughtWh + energyWh > buyerReading.importedWh) {
            return RejectReason.BuyerShortfall;
        }
        return RejectReason.None;
    }

    /// @dev Writes the outcome into the trade's half of `slotValue` (the slot as read before any write of
    /// this trade; the other half is not touched by settling this trade).
    function _setOutcome(
        uint256 windowId,
        uint256 index,
        uint256 slotValue,
        uint256 record,
        TradeStatus status,
        RejectReason reason
    ) private {
        _tradeSlots[windowId][index >> 1] = TradeRecord.write(
            slotValue, index & 1, TradeRecord.withOutcome(record, uint8(status), uint8(reason))
        );
    }

    /// @dev Readings are possible from `max(w + 2d, clearedAt)`; the grace counts from then, so a late close
    /// never lets settlement start before the oracle had its full chance.
    function _settleReadyAt(uint256 windowId, Window storage window) private view returns (uint256) {
        uint256 readingsFrom = Math.max(windowId + 2 * windowDuration, _clearedAt(windowId, window));
        return window.readingCount == window.traderCount ? readingsFrom : readingsFrom + settlementGrace;
    }

    /// @dev How many trades are settled (kept in `askCursor` once Cleared, see `Window`).
    function _settledCount(Window storage window) private view returns (uint256) {
        return window.status >= WindowStatus.Cleared ? window.askCursor : 0;
    }

    /// @dev When the clearing finished (0 while the window is not cleared yet).
    function _clearedAt(uint256 windowId, Window storage window) private view returns (uint256) {
        return window.status >= WindowStatus.Cleared ? windowId + window.bidCursor : 0;
    }

    /// @dev At most `MAX_CURSOR_ADVANCE` windows per call; `_dueUpkeep` skips any lag that is left.
    function _advanceFirstUnclosed() private {
        uint256 first = _firstUnclosed;
        uint256 end = Math.min(_openedWindows.length, first + MAX_CURSOR_ADVANCE);
        while (first < end && _windows[_openedWindows[first]].status >= WindowStatus.Cleared) {
            ++first;
        }
        _firstUnclosed = first;
    }

    /// @dev At most `MAX_CURSOR_ADVANCE` windows per call; the settle scan of `_dueUpkeep` skips settled ones.
    function _advanceFirstUnsettled() private {
        uint256 first = _firstUnsettled;
        uint256 end = Math.min(_openedWindows.length, first + MAX_CURSOR_ADVANCE);
        while (first < end && _windows[_openedWindows[first]].status == WindowStatus.Settled) {
            ++first;
        }
        _firstUnsettled = first;
    }

    // ---------------------------------------------------------------- automation

    /// @notice What is due now: open the current window first (O(1), time-critical), then close the oldest window
    /// that has ended, then settle the oldest window that is ready. `performData` is
    /// `abi.encode(UpkeepAction, windowId, maxSteps)`; `maxSteps` 0 lets `performUpkeep` meter the batch by gas.
    function checkUpkeep(bytes calldata) external view returns (bool upkeepNeeded, bytes memory performData) {
        (UpkeepAction action, uint256 windowId, uint256 maxSteps) = _dueUpkeep();
        upkeepNeeded = action != UpkeepAction.None;
        performData = abi.encode(action, windowId, maxSteps);
    }

    /// @notice Runs one due action. Anyone may call; `performData` is re-validated, never trusted: an action
    /// that is not due reverts with the market's named error. Close and settle batches run at least one step,
    /// then stop before a step when less than `UPKEEP_CLOSE_STEP_GAS` / `UPKEEP_SETTLE_STEP_GAS` is left, so a
    /// perform fits any gas limit (a registry's 5,000,000 included) and the window progresses every time.
    function performUpkeep(bytes calldata performData) external nonReentrant {
        if (performData.length != 96) revert InvalidPerformData();
        (uint256 rawAction, uint256 windowId, uint256 maxSteps) =
            abi.decode(performData, (uint256, uint256, uint256));
        if (rawAction == uint256(UpkeepAction.Open)) {
            if (windowId != currentWindow()) revert UpkeepNotNeeded(UpkeepAction.Open, windowId);
            openWindow();
        } else if (rawAction == uint256(UpkeepAction.Close)) {
            _close(windowId, _unboundedIfZero(maxSteps), UPKEEP_CLOSE_STEP_GAS);
        } else if (rawAction == uint256(UpkeepAction.Settle)) {
            _settle(windowId, _unboundedIfZero(maxSteps), UPKEEP_SETTLE_STEP_GAS);
        } else {
            revert InvalidPerformData();
        }
    }

    function _dueUpkeep() private view returns (UpkeepAction, uint256, uint256) {
        uint256 current = currentWindow();
        if (_windows[current].status == WindowStatus.None) return (UpkeepAction.Open, current, 0);

        // Windows end in the order they were opened, so the oldest one not yet cleared is the first to close.
        // `_firstUnclosed` may lag behind windows closed directly (each clearing moves it a bounded distance).
        uint256 length = _openedWindows.length;
        uint256 first = _firstUnclosed;
        uint256 end = Math.min(length, first + MAX_UPKEEP_SCAN);
        for (uint256 i = first; i < end; ++i) {
            uint256 windowId = _openedWindows[i];
            if (_windows[windowId].status >= WindowStatus.Cleared) continue;
            if (block.timestamp >= windowId + windowDuration) return (UpkeepAction.Close, windowId, 0);
            break;
        }

        first = _firstUnsettled;
        end = Math.min(length, first + MAX_UPKEEP_SCAN);
        for (uint256 i = first; i < end; ++i) {
            uint256 windowId = _openedWindows[i];
            Window storage window = _windows[windowId];
            WindowStatus status = window.status;
            if (
                status == WindowStatus.Settling
                    || (status == WindowStatus.Cleared && block.timestamp >= _settleReadyAt(windowId, window))
            ) return (UpkeepAction.Settle, windowId, 0);
        }
        return (UpkeepAction.None, 0, 0);
    }

    function _unboundedIfZero(uint256 maxSteps) private pure returns (uint256) {
        return maxSteps == 0 ? type(uint256).max : maxSteps;
    }

    // ---------------------------------------------------------------- views

    /// @notice EIP-5267: name "EnergyMarket", version "1", this chain and this market (no salt, no extensions).
    /// @dev The same domain as OpenZeppelin's, answered from constants (smaller code than its string fallbacks).
    function eip712Domain()
        public
        view
        override
        returns (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        )
    {
        return (hex"0f", "EnergyMarket", "1", block.chainid, address(this), salt, extensions);
    }

    /// @inheritdoc IEnergyMarket
    function getWindow(uint256 windowId)
        external
        view
        returns (
            WindowStatus status,
            uint256 clearingPrice,
            uint256 clearedEnergyWh,
            uint256 orderCount,
            uint256 tradeCount,
            uint256 settledCount
        )
    {
        Window storage window = _windows[windowId];
        return (
            window.status,
            window.clearingPrice,
            window.clearedEnergyWh,
            window.orderCount,
            window.tradeCount,
            _settledCount(window)
        );
    }

    /// @inheritdoc IEnergyMarket
    function getOrder(uint256 windowId, address prosumer)
        external
        view
        returns (Side side, uint256 energyWh, uint256 pricePerKWh, uint256 filledWh, bool live)
    {
        uint256 id = registry.prosumerIdOf(prosumer);
        if (id == 0) return (Side.Buy, 0, 0, 0, false);
        mapping(uint256 => Order) storage book = _orders[windowId];
        Order storage order = book[_currentKey(book, id)];
        uint8 flags = order.flags;
        return (
            flags & SELL_FLAG == 0 ? Side.Buy : Side.Sell,
            order.energyWh,
            order.price,
            order.filledWh,
            flags & LIVE_FLAG != 0
        );
    }

    /// @inheritdoc IEnergyMarket
    function getTrade(uint256 windowId, uint256 index)
        external
        view
        returns (address buyer, address seller, uint256 energyWh, TradeStatus status, RejectReason reason)
    {
        uint256 tradeCount = _windows[windowId].tradeCount;
        if (index >= tradeCount) revert TradeIndexOutOfRange(windowId, index, tradeCount);
        uint256 record = TradeRecord.read(_tradeSlots[windowId][index >> 1], index & 1);
        (uint32 buyerId, uint32 sellerId, uint32 energy, uint8 rawStatus, uint8 rawReason) =
            TradeRecord.decode(record);
        (buyer, seller) = registry.accountsOf(buyerId, sellerId);
        energyWh = energy;
        status = TradeStatus(rawStatus);
        reason = RejectReason(rawReason);
    }

    /// @inheritdoc IEnergyMarket
    function getReading(uint256 windowId, address prosumer)
        external
        view
        returns (bool submitted, uint256 importedWh, uint256 exportedWh)
    {
        Reading storage reading = _readings[windowId][registry.prosumerIdOf(prosumer)];
        return (reading.submitted, reading.importedWh, reading.exportedWh);
    }

    /// @inheritdoc IEnergyMarket
    function getBook(uint256 windowId, Side side, uint256 offset, uint256 limit)
        external
        view
        returns (address[] memory prosumers)
    {
        mapping(uint256 => Order) storage book = _orders[windowId];
        Window storage window = _windows[windowId];
        if (limit > window.orderCount) limit = window.orderCount;
        prosumers = new address[](limit);
        uint256 count;
        for (uint256 key = side == Side.Buy ? window.bidHead : window.askHead; key != 0 && count < limit;) {
            if (book[key].flags & LIVE_FLAG != 0) {
                if (offset == 0) prosumers[count++] = registry.accountOf(uint32(key));
                else --offset;
            }
            key = book[key].next;
        }
        assembly ("memory-safe") {
            mstore(prosumers, count)
        }
    }

    /// @notice Traders of a window (prosumers with a filled order) and how many of them have a reading.
    function readingProgress(uint256 windowId)
        external
        view
        returns (uint256 traderCount, uint256 readingCount)
    {
        Window storage window = _windows[windowId];
        return (window.traderCount, window.readingCount);
    }

    /// @notice Earliest time settlement of a cleared window may start, given the readings so far;
    /// `type(uint256).max` while the window is not cleared (its grace cannot start before the clearing).
    function settleReadyAt(uint256 windowId) external view returns (uint256) {
        Window storage window = _windows[windowId];
        if (window.status < WindowStatus.Cleared) return type(uint256).max;
        return _settleReadyAt(windowId, window);
    }

    // ---------------------------------------------------------------- internals

    /// @dev Reverts unless `windowId` is open and its hour has not ended.
    function _requireOrdering(uint256 windowId) private view returns (Window storage window) {
        window = _windows[windowId];
        if (window.status != WindowStatus.Open) revert WindowNotOpen(windowId);
        uint256 closesAt = windowId + windowDuration;
        if (block.timestamp >= closesAt) revert OrderingClosed(windowId, closesAt);
    }

    /// @dev Whether the current order of prosumer `id` has a fill: its home node, read as one word, unless it
    /// placed again (then its latest node).
    function _tradedSomething(mapping(uint256 => Order) storage book, uint256 id)
        private
        view
        returns (bool)
    {
        uint256 word = _load(book[id]);
        uint256 placements = uint8(word >> PLACEMENTS_SHIFT);
        if (placements > 1) word = _load(book[_nodeKey(id, placements - 1)]);
        return uint32(word >> FILLED_SHIFT) != 0;
    }

    /// @dev The key of the current node of prosumer `id` (its latest placement; `id` itself if none).
    function _currentKey(mapping(uint256 => Order) storage book, uint256 id) private view returns (uint256) {
        uint256 placements = book[id].placements;
        return placements == 0 ? id : _nodeKey(id, placements - 1);
    }

    /// @dev The key of prosumer `id`'s node for its placement number `index` in a window (0: its home, `id`).
    function _nodeKey(uint256 id, uint256 index) private pure returns (uint256) {
        return id | index << KEY_SHIFT;
    }

    /// @dev Where a new order at `price` goes: after every node that precedes it (the clearing rule's order,
    /// time priority on equal prices; tombstones keep their place, so they are valid neighbours too). Any node
    /// of the same side that precedes the new order, live or not, is a correct place to walk forward from; the
    /// hint only decides where the walk starts, so a wrong hint costs bounded gas, never correctness.
    ///
    /// The start is the latest (in book order) of the hinted prosumer's nodes in this window that precede the new
    /// order (at most `MAX_PLACEMENTS_PER_WINDOW` reads; nodes never move, so a hint stays exact when its owner
    /// cancelled, or cancelled and re-placed elsewhere, the griefing move), else the head. From there at most
    /// `MAX_HINT_WALK` preceding nodes are walked past; `placed` is false when the place is further than that.
    function _position(
        mapping(uint256 => Order) storage book,
        Window storage window,
        bool isBid,
        uint256 price,
        uint256 hintId
    ) private view returns (bool placed, uint40 prev, uint40 next) {
        if (hintId != 0) {
            uint256 homeWord = _load(book[hintId]);
            uint256 startPrice;
            // Newest first: of two nodes at one price the newer one is later in the book, and wins the tie.
            for (uint256 index = uint8(homeWord >> PLACEMENTS_SHIFT); index != 0;) {
                uint256 key = _nodeKey(hintId, --index);
                uint256 word = index == 0 ? homeWord : _load(book[key]);
                if ((word >> FLAGS_SHIFT) & SELL_FLAG != (isBid ? 0 : SELL_FLAG)) continue;
                uint256 nodePrice = (word >> PRICE_SHIFT) & PRICE_MASK;
                if (!UniformPriceClearing.precedes(isBid, nodePrice, price)) continue;
                if (prev == 0 || (isBid ? nodePrice < startPrice : nodePrice > startPrice)) {
                    (prev, next, startPrice) = (uint40(key), uint40(word), nodePrice);
                }
            }
        }
        if (prev == 0) next = isBid ? window.bidHead : window.askHead;
        for (uint256 steps; next != 0; ++steps) {
            uint256 word = _load(book[next]);
            if (!UniformPriceClearing.precedes(isBid, (word >> PRICE_SHIFT) & PRICE_MASK, price)) break;
            if (steps == MAX_HINT_WALK) return (false, 0, 0);
            (prev, next) = (next, uint40(word));
        }
        placed = true;
    }
}
