// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyMarket} from "../../src/interfaces/IEnergyMarket.sol";
import {MarketFixture} from "../utils/MarketFixture.sol";
import {MarketHandler} from "./MarketHandler.sol";

/// @notice Invariants of the market over random lifecycles (see docs/protocol.md, "Invariants"):
/// 1. each side of an open book is sorted by price, equal prices in placement order;
/// 2. every trade is at or inside both limits: bid price >= clearing price >= ask price;
/// 3. no order is filled beyond its energy;
/// 4. total bought = total sold = cleared energy, and the trades add up to it;
/// 5. one live order per prosumer per window (the book holds exactly `orderCount` distinct orders);
/// 6. no window status goes backwards; 7. settlement never starts before w + 2d;
/// 8. readings never change once settlement started; 9. each trade is settled exactly once;
/// 10. accepted trades move exactly their cost, rejected ones nothing; 11. the token supply is conserved;
/// 12. every settled trade has the outcome the settlement rule gives from the readings, the energy accepted
///     before it and the buyer's balance and allowance: a trade whose seller delivered and whose buyer
///     consumed and had the funds is Accepted, also when either has been deregistered since;
/// 13. settleReadyAt(w) = max(w + 2d, clearedAt) (+ grace unless every trader has a reading): a late close
///     restarts the grace, and no trade is rejected MissingReading before that grace is over;
/// 14. checkUpkeep proposes opening the current window whenever it does not exist, else the oldest due close,
///     else the oldest ready settlement; performUpkeep with at least 300k gas never reverts and always makes
///     progress; after an outage one upkeep cycle (perform until nothing is due) ends in a bounded number of
///     performs with every ended window cleared and every ready window settled;
/// 15. a readings batch stores every good entry (deregistered prosumers included) and skips each bad one
///     (unregistered account, value out of range) with MeterReadingRejected; a deregistered prosumer's
///     order reverts NotRegistered;
/// 16. once a window is settled, nothing the market tells about it changes;
/// 17. every signed order of a relayed batch is either placed (`OrderPlaced`) or skipped with exactly one
///     `SignedOrderRejected` naming the predicted reason (the selector `placeOrder` would have raised, or
///     `InvalidNonce`/`InvalidSignature`/`HintTooFar`, in the documented check order), in array order, and
///     the batch returns the number placed; a signed cancel takes effect exactly when predicted, else reverts
///     with the predicted error (wrong nonce, another key, replay, no live order, window closed);
/// 18. `orderNonce(w, p)` equals the placements of `p` in `w` seen (direct and signed); each side of an open
///     book is exactly the live part of a node-level model (every placement, tombstones included) and
///     `findHint` names that model's last preceding node; `placeOrder` reverts `PlacementLimitReached` and
///     `HintTooFar` exactly when the model says so.
/// The handler checks 6-10 and 12-15 on every call, 17 and 18 on every call that changes a book (ghost
/// `violations`); this contract checks the rest.
/// All checks share one campaign: every `invariant_*` function costs a campaign of its own.
contract MarketInvariantsTest is MarketFixture {
    uint256 internal constant ACTORS = 24;
    /// @dev Depth floor, averaged over the runs of a campaign (from the 8th run on): trades cleared and
    /// settled per run. Measured with the default profile: see docs/protocol.md, "Invariants".
    uint256 internal constant MIN_TRADES_SETTLED_PER_RUN = 30;

    MarketHandler internal handler;
    uint256 internal supply;

    function setUp() public override {
        super.setUp();
        address[] memory actors = new address[](ACTORS);
        uint256[] memory keys = new uint256[](ACTORS);
        for (uint256 i; i < ACTORS; ++i) {
            // Named as `_prosumers` names them; the key lets the actor sign orders and cancels.
            (actors[i], keys[i]) = makeAddrAndKey(string.concat("p", vm.toString(nextProsumerId)));
            vm.prank(admin);
            registry.register(actors[i], nextProsumerId++);
        }
        for (uint256 i; i < ACTORS; ++i) {
            // Some actors are short of funds or allowance, so InsufficientFunds happens.
            vm.prank(admin);
            token.mint(actors[i], (i % 3 == 0 ? 3 : 1000) * TOKEN);
            vm.prank(actors[i]);
            token.approve(address(market), i % 4 == 1 ? 2 * TOKEN : type(uint256).max);
        }
        supply = token.totalSupply();
        handler = new MarketHandler(market, token, registry, admin, actors, keys);
        targetContract(address(handler));
    }

    function invariant_market() public view {
        assertEq(handler.violations(), 0, handler.lastViolation());
        _checkSupply();
        (IEnergyMarket.UpkeepAction action, uint256 w) = handler.expectedUpkeep();
        (bool needed, bytes memory data) = market.checkUpkeep("");
        assertEq(data, abi.encode(action, w, uint256(0)), "14: checkUpkeep proposes the due action");
        assertEq(needed, action != IEnergyMarket.UpkeepAction.None, "14: upkeepNeeded");
        uint256 count = handler.windowCount();
        for (uint256 i = handler.firstActive(); i < count; ++i) {
            w = handler.windows(i);
            IEnergyMarket.WindowStatus status = _status(w);
            if (status == IEnergyMarket.WindowStatus.Open) {
                _assertSorted(w, BUY);
                _assertSorted(w, SELL);
            }
            if (status == IEnergyMarket.WindowStatus.Settled) continue; // 16, checked in afterInvariant
            _checkOrders(w, status);
            _checkTrades(w, status);
            if (status == IEnergyMarket.WindowStatus.Cleared) {
                assertEq(market.settleReadyAt(w), handler.expectedReadyAt(w), "13: settleReadyAt");
            }
        }
    }

    function _assertSorted(uint256 w, IEnergyMarket.Side side) internal view {
        address[] memory list = _book(w, side);
        for (uint256 k = 1; k < list.length; ++k) {
            (IEnergyMarket.Side s0,, uint256 p0,, bool live0) = market.getOrder(w, list[k - 1]);
            (IEnergyMarket.Side s1,, uint256 p1,, bool live1) = market.getOrder(w, list[k]);
            assertTrue(live0 && live1, "1: only live orders in the book");
            assertEq(uint8(s0), uint8(side), "1: side");
            assertEq(uint8(s1), uint8(side), "1: side");
            if (p0 == p1) {
                assertLt(
                    handler.placementSeq(w, list[k - 1]), handler.placementSeq(w, list[k]), "1: time priority"
                );
            } else if (side == BUY) {
                assertGt(p0, p1, "1: bids descending");
            } else {
                assertLt(p0, p1, "1: asks ascending");
            }
        }
    }

    /// @dev 3, 4 (fills), 5.
    function _checkOrders(uint256 w, IEnergyMarket.WindowStatus status) internal view {
        (,, uint256 cleared, uint256 orderCount,,) = market.getWindow(w);
        uint256 live;
        uint256 bought;
        uint256 sold;
        for (uint256 a; a < ACTORS; ++a) {
            (IEnergyMarket.Side side, uint256 energy,, uint256 filled, bool isLive) =
                market.getOrder(w, handler.actors(a));
            if (isLive) ++live;
            assertLe(filled, energy, "3: filled within energy");
            if (side == BUY) bought += filled;
            else sold += filled;
        }
        assertEq(live, orderCount, "5: order count = live orders");
        if (status == IEnergyMarket.WindowStatus.Open) {
            assertEq(
                _book(w, BUY).length + _book(w, SELL).length,
                orderCount,
                "5: book holds every live order once"
            );
        }
        assertEq(bought, sold, "4: bought = sold");
        if (status >= IEnergyMarket.WindowStatus.Cleared) assertEq(cleared, bought, "4: cleared = bought");
    }

    /// @dev 2, 4 (trades).
    function _checkTrades(uint256 w, IEnergyMarket.WindowStatus status) internal view {
        (, uint256 price, uint256 cleared,, uint256 tradeCount,) = market.getWindow(w);
        uint256 traded;
        for (uint256 t; t < tradeCount; ++t) {
            (address buyer, address seller, uint256 energy,,) = market.getTrade(w, t);
            traded += energy;
            (,, uint256 bidPrice,,) = market.getOrder(w, buyer);
            (,, uint256 askPrice,,) = market.getOrder(w, seller);
            assertGe(bidPrice, askPrice, "2: trade crosses");
            if (status >= IEnergyMarket.WindowStatus.Cleared) {
                assertGe(bidPrice, price, "2: bid price >= clearing price");
                assertGe(price, askPrice, "2: clearing price >= ask price");
            }
        }
        if (status >= IEnergyMarket.WindowStatus.Cleared) assertEq(traded, cleared, "4: trades add up");
    }

    /// @dev 11.
    function _checkSupply() internal view {
        assertEq(token.totalSupply(), supply, "11: supply");
        uint256 sum;
        for (uint256 a; a < ACTORS; ++a) {
            sum += token.balanceOf(handler.actors(a));
        }
        assertEq(sum, supply, "11: balances add up to the supply");
    }

    // ------------------------------------------------------------ depth

    /// @dev What the runs reach, summed over the campaign (kept in the process environment, the only state
    /// that outlives a run) and logged; `forge test -vv` prints the totals after the last run.
    function _counters() internal pure returns (string[48] memory) {
        return [
            "ordersPlaced",
            "bursts",
            "ordersRefusedNotRegistered",
            "ordersRefusedPlacementLimit",
            "ordersRefusedHintTooFar",
            "callsPlaceOrdersBySig",
            "callsCancelOrderBySig",
            "callsReplaceBySig",
            "signedBatches",
            "signedPlaced",
            "signedRejected",
            "signedRejectedInvalidSignature",
            "signedRejectedInvalidNonce",
            "signedRejectedAlreadyHasOrder",
            "signedRejectedPlacementLimit",
            "signedRejectedHintTooFar",
            "signedRejectedNotRegistered",
            "signedRejectedWindow",
            "signedRejectedFields",
            "signedCancels",
            "signedCancelsRefused",
            "windowsCleared",
            "tradesCleared",
            "windowsSettled",
            "tradesSettled",
            "accepted",
            "rejectedMissingReading",
            "rejectedSellerShortfall",
            "rejectedBuyerShortfall",
            "rejectedInsufficientFunds",
            "lateCloses",
            "keeperOutages",
            "upkeepCycles",
            "upkeepPerforms",
            "upkeepOutOfGas",
            "upkeepBatchesCutByGas",
            "settleWithLittleGas",
            "settleOutOfGas",
            "deregistrations",
            "reregistrations",
            "readingsBatches",
            "readingsRejected",
            "settledWithDeregisteredParty",
            "paidDeregisteredSeller",
            "cancels",
            "cancelsRefused",
            "replaceRuns",
            "bookChecks"
        ];
    }

    function afterInvariant() external {
        assertTrue(handler.settledUnchanged(), "16: a settled window changed");
        uint256 runs = _accumulate("runs", 1);
        emit log_named_uint("campaign runs", runs);
        string[48] memory counters = _counters();
        for (uint256 i; i < counters.length; ++i) {
            emit log_named_uint(counters[i], _accumulate(counters[i], handler.counts(counters[i])));
        }
        emit log_named_uint("windows (last run)", handler.windowCount());
        emit log_named_uint("trades cleared per run (average)", _accumulate("tradesCleared", 0) / runs);
        emit log_named_uint("trades settled per run (average)", _accumulate("tradesSettled", 0) / runs);
        emit log_named_uint("accepted per run (average)", _accumulate("accepted", 0) / runs);
        emit log_named_uint("signed orders placed per run (average)", _accumulate("signedPlaced", 0) / runs);
        emit log_named_uint(
            "signed orders rejected per run (average)", _accumulate("signedRejected", 0) / runs
        );
        if (runs >= 8) {
            assertGe(
                _accumulate("tradesSettled", 0) / runs,
                MIN_TRADES_SETTLED_PER_RUN,
                "depth: trades settled per run"
            );
            assertGe(
                _accumulate("tradesCleared", 0) / runs,
                MIN_TRADES_SETTLED_PER_RUN,
                "depth: trades cleared per run"
            );
            string[14] memory reached = [
                "lateCloses",
                "keeperOutages",
                "upkeepPerforms",
                "deregistrations",
                "readingsRejected",
                "paidDeregisteredSeller",
                "signedPlaced",
                "signedRejectedInvalidSignature",
                "signedRejectedInvalidNonce",
                "signedRejectedAlreadyHasOrder",
                "signedCancels",
                "signedCancelsRefused",
                "ordersRefusedPlacementLimit",
                "signedRejectedPlacementLimit"
            ];
            for (uint256 i; i < reached.length; ++i) {
                assertGt(_accumulate(reached[i], 0), 0, string.concat("depth: never reached ", reached[i]));
            }
        }
    }

    function _accumulate(string memory name, uint256 add) internal returns (uint256 total) {
        string memory key = string.concat("MARKET_INVARIANT_", name);
        total = vm.envOr(key, uint256(0)) + add;
        if (add != 0) vm.setEnv(key, vm.toString(total));
    }
}
