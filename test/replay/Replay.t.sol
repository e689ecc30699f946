// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EnergyMarket} from "../../src/EnergyMarket.sol";
import {EnergyToken} from "../../src/EnergyToken.sol";
import {ProsumerRegistry} from "../../src/ProsumerRegistry.sol";
import {IEnergyMarket} from "../../src/interfaces/IEnergyMarket.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {Test, console2} from "forge-std/Test.sol";

/// @notice Auditor replay: re-executes every window of an event export on a fresh market and asserts the
/// same clearing price, trades, statuses, reasons and token movements as recorded.
/// Run: make replay FILE=export.json (the export is turned into a plan by keeper/scripts/replay-plan.ts).
/// Reports per window what it checked, one `window <id>: ...` log line per fact (shown with -vv).
/// Signed orders: a placed one is an `OrderPlaced` like any other (replayed with `placeOrder`); a rejected one
/// (`SignedOrderRejected`) is never placed, and what the replayed book can tell about its reason is re-checked
/// (`_checkRejection`, docs/auditors.md).
contract ReplayTest is Test {
    uint8 internal constant PLACE = 0;
    uint8 internal constant CANCEL = 1;
    uint8 internal constant REJECTED = 2;

    struct Action {
        uint8 kind; // PLACE, CANCEL or REJECTED (a signed order that was skipped)
        address prosumer;
        uint8 side;
        uint256 energyWh;
        uint256 price;
        uint256 nonce; // REJECTED: the nonce the order was signed with
        bytes4 reason; // REJECTED: the selector of the error that made the market skip it
        bool beforeOpen; // REJECTED: recorded before the window's WindowOpened
    }

    struct Reading {
        address prosumer;
        uint256 importWh;
        uint256 exportWh;
    }

    struct Funds {
        address buyer;
        uint256 balance;
        uint256 allowance;
    }

    struct Trade {
        address buyer;
        address seller;
        uint256 energyWh;
        uint8 status;
        uint8 reason;
        uint256 cost;
    }

    struct WindowPlan {
        uint256 windowId;
        bool opened;
        Action[] actions;
        Reading[] readings;
        Funds[] funds;
        bool cleared;
        uint256 clearingPrice;
        uint256 clearedEnergyWh;
        uint256 tradeCount;
        Trade[] trades;
        bool settled;
        uint256 acceptedCount;
        uint256 rejectedCount;
    }

    struct Plan {
        uint256 windowDuration;
        uint256 settlementGrace;
        address[] prosumers;
        uint256[] ids;
        WindowPlan[] windows;
    }

    address internal admin = makeAddr("replay-admin");
    EnergyToken internal token;
    ProsumerRegistry internal registry;
    EnergyMarket internal market;

    function test_replay_export() public {
        string memory file = vm.envOr("REPLAY_FILE", string(""));
        if (bytes(file).length == 0) vm.skip(true);
        string[] memory cmd = new string[](5);
        (cmd[0], cmd[1], cmd[2], cmd[3], cmd[4]) =
        ("node", "--import", "tsx", "keeper/scripts/replay-plan.ts", file);
        Plan memory plan = abi.decode(vm.ffi(cmd), (Plan));
        assertGt(plan.windows.length, 0, "export holds no window");

        token = new EnergyToken(admin);
        registry = new ProsumerRegistry(admin);
        market = new EnergyMarket(token, registry, plan.windowDuration, plan.settlementGrace, admin);
        vm.startPrank(admin);
        for (uint256 i; i < plan.prosumers.length; ++i) {
            registry.register(plan.prosumers[i], plan.ids[i]);
        }
        vm.stopPrank();

        for (uint256 i; i < plan.windows.length; ++i) {
            _replayWindow(plan.windows[i], plan.windowDuration);
        }
    }

    function _replayWindow(WindowPlan memory w, uint256 d) internal {
        string memory label = string.concat("window ", vm.toString(w.windowId), ": ");
        if (!w.opened) {
            // Only signed orders for a window that was never opened (in the export) can name it.
            assertTrue(!w.cleared && !w.settled, string.concat(label, "export must start at WindowOpened"));
            console2.log(
                string.concat(label, "not opened, signed orders rejected ", vm.toString(w.actions.length))
            );
            for (uint256 i; i < w.actions.length; ++i) {
                assertEq(
                    w.actions[i].kind, REJECTED, string.concat(label, "export must start at WindowOpened")
                );
                _checkRejection(w.windowId, w.actions[i], false, label);
            }
            return;
        }
        vm.warp(w.windowId);
        assertEq(market.openWindow(), w.windowId, string.concat(label, "window id"));
        _logActions(w.actions, label);
        // Set by a rejection that says ordering was over (WindowNotOpen after the opening, OrderingClosed).
        bool orderingOver;
        for (uint256 i; i < w.actions.length; ++i) {
            Action memory a = w.actions[i];
            if (a.kind == REJECTED) {
                orderingOver = _checkRejection(w.windowId, a, true, label) || orderingOver;
                continue;
            }
            assertFalse(
                orderingOver,
                string.concat(
                    label, "an order placed or cancelled after a rejection for WindowNotOpen/OrderingClosed"
                )
            );
            if (a.kind == PLACE) {
                IEnergyMarket.Side side = IEnergyMarket.Side(a.side);
                address hint = market.findHint(w.windowId, side, a.price);
                vm.prank(a.prosumer);
                market.placeOrder(w.windowId, side, a.energyWh, a.price, hint);
            } else {
                vm.prank(a.prosumer);
                market.cancelOrder(w.windowId);
            }
        }
        if (!w.cleared) return;

        vm.warp(w.windowId + d);
        market.closeWindow(w.windowId, type(uint256).max);
        (, uint256 price, uint256 cleared,, uint256 tradeCount,) = market.getWindow(w.windowId);
        assertEq(price, w.clearingPrice, string.concat(label, "clearing price"));
        assertEq(cleared, w.clearedEnergyWh, string.concat(label, "cleared energy"));
        assertEq(tradeCount, w.tradeCount, string.concat(label, "trade count"));
        assertEq(tradeCount, w.trades.length, string.concat(label, "recorded trades"));
        console2.log(
            string.concat(
                label,
                "cleared at price ",
                vm.toString(price),
                ", ",
                vm.toString(cleared),
                " Wh in ",
                vm.toString(tradeCount),
                " trades"
            )
        );
        for (uint256 t; t < tradeCount; ++t) {
            (address buyer, address seller, uint256 energy,,) = market.getTrade(w.windowId, t);
            string memory trade = string.concat(label, "trade ", vm.toString(t));
            assertEq(buyer, w.trades[t].buyer, string.concat(label, "buyer of trade ", vm.toString(t)));
            assertEq(seller, w.trades[t].seller, string.concat(label, "seller of trade ", vm.toString(t)));
            assertEq(energy, w.trades[t].energyWh, string.concat(label, "energy of trade ", vm.toString(t)));
            console2.log(
                string.concat(
                    trade,
                    ": ",
                    vm.toString(buyer),
                    " <- ",
                    vm.toString(seller),
                    " ",
                    vm.toString(energy),
                    " Wh"
                )
            );
        }
        if (!w.settled) return;

        vm.warp(w.windowId + 2 * d);
        if (w.readings.length > 0) {
            address[] memory who = new address[](w.readings.length);
            uint256[] memory imported = new uint256[](w.readings.length);
            uint256[] memory exported = new uint256[](w.readings.length);
            for (uint256 i; i < w.readings.length; ++i) {
                (who[i], imported[i], exported[i]) =
                (w.readings[i].prosumer, w.readings[i].importWh, w.readings[i].exportWh);
            }
            vm.prank(admin);
            market.submitMeterReadings(w.windowId, who, imported, exported);
        }
        for (uint256 i; i < w.funds.length; ++i) {
            deal(address(token), w.funds[i].buyer, w.funds[i].balance, true);
            vm.prank(w.funds[i].buyer);
            token.approve(address(market), w.funds[i].allowance);
        }
        console2.log(
            string.concat(
                label,
                vm.toString(w.readings.length),
                " readings, funds of ",
                vm.toString(w.funds.length),
                " buyers"
            )
        );
        vm.warp(market.settleReadyAt(w.windowId));
        _settleAndCompare(w, label);
    }

    /// @dev The report's line of a window's orders: placed, cancelled and rejected signed orders.
    function _logActions(Action[] memory actions, string memory label) internal pure {
        uint256[3] memory count;
        for (uint256 i; i < actions.length; ++i) {
            ++count[actions[i].kind];
        }
        console2.log(
            string.concat(
                label,
                "orders placed ",
                vm.toString(count[PLACE]),
                ", cancelled ",
                vm.toString(count[CANCEL]),
                ", signed orders rejected ",
                vm.toString(count[REJECTED])
            )
        );
    }

    /// @dev The report's line of a rejected signed order; `rechecked`: the replay could test its reason.
    function _logRejection(Action memory a, string memory label, bool rechecked) internal pure {
        console2.log(
            string.concat(
                label,
                "rejected signed order of ",
                vm.toString(a.prosumer),
                ": nonce ",
                vm.toString(a.nonce),
                ", reason ",
                _reasonName(a.reason),
                rechecked ? " (re-checked)" : " (a known reason, not re-checked)"
            )
        );
    }

    /// @dev The name of a selector `placeOrdersBySig` can name (its hex form for any other).
    function _reasonName(bytes4 r) internal pure returns (string memory) {
        if (r == bytes4(0)) return "(side neither Buy nor Sell)";
        if (r == IEnergyMarket.ZeroEnergy.selector) return "ZeroEnergy";
        if (r == IEnergyMarket.EnergyOutOfRange.selector) return "EnergyOutOfRange";
        if (r == IEnergyMarket.ZeroPrice.selector) return "ZeroPrice";
        if (r == IEnergyMarket.PriceOutOfRange.selector) return "PriceOutOfRange";
        if (r == IEnergyMarket.WindowNotOpen.selector) return "WindowNotOpen";
        if (r == IEnergyMarket.OrderingClosed.selector) return "OrderingClosed";
        if (r == Pausable.EnforcedPause.selector) return "EnforcedPause";
        if (r == IEnergyMarket.NotRegistered.selector) return "NotRegistered";
        if (r == IEnergyMarket.AlreadyHasOrder.selector) return "AlreadyHasOrder";
        if (r == IEnergyMarket.PlacementLimitReached.selector) return "PlacementLimitReached";
        if (r == IEnergyMarket.InvalidNonce.selector) return "InvalidNonce";
        if (r == IEnergyMarket.InvalidSignature.selector) return "InvalidSignature";
        if (r == IEnergyMarket.HintTooFar.selector) return "HintTooFar";
        return vm.toString(abi.encodePacked(r));
    }

    /// @dev A rejected signed order (`SignedOrderRejected`) at its place in the replay: it is never placed. Its
    /// reason must be one of the selectors the market can name, in the order of its checks (`placeOrdersBySig`):
    /// 0x00000000 (a side that is neither Buy nor Sell), ZeroEnergy, EnergyOutOfRange, ZeroPrice, PriceOutOfRange,
    /// WindowNotOpen, OrderingClosed, EnforcedPause, NotRegistered, AlreadyHasOrder, PlacementLimitReached,
    /// InvalidNonce, InvalidSignature, HintTooFar. Re-checked against the replayed book where it can tell (`windowOpen`: the
    /// window is open in the replay and the rejection came after WindowOpened):
    /// - before WindowOpened (or in a window never opened) only a field check or WindowNotOpen can fail;
    /// - AlreadyHasOrder: the prosumer has a live order;
    /// - PlacementLimitReached: it has none and has used every placement;
    /// - InvalidNonce: it has none, and the signed nonce is not `orderNonce`;
    /// - InvalidSignature and HintTooFar: it has none, and the signed nonce is `orderNonce` (the nonce is checked
    ///   first; the hint is not in the export, so how far it was is not re-checked);
    /// - all five: the prosumer has a prosumer ID (registration is checked before them);
    /// - WindowNotOpen (after the opening) and OrderingClosed: ordering was over (returns true: no order may be
    ///   placed or cancelled after it).
    /// The signed fields, the signature, pauses and registrations are not in the export: the field errors,
    /// EnforcedPause and NotRegistered are checked for being known selectors only.
    function _checkRejection(uint256 windowId, Action memory a, bool windowOpen, string memory label)
        internal
        view
        returns (bool orderingOver)
    {
        bytes4 r = a.reason;
        string memory what = string.concat(
            label, "rejected signed order of ", vm.toString(a.prosumer), " (", vm.toString(r), "): "
        );
        bool fieldError = r == bytes4(0) || r == IEnergyMarket.ZeroEnergy.selector
            || r == IEnergyMarket.EnergyOutOfRange.selector || r == IEnergyMarket.ZeroPrice.selector
            || r == IEnergyMarket.PriceOutOfRange.selector;
        bool known = fieldError || r == IEnergyMarket.WindowNotOpen.selector
            || r == IEnergyMarket.OrderingClosed.selector || r == Pausable.EnforcedPause.selector
            || r == IEnergyMarket.NotRegistered.selector || r == IEnergyMarket.AlreadyHasOrder.selector
            || r == IEnergyMarket.PlacementLimitReached.selector || r == IEnergyMarket.InvalidNonce.selector
            || r == IEnergyMarket.InvalidSignature.selector || r == IEnergyMarket.HintTooFar.selector;
        assertTrue(known, string.concat(what, "unknown reason"));
        if (!windowOpen || a.beforeOpen) {
            assertTrue(
                fieldError || r == IEnergyMarket.WindowNotOpen.selector,
                string.concat(
                    what, "before the window was opened only a field check or WindowNotOpen can fail"
                )
            );
            _logRejection(a, label, r == IEnergyMarket.WindowNotOpen.selector);
            return false;
        }
        if (r == IEnergyMarket.WindowNotOpen.selector || r == IEnergyMarket.OrderingClosed.selector) {
            _logRejection(a, label, true);
            return true;
        }
        bool pastRegistration = r == IEnergyMarket.AlreadyHasOrder.selector
            || r == IEnergyMarket.PlacementLimitReached.selector || r == IEnergyMarket.InvalidNonce.selector
            || r == IEnergyMarket.InvalidSignature.selector || r == IEnergyMarket.HintTooFar.selector;
        // These come after the registration check: the prosumer had an ID (the replay registers every such one).
        if (pastRegistration) {
            assertTrue(
                registry.isRegistered(a.prosumer), string.concat(what, "the prosumer has no prosumer ID")
            );
        }
        (,,,, bool live) = market.getOrder(windowId, a.prosumer);
        uint256 placements = market.orderNonce(windowId, a.prosumer);
        if (r == IEnergyMarket.AlreadyHasOrder.selector) {
            assertTrue(live, string.concat(what, "the prosumer has no live order in the replayed book"));
        } else if (r == IEnergyMarket.PlacementLimitReached.selector) {
            assertFalse(live, string.concat(what, "the prosumer has a live order in the replayed book"));
            assertEq(
                placements,
                market.MAX_PLACEMENTS_PER_WINDOW(),
                string.concat(what, "placements left in the replay")
            );
        } else if (r == IEnergyMarket.InvalidNonce.selector) {
            assertFalse(live, string.concat(what, "the prosumer has a live order in the replayed book"));
            assertLt(placements, market.MAX_PLACEMENTS_PER_WINDOW(), string.concat(what, "no placement left"));
            assertNotEq(
                a.nonce, placements, string.concat(what, "the signed nonce is the replayed orderNonce")
            );
        } else if (r == IEnergyMarket.InvalidSignature.selector || r == IEnergyMarket.HintTooFar.selector) {
            assertFalse(live, string.concat(what, "the prosumer has a live order in the replayed book"));
            assertLt(placements, market.MAX_PLACEMENTS_PER_WINDOW(), string.concat(what, "no placement left"));
            assertEq(
                a.nonce, placements, string.concat(what, "the signed nonce is not the replayed orderNonce")
            );
        }
        _logRejection(a, label, pastRegistration);
    }

    function _settleAndCompare(WindowPlan memory w, string memory label) internal {
        int256[] memory expectedDelta = new int256[](2 * w.trades.length);
        address[] memory parties = new address[](2 * w.trades.length);
        int256[] memory before = new int256[](2 * w.trades.length);
        for (uint256 t; t < w.trades.length; ++t) {
            (parties[2 * t], parties[2 * t + 1]) = (w.trades[t].buyer, w.trades[t].seller);
        }
        for (uint256 i; i < parties.length; ++i) {
            before[i] = int256(token.balanceOf(parties[i]));
        }

        market.settleWindow(w.windowId, type(uint256).max);
        uint256 accepted;
        for (uint256 t; t < w.trades.length; ++t) {
            (,,, IEnergyMarket.TradeStatus status, IEnergyMarket.RejectReason reason) =
                market.getTrade(w.windowId, t);
            assertEq(
                uint8(status), w.trades[t].status, string.concat(label, "status of trade ", vm.toString(t))
            );
            assertEq(
                uint8(reason), w.trades[t].reason, string.concat(label, "reason of trade ", vm.toString(t))
            );
            if (status == IEnergyMarket.TradeStatus.Accepted) {
                ++accepted;
                int256 cost = int256(w.trades[t].cost);
                // Every occurrence of a party gets the movement; each party is counted once below.
                for (uint256 i; i < parties.length; ++i) {
                    if (parties[i] == w.trades[t].buyer) expectedDelta[i] -= cost;
                    if (parties[i] == w.trades[t].seller) expectedDelta[i] += cost;
                }
            } else {
                assertEq(w.trades[t].cost, 0, string.concat(label, "a rejected trade records no cost"));
            }
            console2.log(
                string.concat(
                    label,
                    "trade ",
                    vm.toString(t),
                    ": ",
                    _outcome(status, reason),
                    ", cost ",
                    vm.toString(w.trades[t].cost)
                )
            );
        }
        assertEq(accepted, w.acceptedCount, string.concat(label, "accepted count"));
        assertEq(w.trades.length - accepted, w.rejectedCount, string.concat(label, "rejected count"));
        console2.log(
            string.concat(
                label,
                "settled: ",
                vm.toString(accepted),
                " accepted, ",
                vm.toString(w.rejectedCount),
                " rejected"
            )
        );
        for (uint256 i; i < parties.length; ++i) {
            string memory movement = string.concat(label, "token movement of ", vm.toString(parties[i]));
            assertEq(int256(token.balanceOf(parties[i])) - before[i], expectedDelta[i], movement);
            if (_firstOccurrence(parties, i)) {
                console2.log(string.concat(movement, ": ", vm.toString(expectedDelta[i])));
            }
        }
    }

    /// @dev `Accepted`, or `Rejected (<reason>)`.
    function _outcome(IEnergyMarket.TradeStatus status, IEnergyMarket.RejectReason reason)
        internal
        pure
        returns (string memory)
    {
        if (status == IEnergyMarket.TradeStatus.Accepted) return "Accepted";
        if (status == IEnergyMarket.TradeStatus.Pending) return "Pending";
        string[5] memory reasons =
            ["None", "MissingReading", "SellerShortfall", "BuyerShortfall", "InsufficientFunds"];
        return string.concat("Rejected (", reasons[uint8(reason)], ")");
    }

    /// @dev Whether `list[i]` does not occur before index i (the report names each party once).
    function _firstOccurrence(address[] memory list, uint256 i) internal pure returns (bool) {
        for (uint256 k; k < i; ++k) {
            if (list[k] == list[i]) return false;
        }
        return true;
    }
}
