// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {
    AutomationCompatibleInterface
} from "@chainlink/contracts/src/v0.8/automation/interfaces/AutomationCompatibleInterface.sol";

/// @title IEnergyMarket
/// @notice Hourly peer-to-peer energy market: one order per prosumer per window, a sorted order book,
/// uniform-price clearing and settlement of every trade against smart-meter readings and buyer funds.
/// @dev Energy in Wh, prices in token base units per kWh, cost of a trade `energyWh * price / 1000` rounded down.
/// A window is identified by its start time `w`; see docs/protocol.md for the lifecycle.
interface IEnergyMarket is AutomationCompatibleInterface {
    enum Side {
        Buy,
        Sell
    }

    enum WindowStatus {
        None,
        Open,
        Closing,
        Cleared,
        Settling,
        Settled
    }

    enum TradeStatus {
        Pending,
        Accepted,
        Rejected
    }

    enum RejectReason {
        None,
        MissingReading,
        SellerShortfall,
        BuyerShortfall,
        InsufficientFunds
    }

    /// @notice What `checkUpkeep` asks `performUpkeep` to do.
    enum UpkeepAction {
        None,
        Open,
        Close,
        Settle
    }

    /// @notice An order signed off-chain (EIP-712 `Order`, see docs/protocol.md), submitted by anyone.
    /// `hintPrev` is not signed: the submitter computes it.
    struct SignedOrder {
        address prosumer;
        uint256 windowId;
        Side side;
        uint256 energyWh;
        uint256 pricePerKWh;
        uint256 nonce;
        address hintPrev;
        bytes signature;
    }

    event WindowOpened(uint256 indexed windowId);
    event OrderPlaced(
        uint256 indexed windowId, address indexed prosumer, Side side, uint256 energyWh, uint256 pricePerKWh
    );
    event OrderCancelled(uint256 indexed windowId, address indexed prosumer);
    /// @notice A signed order that was skipped; `reason` is the selector of the error `placeOrder` would have
    /// raised, or `InvalidNonce` / `InvalidSignature` (0x00000000: a side that is neither Buy nor Sell).
    event SignedOrderRejected(
        uint256 indexed windowId, address indexed prosumer, uint256 nonce, bytes4 reason
    );
    /// @notice A trade of the clearing walk; a prosumer's trades are found by filtering on `buyer` or `seller`.
    event TradeMatched(
        uint256 indexed windowId,
        address indexed buyer,
        address indexed seller,
        uint256 tradeIndex,
        uint256 energyWh
    );
    event WindowCleared(
        uint256 indexed windowId, uint256 clearingPrice, uint256 clearedEnergyWh, uint256 tradeCount
    );
    event MeterReadingSubmitted(
        uint256 indexed windowId, address indexed prosumer, uint256 importedWh, uint256 exportedWh
    );
    /// @notice A readings entry that was skipped; `reason` is the selector of the error that says why
    /// (`NotRegistered` or `ReadingOutOfRange`). The other entries of the batch are stored.
    event MeterReadingRejected(uint256 indexed windowId, address indexed prosumer, bytes4 reason);
    event TradeSettled(
        uint256 indexed windowId,
        uint256 indexed tradeIndex,
        TradeStatus status,
        RejectReason reason,
        uint256 cost
    );
    event WindowSettled(uint256 indexed windowId, uint256 acceptedCount, uint256 rejectedCount);

    error ZeroAddress();
    error InvalidWindowDuration(uint256 windowDuration);
    error InvalidSettlementGrace(uint256 settlementGrace, uint256 maxSettlementGrace);
    error WindowAlreadyExists(uint256 windowId);
    error WindowNotFound(uint256 windowId);
    error WindowNotOpen(uint256 windowId);
    error OrderingClosed(uint256 windowId, uint256 closedAt);
    error NotRegistered(address account);
    error AlreadyHasOrder(uint256 windowId, address prosumer);
    error NoLiveOrder(uint256 windowId, address prosumer);
    error ZeroEnergy();
    error ZeroPrice();
    error EnergyOutOfRange(uint256 energyWh, uint256 maxEnergyWh);
    error PriceOutOfRange(uint256 pricePerKWh, uint256 maxPricePerKWh);
    error ZeroMaxSteps();
    error TooEarly(uint256 windowId, uint256 readyAt);
    error WindowAlreadyCleared(uint256 windowId);
    error WindowNotCleared(uint256 windowId);
    error SettlementStarted(uint256 windowId);
    error WindowAlreadySettled(uint256 windowId);
    error LengthMismatch(uint256 prosumers, uint256 importedWh, uint256 exportedWh);
    error ReadingOutOfRange(address prosumer, uint256 importedWh, uint256 exportedWh);
    error TradeIndexOutOfRange(uint256 windowId, uint256 index, uint256 tradeCount);
    error InvalidPerformData();
    error UpkeepNotNeeded(UpkeepAction action, uint256 windowId);
    /// @notice The prosumer placed the most orders allowed in one window (`MAX_PLACEMENTS_PER_WINDOW`).
    error PlacementLimitReached(uint256 windowId, address prosumer, uint256 maxPlacements);
    /// @notice The place of the new order is more than `MAX_HINT_WALK` nodes past every start the hint gives (the
    /// hinted prosumer's nodes that precede it on that side, else the head); nothing was placed. `findHint`
    /// answers a hint that needs no walk.
    error HintTooFar(uint256 windowId, address hintPrev);
    /// @notice The signature is not the prosumer's (ECDSA or ERC-1271) for this typed data and domain.
    error InvalidSignature(address prosumer);
    /// @notice The signed nonce is not the one expected (`orderNonce`, or `orderNonce - 1` for a cancel).
    error InvalidNonce(address prosumer, uint256 expected, uint256 given);

    /// @notice Length of a market window in seconds.
    function windowDuration() external view returns (uint256);

    /// @notice Grace period after which settlement may start without every reading. It counts from the end of
    /// delivery (`w + 2d`), or from the clearing when the window was closed later than that.
    function settlementGrace() external view returns (uint256);

    /// @notice Start of the window holding `block.timestamp`.
    function currentWindow() external view returns (uint256);

    /// @notice Opens `currentWindow()` for orders. Anyone may call.
    /// @return windowId The window opened.
    function openWindow() external returns (uint256 windowId);

    /// @notice Places the caller's order in an open window.
    /// @param hintPrev The prosumer whose order should come just before on that side, or address(0) for the
    /// head. A correct hint makes insertion O(1); from the hint (or the head) the order's place is looked for at
    /// most `MAX_HINT_WALK` nodes further, else `HintTooFar` (bounded gas, never a wrong place).
    function placeOrder(uint256 windowId, Side side, uint256 energyWh, uint256 pricePerKWh, address hintPrev)
        external;

    /// @notice Places orders signed by their prosumers (EIP-712), in array order. Anyone may call. Each order is
    /// checked like `placeOrder`, plus its nonce (`orderNonce`) and signature; one that fails is skipped with
    /// `SignedOrderRejected`. Never reverts for one bad order.
    /// @return placed How many orders were placed.
    function placeOrdersBySig(SignedOrder[] calldata orders) external returns (uint256 placed);

    /// @notice Cancels the live order of `prosumer` by its signed EIP-712 `Cancel` (`nonce`: that of the order,
    /// `orderNonce - 1`). Anyone may call. Reverts with a named error when anything is wrong.
    function cancelOrderBySig(address prosumer, uint256 windowId, uint256 nonce, bytes calldata signature)
        external;

    /// @notice Cancels the caller's live order while the window is open; a new order may then be placed.
    function cancelOrder(uint256 windowId) external;

    /// @notice The `hintPrev` for an order at `pricePerKWh` on `side` placed now (address(0): the head): the owner
    /// of the last node (live or cancelled) before its place, so `placeOrder` needs no walk.
    /// @dev O(book size); meant for off-chain callers.
    function findHint(uint256 windowId, Side side, uint256 pricePerKWh)
        external
        view
        returns (address hintPrev);

    /// @notice Runs at most `maxSteps` matches of the clearing walk of a window that has ended; resumable.
    /// @dev Gas is bounded by a constant plus `maxSteps` times a per-trade bound. Anyone may call.
    /// @return done True once the clearing price is fixed and `WindowCleared` was emitted.
    function closeWindow(uint256 windowId, uint256 maxSteps) external returns (bool done);

    /// @notice Records the measured import and export of prosumers for the delivery hour of `windowId`.
    /// @dev Oracle only; once the window is cleared and from `windowId + 2d` until settlement starts. A later
    /// call overwrites a reading. An entry of an account that never registered, or with a value above
    /// `MAX_ENERGY_WH`, is skipped with `MeterReadingRejected`; the others are stored.
    function submitMeterReadings(
        uint256 windowId,
        address[] calldata prosumers,
        uint256[] calldata importedWh,
        uint256[] calldata exportedWh
    ) external;

    /// @notice Settles at most `maxSteps` trades of a cleared window in trade order; resumable.
    /// @dev From `max(w + 2d, clearedAt)` once every trader has a reading, else from that time plus
    /// `settlementGrace`. Anyone may call.
    /// @return done True once every trade is settled and `WindowSettled` was emitted.
    function settleWindow(uint256 windowId, uint256 maxSteps) external returns (bool done);

    /// @notice State of a window.
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
        );

    /// @notice The order of `prosumer` in `windowId` (live false: none, or cancelled).
    function getOrder(uint256 windowId, address prosumer)
        external
        view
        returns (Side side, uint256 energyWh, uint256 pricePerKWh, uint256 filledWh, bool live);

    /// @notice Trade number `index` of `windowId`, in walk order.
    function getTrade(uint256 windowId, uint256 index)
        external
        view
        returns (address buyer, address seller, uint256 energyWh, TradeStatus status, RejectReason reason);

    /// @notice Up to `limit` live orders of one side in book order (best price first, then time), skipping
    /// the first `offset`.
    function getBook(uint256 windowId, Side side, uint256 offset, uint256 limit)
        external
        view
        returns (address[] memory prosumers);

    /// @notice The number of orders `prosumer` has placed in `windowId` so far, cancelled ones included: the
    /// nonce of its next signed order in that window (0 before the first).
    function orderNonce(uint256 windowId, address prosumer) external view returns (uint256);

    /// @notice The meter reading of `prosumer` for the delivery hour of `windowId`.
    function getReading(uint256 windowId, address prosumer)
        external
        view
        returns (bool submitted, uint256 importedWh, uint256 exportedWh);
}
