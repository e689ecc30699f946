// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EnergyMarket} from "../../src/EnergyMarket.sol";
import {IEnergyMarket} from "../../src/interfaces/IEnergyMarket.sol";
import {MarketFixture} from "../utils/MarketFixture.sol";
import {MisbehavingToken} from "../utils/MisbehavingToken.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

/// @notice Meter readings and the settlement rule, with the spec's example to the wei.
contract SettlementTest is MarketFixture {
    event MeterReadingSubmitted(
        uint256 indexed windowId, address indexed prosumer, uint256 importedWh, uint256 exportedWh
    );
    event TradeSettled(
        uint256 indexed windowId,
        uint256 indexed tradeIndex,
        IEnergyMarket.TradeStatus status,
        IEnergyMarket.RejectReason reason,
        uint256 cost
    );
    event WindowSettled(uint256 indexed windowId, uint256 acceptedCount, uint256 rejectedCount);
    event MeterReadingRejected(uint256 indexed windowId, address indexed prosumer, bytes4 reason);

    IEnergyMarket.TradeStatus internal constant ACCEPTED = IEnergyMarket.TradeStatus.Accepted;
    IEnergyMarket.TradeStatus internal constant REJECTED = IEnergyMarket.TradeStatus.Rejected;

    address internal a;
    address internal b;
    address internal s1;
    address internal s2;

    function setUp() public override {
        super.setUp();
        a = _prosumer("A");
        b = _prosumer("B");
        s1 = _prosumer("S1");
        s2 = _prosumer("S2");
    }

    /// @dev The spec's worked example, reduced to the orders that trade plus one that does not.
    function _specWindow() internal returns (uint256 w) {
        w = _open();
        _place(w, a, BUY, 7 * KWH, 25 * TOKEN);
        _place(w, b, BUY, 7 * KWH, 23 * TOKEN);
        _place(w, _prosumer("C"), BUY, 10 * KWH, 18 * TOKEN);
        _place(w, s1, SELL, 10 * KWH, 18 * TOKEN);
        _place(w, s2, SELL, 7 * KWH, 20 * TOKEN);
        _closeAll(w);
        assertEq(_price(w), 20 * TOKEN, "spec price");
    }

    function _fund(address who, uint256 amount) internal {
        vm.prank(admin);
        token.mint(who, amount);
        vm.prank(who);
        token.approve(address(market), type(uint256).max);
    }

    function _read(uint256 w, address who, uint256 importedWh, uint256 exportedWh) internal {
        address[] memory p = new address[](1);
        uint256[] memory i = new uint256[](1);
        uint256[] memory e = new uint256[](1);
        (p[0], i[0], e[0]) = (who, importedWh, exportedWh);
        vm.prank(admin);
        market.submitMeterReadings(w, p, i, e);
    }

    function _readAllSpec(uint256 w) internal {
        _read(w, a, 7 * KWH, 0);
        _read(w, b, 7 * KWH, 0);
        _read(w, s1, 0, 10 * KWH);
        _read(w, s2, 0, 4 * KWH);
    }

    function _assertOutcome(
        uint256 w,
        uint256 index,
        IEnergyMarket.TradeStatus status,
        IEnergyMarket.RejectReason reason
    ) internal view {
        (,,, IEnergyMarket.TradeStatus s, IEnergyMarket.RejectReason r) = market.getTrade(w, index);
        assertEq(uint8(s), uint8(status), string.concat("status of trade ", vm.toString(index)));
        assertEq(uint8(r), uint8(reason), string.concat("reason of trade ", vm.toString(index)));
    }

    // ------------------------------------------------------------ the spec example

    function test_settleWindow_specExample_buyerWith120Tokens() public {
        uint256 w = _specWindow();
        _fund(a, 1000 * TOKEN);
        _fund(b, 120 * TOKEN);
        _warpToReadings(w);
        _readAllSpec(w);

        vm.expectEmit(address(market));
        emit TradeSettled(w, 0, ACCEPTED, IEnergyMarket.RejectReason.None, 140 * TOKEN);
        vm.expectEmit(address(market));
        emit TradeSettled(w, 1, ACCEPTED, IEnergyMarket.RejectReason.None, 60 * TOKEN);
        vm.expectEmit(address(market));
        emit TradeSettled(w, 2, REJECTED, IEnergyMarket.RejectReason.InsufficientFunds, 0);
        vm.expectEmit(address(market));
        emit WindowSettled(w, 2, 1);
        assertTrue(market.settleWindow(w, 10), "done");

        assertEq(token.balanceOf(a), 860 * TOKEN, "A paid 140");
        assertEq(token.balanceOf(b), 60 * TOKEN, "B paid 60 only");
        assertEq(token.balanceOf(s1), 200 * TOKEN, "seller 1 got 140 + 60");
        assertEq(token.balanceOf(s2), 0, "seller 2 got nothing");
        _assertOutcome(w, 2, REJECTED, IEnergyMarket.RejectReason.InsufficientFunds);
        (IEnergyMarket.WindowStatus status,,,,, uint256 settled) = market.getWindow(w);
        assertEq(uint8(status), uint8(IEnergyMarket.WindowStatus.Settled), "settled");
        assertEq(settled, 3, "settled count");
    }

    function test_settleWindow_costRoundsDown() public {
        uint256 w = _open();
        _place(w, a, BUY, 1, 999);
        _place(w, s1, SELL, 1, 999);
        _closeAll(w);
        _fund(a, 1);
        _warpToReadings(w);
        _read(w, a, 1, 0);
        _read(w, s1, 0, 1);
        vm.expectEmit(address(market));
        emit TradeSettled(w, 0, ACCEPTED, IEnergyMarket.RejectReason.None, 0);
        market.settleWindow(w, 1);
        assertEq(token.balanceOf(a), 1, "1 Wh at 999 per kWh costs 0");
    }

    // ------------------------------------------------------------ the rule, reason by reason

    function test_settleWindow_sellerShortfall_firstAcceptedLaterRejected() public {
        uint256 w = _specWindow();
        _fund(a, 1000 * TOKEN);
        _fund(b, 1000 * TOKEN);
        _warpToReadings(w);
        _read(w, a, 7 * KWH, 0);
        _read(w, b, 7 * KWH, 0);
        _read(w, s1, 0, 8 * KWH); // sold 7 + 3, delivered 8
        _read(w, s2, 0, 4 * KWH);
        market.settleWindow(w, 10);
        _assertOutcome(w, 0, ACCEPTED, IEnergyMarket.RejectReason.None);
        _assertOutcome(w, 1, REJECTED, IEnergyMarket.RejectReason.SellerShortfall);
        _assertOutcome(w, 2, ACCEPTED, IEnergyMarket.RejectReason.None);
        assertEq(token.balanceOf(s1), 140 * TOKEN, "seller 1 paid for the first trade only");
        assertEq(token.balanceOf(b), 920 * TOKEN, "B paid 80 to seller 2");
    }

    function test_settleWindow_buyerShortfall() public {
        uint256 w = _specWindow();
        _fund(a, 1000 * TOKEN);
        _fund(b, 1000 * TOKEN);
        _warpToReadings(w);
        _read(w, a, 7 * KWH, 0);
        _read(w, b, 5 * KWH, 0); // bought 3 + 4, consumed 5
        _read(w, s1, 0, 10 * KWH);
        _read(w, s2, 0, 4 * KWH);
        market.settleWindow(w, 10);
        _assertOutcome(w, 1, ACCEPTED, IEnergyMarket.RejectReason.None);
        _assertOutcome(w, 2, REJECTED, IEnergyMarket.RejectReason.BuyerShortfall);
        assertEq(token.balanceOf(b), 940 * TOKEN, "B paid 60 only");
    }

    function test_settleWindow_reasonsCheckedInOrder() public {
        uint256 w = _specWindow();
        // B has no tokens, consumed too little, and seller 1 delivered too little for trade 1:
        // seller shortfall wins over buyer shortfall and funds.
        _warpToReadings(w);
        _fund(a, 140 * TOKEN);
        _read(w, a, 7 * KWH, 0);
        _read(w, b, 1 * KWH, 0);
        _read(w, s1, 0, 7 * KWH);
        _read(w, s2, 0, 4 * KWH);
        market.settleWindow(w, 10);
        _assertOutcome(w, 0, ACCEPTED, IEnergyMarket.RejectReason.None);
        _assertOutcome(w, 1, REJECTED, IEnergyMarket.RejectReason.SellerShortfall);
        _assertOutcome(w, 2, REJECTED, IEnergyMarket.RejectReason.BuyerShortfall);
    }

    function test_settleWindow_missingReadingBeforeGrace_tooEarly() public {
        uint256 w = _specWindow();
        _warpToReadings(w);
        _read(w, a, 7 * KWH, 0);
        _read(w, s1, 0, 10 * KWH);
        _read(w, s2, 0, 4 * KWH);
        (uint256 traders, uint256 readings) = market.readingProgress(w);
        assertEq(traders, 4, "traders");
        assertEq(readings, 3, "readings of traders");
        uint256 readyAt = w + 2 * DURATION + GRACE;
        assertEq(market.settleReadyAt(w), readyAt, "ready at end of grace");
        vm.warp(readyAt - 1);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.TooEarly.selector, w, readyAt));
        market.settleWindow(w, 10);
    }

    function test_settleWindow_missingReadingAfterGrace_rejectsThoseTrades() public {
        uint256 w = _specWindow();
        _fund(a, 1000 * TOKEN);
        _fund(b, 1000 * TOKEN);
        _warpToReadings(w);
        _read(w, a, 7 * KWH, 0);
        _read(w, s1, 0, 10 * KWH);
        _read(w, s2, 0, 4 * KWH);
        vm.warp(w + 2 * DURATION + GRACE);
        market.settleWindow(w, 10);
        _assertOutcome(w, 0, ACCEPTED, IEnergyMarket.RejectReason.None);
        _assertOutcome(w, 1, REJECTED, IEnergyMarket.RejectReason.MissingReading);
        _assertOutcome(w, 2, REJECTED, IEnergyMarket.RejectReason.MissingReading);
        assertEq(token.balanceOf(b), 1000 * TOKEN, "B untouched");
    }

    function test_settleWindow_allReadings_startsAtDeliveryEnd() public {
        uint256 w = _specWindow();
        _warpToReadings(w);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.TooEarly.selector, w, w + 2 * DURATION + GRACE));
        market.settleWindow(w, 10);
        _readAllSpec(w);
        assertEq(market.settleReadyAt(w), w + 2 * DURATION, "ready now");
        market.settleWindow(w, 10);
    }

    function test_settleWindow_readingOfNonTrader_doesNotCount() public {
        uint256 w = _specWindow();
        _warpToReadings(w);
        _read(w, makeAddr("C"), 5, 0);
        (, uint256 readings) = market.readingProgress(w);
        assertEq(readings, 0, "C did not trade");
    }

    function test_settleWindow_allowanceTooSmall_insufficientFunds() public {
        uint256 w = _specWindow();
        _fund(a, 1000 * TOKEN);
        vm.prank(a);
        token.approve(address(market), 140 * TOKEN - 1);
        _fund(b, 1000 * TOKEN);
        _warpToReadings(w);
        _readAllSpec(w);
        market.settleWindow(w, 10);
        _assertOutcome(w, 0, REJECTED, IEnergyMarket.RejectReason.InsufficientFunds);
        _assertOutcome(w, 1, ACCEPTED, IEnergyMarket.RejectReason.None);
        assertEq(token.balanceOf(a), 1000 * TOKEN, "A untouched");
    }

    function test_settleWindow_splitOverCalls_sameAsOneCall() public {
        uint256 w = _specWindow();
        _fund(a, 1000 * TOKEN);
        _fund(b, 70 * TOKEN);
        _warpToReadings(w);
        _readAllSpec(w);
        uint256 snapshot = vm.snapshotState();
        market.settleWindow(w, 100);
        bytes memory oneCall = _outcomes(w);
        vm.revertToState(snapshot);
        uint256 calls = 1;
        while (!market.settleWindow(w, 1)) {
            ++calls;
            assertEq(uint8(_status(w)), uint8(IEnergyMarket.WindowStatus.Settling), "settling in between");
        }
        assertEq(calls, 3, "one trade per call");
        assertEq(_outcomes(w), oneCall, "same outcomes and balances");
    }

    function _outcomes(uint256 w) internal view returns (bytes memory out) {
        for (uint256 i; i < _tradeCount(w); ++i) {
            (,,, IEnergyMarket.TradeStatus s, IEnergyMarket.RejectReason r) = market.getTrade(w, i);
            out = abi.encodePacked(out, s, r);
        }
        out = abi.encodePacked(
            out, token.balanceOf(a), token.balanceOf(b), token.balanceOf(s1), token.balanceOf(s2)
        );
    }

    function test_settleWindow_emptyWindow_settlesAtDeliveryEnd() public {
        uint256 w = _open();
        _closeAll(w);
        _warpToReadings(w);
        vm.expectEmit(address(market));
        emit WindowSettled(w, 0, 0);
        assertTrue(market.settleWindow(w, 1), "done");
    }

    function test_settleWindow_gates_revert() public {
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.WindowNotFound.selector, START));
        market.settleWindow(START, 1);
        uint256 w = _specWindow();
        vm.expectRevert(IEnergyMarket.ZeroMaxSteps.selector);
        market.settleWindow(w, 0);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.TooEarly.selector, w, w + 2 * DURATION + GRACE));
        market.settleWindow(w, 1);
        vm.warp(w + 2 * DURATION + GRACE);
        market.settleWindow(w, 10);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.WindowAlreadySettled.selector, w));
        market.settleWindow(w, 1);

        uint256 open = _open();
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.WindowNotCleared.selector, open));
        market.settleWindow(open, 1);
    }

    // ------------------------------------------------------------ readings

    function test_submitMeterReadings_storesEmitsAndCanBeCorrected() public {
        uint256 w = _specWindow();
        _warpToReadings(w);
        vm.expectEmit(address(market));
        emit MeterReadingSubmitted(w, a, 7000, 12);
        _read(w, a, 7000, 12);
        _read(w, a, 6500, 0);
        (bool submitted, uint256 imported, uint256 exported) = market.getReading(w, a);
        assertTrue(submitted, "submitted");
        assertEq(imported, 6500, "corrected import");
        assertEq(exported, 0, "corrected export");
        (, uint256 readings) = market.readingProgress(w);
        assertEq(readings, 1, "a correction does not count twice");
    }

    function test_submitMeterReadings_frozenOnceSettlementStarts() public {
        uint256 w = _specWindow();
        _fund(a, 1000 * TOKEN);
        _warpToReadings(w);
        _readAllSpec(w);
        market.settleWindow(w, 1);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.SettlementStarted.selector, w));
        _read(w, a, 1, 1);
    }

    function test_submitMeterReadings_invalid_revert() public {
        uint256 w = _specWindow();
        vm.warp(w + 2 * DURATION - 1);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.TooEarly.selector, w, w + 2 * DURATION));
        _read(w, a, 1, 1);
        _warpToReadings(w);

        address[] memory p = new address[](2);
        uint256[] memory one = new uint256[](1);
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.LengthMismatch.selector, 2, 1, 1));
        market.submitMeterReadings(w, p, one, one);
        vm.stopPrank();

        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.WindowNotFound.selector, w + 99 * DURATION));
        _read(w + 99 * DURATION, a, 1, 1);
        uint256 open = _open();
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.WindowNotCleared.selector, open));
        _read(open, a, 1, 1);
    }

    function test_submitMeterReadings_onlyOracle() public {
        uint256 w = _specWindow();
        _warpToReadings(w);
        address[] memory p = new address[](0);
        uint256[] memory v = new uint256[](0);
        bytes32 role = market.ORACLE_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, a, role)
        );
        vm.prank(a);
        market.submitMeterReadings(w, p, v, v);
    }

    function test_submitMeterReadings_badEntries_skippedWithReasonOthersStored() public {
        uint256 w = _specWindow();
        _warpToReadings(w);
        address stranger = makeAddr("stranger");
        uint256 tooBig = market.MAX_ENERGY_WH() + 1;
        address[] memory p = new address[](4);
        uint256[] memory imp = new uint256[](4);
        uint256[] memory exp = new uint256[](4);
        (p[0], p[1], p[2], p[3]) = (a, stranger, b, s1);
        (imp[0], imp[1], imp[2], imp[3]) = (7 * KWH, 1, tooBig, 0);
        exp[3] = 10 * KWH;

        vm.expectEmit(address(market));
        emit MeterReadingSubmitted(w, a, 7 * KWH, 0);
        vm.expectEmit(address(market));
        emit MeterReadingRejected(w, stranger, IEnergyMarket.NotRegistered.selector);
        vm.expectEmit(address(market));
        emit MeterReadingRejected(w, b, IEnergyMarket.ReadingOutOfRange.selector);
        vm.expectEmit(address(market));
        emit MeterReadingSubmitted(w, s1, 0, 10 * KWH);
        vm.prank(admin);
        market.submitMeterReadings(w, p, imp, exp);

        (bool submitted,,) = market.getReading(w, b);
        assertFalse(submitted, "out-of-range reading not stored");
        (submitted,,) = market.getReading(w, s1);
        assertTrue(submitted, "entry after the bad ones stored");
        (, uint256 readings) = market.readingProgress(w);
        assertEq(readings, 2, "a and s1 counted");
    }

    function test_submitMeterReadings_deregisteredTrader_storedAndPaid() public {
        uint256 w = _specWindow();
        _fund(a, 1000 * TOKEN);
        _fund(b, 1000 * TOKEN);
        vm.startPrank(admin);
        registry.deregister(s1);
        registry.deregister(a);
        vm.stopPrank();
        _warpToReadings(w);
        _readAllSpec(w);
        assertTrue(market.settleWindow(w, 10), "settled without waiting for the grace");
        _assertOutcome(w, 0, ACCEPTED, IEnergyMarket.RejectReason.None);
        assertEq(token.balanceOf(s1), 200 * TOKEN, "deregistered seller paid 140 + 60");
    }

    // ------------------------------------------------------------ late clearing

    function test_settleWindow_lateClose_graceCountsFromClearing() public {
        uint256 w = _open();
        _place(w, a, BUY, 7 * KWH, 25 * TOKEN);
        _place(w, s1, SELL, 7 * KWH, 20 * TOKEN);
        _fund(a, 1000 * TOKEN);
        // Nobody closes until long after the grace that counts from the end of delivery.
        uint256 lateClose = w + 2 * DURATION + GRACE + 5;
        vm.warp(lateClose);
        assertTrue(market.closeWindow(w, 10), "closed");
        assertEq(market.settleReadyAt(w), lateClose + GRACE, "grace from the clearing");
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.TooEarly.selector, w, lateClose + GRACE));
        market.settleWindow(w, 10);

        // The readings get their full chance; with all of them in, settlement may start at once.
        _read(w, a, 7 * KWH, 0);
        _read(w, s1, 0, 7 * KWH);
        assertEq(market.settleReadyAt(w), lateClose, "ready once every trader has a reading");
        assertTrue(market.settleWindow(w, 10), "settled");
        _assertOutcome(w, 0, ACCEPTED, IEnergyMarket.RejectReason.None);
        assertEq(token.balanceOf(s1), 157_500 * TOKEN / 1000, "seller paid 7 kWh at 22.5");
    }

    function test_settleWindow_lateCloseWithoutReadings_rejectsOnlyAfterGraceFromClearing() public {
        uint256 w = _open();
        _place(w, a, BUY, 7 * KWH, 25 * TOKEN);
        _place(w, s1, SELL, 7 * KWH, 20 * TOKEN);
        uint256 lateClose = w + 5 * DURATION;
        vm.warp(lateClose);
        market.closeWindow(w, 10);
        vm.warp(lateClose + GRACE - 1);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.TooEarly.selector, w, lateClose + GRACE));
        market.settleWindow(w, 10);
        vm.warp(lateClose + GRACE);
        assertTrue(market.settleWindow(w, 10), "settled after the grace");
        _assertOutcome(w, 0, REJECTED, IEnergyMarket.RejectReason.MissingReading);
    }

    function test_settleReadyAt_closeBeforeDeliveryEnd_unchanged() public {
        uint256 w = _specWindow(); // closed at w + d
        assertEq(market.settleReadyAt(w), w + 2 * DURATION + GRACE, "grace from the end of delivery");
    }

    // ------------------------------------------------------------ misbehaving tokens

    function _badTokenMarket(MisbehavingToken.Mode mode)
        internal
        returns (EnergyMarket m, MisbehavingToken t, uint256 w)
    {
        t = new MisbehavingToken();
        m = new EnergyMarket(t, registry, DURATION, GRACE, admin);
        w = m.openWindow();
        vm.prank(a);
        m.placeOrder(w, BUY, 2 * KWH, 10 * TOKEN, address(0));
        vm.prank(b);
        m.placeOrder(w, BUY, 2 * KWH, 10 * TOKEN, a);
        vm.prank(s1);
        m.placeOrder(w, SELL, 4 * KWH, 10 * TOKEN, address(0));
        vm.warp(w + DURATION);
        m.closeWindow(w, 10);
        for (uint256 i; i < 2; ++i) {
            address buyer = i == 0 ? a : b;
            t.mint(buyer, 100 * TOKEN);
            vm.prank(buyer);
            t.approve(address(m), type(uint256).max);
        }
        t.misbehaveFor(a, mode);
        vm.warp(w + 2 * DURATION);
        address[] memory p = new address[](3);
        uint256[] memory imp = new uint256[](3);
        uint256[] memory exp = new uint256[](3);
        (p[0], p[1], p[2]) = (a, b, s1);
        (imp[0], imp[1], exp[2]) = (2 * KWH, 2 * KWH, 4 * KWH);
        vm.prank(admin);
        m.submitMeterReadings(w, p, imp, exp);
    }

    function test_settleWindow_tokenReturnsFalse_tradeRejectedRestProceeds() public {
        _assertBadTokenIsolated(MisbehavingToken.Mode.ReturnFalse);
    }

    function test_settleWindow_tokenReverts_tradeRejectedRestProceeds() public {
        _assertBadTokenIsolated(MisbehavingToken.Mode.Revert);
    }

    function _assertBadTokenIsolated(MisbehavingToken.Mode mode) internal {
        (EnergyMarket m, MisbehavingToken t, uint256 w) = _badTokenMarket(mode);
        assertTrue(m.settleWindow(w, 10), "done");
        (,,, IEnergyMarket.TradeStatus s0, IEnergyMarket.RejectReason r0) = m.getTrade(w, 0);
        (,,, IEnergyMarket.TradeStatus s1Status,) = m.getTrade(w, 1);
        assertEq(uint8(s0), uint8(REJECTED), "a's trade rejected");
        assertEq(uint8(r0), uint8(IEnergyMarket.RejectReason.InsufficientFunds), "reason");
        assertEq(uint8(s1Status), uint8(ACCEPTED), "b's trade accepted");
        assertEq(t.balanceOf(a), 100 * TOKEN, "a untouched");
        assertEq(t.balanceOf(s1), 20 * TOKEN, "seller paid by b");
    }

    function test_settleWindow_reentrantToken_cannotReenter() public {
        (EnergyMarket m, MisbehavingToken t, uint256 w) = _badTokenMarket(MisbehavingToken.Mode.Reenter);
        t.setReentry(address(m), abi.encodeCall(m.settleWindow, (w, 10)));
        assertTrue(m.settleWindow(w, 10), "done");
        (,,, IEnergyMarket.TradeStatus s0, IEnergyMarket.RejectReason r0) = m.getTrade(w, 0);
        assertEq(uint8(s0), uint8(REJECTED), "re-entering transfer failed");
        assertEq(uint8(r0), uint8(IEnergyMarket.RejectReason.InsufficientFunds), "reason");
        assertEq(t.balanceOf(a), 100 * TOKEN, "nothing moved");
    }
}
