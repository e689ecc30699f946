// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EnergyMarket} from "../../src/EnergyMarket.sol";
import {IEnergyMarket} from "../../src/interfaces/IEnergyMarket.sol";
import {MarketFixture} from "../utils/MarketFixture.sol";

/// @notice Chainlink-Automation-compatible lifecycle: what is due, in what order, and forged performData.
contract UpkeepTest is MarketFixture {
    IEnergyMarket.UpkeepAction internal constant OPEN = IEnergyMarket.UpkeepAction.Open;
    IEnergyMarket.UpkeepAction internal constant CLOSE = IEnergyMarket.UpkeepAction.Close;
    IEnergyMarket.UpkeepAction internal constant SETTLE = IEnergyMarket.UpkeepAction.Settle;

    address internal buyer;
    address internal seller;

    function setUp() public override {
        super.setUp();
        buyer = _prosumer("buyer");
        seller = _prosumer("seller");
        vm.prank(admin);
        token.mint(buyer, 1_000_000 * TOKEN);
        vm.prank(buyer);
        token.approve(address(market), type(uint256).max);
    }

    function _due()
        internal
        view
        returns (bool needed, IEnergyMarket.UpkeepAction action, uint256 w, uint256 steps)
    {
        bytes memory data;
        (needed, data) = market.checkUpkeep("");
        (action, w, steps) = abi.decode(data, (IEnergyMarket.UpkeepAction, uint256, uint256));
    }

    function _expectDue(IEnergyMarket.UpkeepAction action, uint256 w) internal {
        (bool needed, IEnergyMarket.UpkeepAction a, uint256 id,) = _due();
        assertTrue(needed, "upkeep needed");
        assertEq(uint8(a), uint8(action), "action");
        assertEq(id, w, "window");
        (, bytes memory data) = market.checkUpkeep("");
        vm.prank(makeAddr("anyone"));
        market.performUpkeep(data);
    }

    /// @dev Performs everything due now; returns the actions in the order performed.
    function _drain() internal returns (uint256 performed) {
        for (;;) {
            (bool needed, bytes memory data) = market.checkUpkeep("");
            if (!needed) return performed;
            market.performUpkeep(data);
            ++performed;
            assertLt(performed, 100, "upkeep does not converge");
        }
    }

    function _trade(uint256 w) internal {
        _place(w, buyer, BUY, 2 * KWH, 30 * TOKEN);
        _place(w, seller, SELL, 2 * KWH, 20 * TOKEN);
    }

    function _readings(uint256 w) internal {
        address[] memory p = new address[](2);
        uint256[] memory imp = new uint256[](2);
        uint256[] memory exp = new uint256[](2);
        (p[0], p[1], imp[0], exp[1]) = (buyer, seller, 2 * KWH, 2 * KWH);
        vm.prank(admin);
        market.submitMeterReadings(w, p, imp, exp);
    }

    function test_checkUpkeep_nothingOpen_opensCurrentWindow() public {
        vm.warp(START + 5);
        _expectDue(OPEN, START);
        assertEq(uint8(_status(START)), uint8(IEnergyMarket.WindowStatus.Open), "opened");
        (bool needed,,,) = _due();
        assertFalse(needed, "nothing else due");
    }

    function test_upkeep_hourlyLifecycle_severalWindows() public {
        uint256 first = START;
        for (uint256 h; h < 5; ++h) {
            vm.warp(first + h * DURATION);
            _drain();
            uint256 w = first + h * DURATION;
            assertEq(uint8(_status(w)), uint8(IEnergyMarket.WindowStatus.Open), "opened at its hour");
            if (h >= 1) {
                assertEq(uint8(_status(w - DURATION)), uint8(IEnergyMarket.WindowStatus.Cleared), "closed");
            }
            if (h >= 2) {
                // Readings arrive as soon as the delivery hour is over; settlement follows at once.
                _readings(w - 2 * DURATION);
                _drain();
                assertEq(
                    uint8(_status(w - 2 * DURATION)), uint8(IEnergyMarket.WindowStatus.Settled), "settled"
                );
            }
            _trade(w);
        }
        // Each settled window: 2 kWh, both orders exactly filled, no next orders: floor((20 + 30) / 2) = 25.
        assertEq(token.balanceOf(seller), 3 * 50 * TOKEN, "three windows paid");
    }

    function test_upkeep_keeperAwayThreeHours_opensFirstAndReadingsGetTheirChance() public {
        vm.warp(START);
        _drain();
        _trade(START);
        // Away for three hours: windows START+1h and START+2h were never opened.
        uint256 back = START + 3 * DURATION + 10;
        vm.warp(back);
        _expectDue(OPEN, START + 3 * DURATION);
        _expectDue(CLOSE, START);
        // No readings yet, and the grace that counted from START + 2h is over: it now counts from the
        // clearing, so the oracle still has its full chance.
        (bool needed,,,) = _due();
        assertFalse(needed, "settlement waits for the readings");
        assertEq(market.settleReadyAt(START), back + GRACE, "grace from the clearing");
        _readings(START);
        _expectDue(SETTLE, START);
        (needed,,,) = _due();
        assertFalse(needed, "caught up");
        assertEq(uint8(_status(START + DURATION)), uint8(IEnergyMarket.WindowStatus.None), "never opened");
        (,,, IEnergyMarket.TradeStatus status,) = market.getTrade(START, 0);
        assertEq(uint8(status), uint8(IEnergyMarket.TradeStatus.Accepted), "seller paid");
        assertEq(token.balanceOf(seller), 50 * TOKEN, "2 kWh at 25");
    }

    function test_checkUpkeep_openComesBeforeCloseAndSettle() public {
        vm.warp(START);
        _drain();
        _trade(START);
        vm.warp(START + DURATION);
        _expectDue(OPEN, START + DURATION);
        _expectDue(CLOSE, START);
        vm.warp(START + 2 * DURATION);
        _readings(START);
        _expectDue(OPEN, START + 2 * DURATION);
        _expectDue(CLOSE, START + DURATION);
        _expectDue(SETTLE, START);
    }

    function test_checkUpkeep_dueCloseNotHiddenBehindWindowsWaitingForGrace() public {
        // 40 windows, each with a trade and no readings, all cleared and waiting for their grace.
        EnergyMarket m = new EnergyMarket(token, registry, DURATION, 24 * DURATION, admin);
        uint256 first = START;
        for (uint256 h; h < 40; ++h) {
            vm.warp(first + h * DURATION);
            uint256 w = m.openWindow();
            vm.prank(buyer);
            m.placeOrder(w, BUY, KWH, 30 * TOKEN, address(0));
            vm.prank(seller);
            m.placeOrder(w, SELL, KWH, 20 * TOKEN, address(0));
            if (h > 0) m.closeWindow(w - DURATION, 10);
        }
        // The keeper missed the last close: it must be proposed although 39 windows wait in front of it.
        vm.warp(first + 40 * DURATION);
        m.openWindow();
        (bool needed, bytes memory data) = m.checkUpkeep("");
        assertTrue(needed, "close due");
        (IEnergyMarket.UpkeepAction action, uint256 due,) =
            abi.decode(data, (IEnergyMarket.UpkeepAction, uint256, uint256));
        assertEq(uint8(action), uint8(CLOSE), "close");
        assertEq(due, first + 39 * DURATION, "the last window");
    }

    function test_checkUpkeep_settleWaitingForGrace_doesNotBlockLaterWindows() public {
        vm.warp(START);
        _drain();
        _trade(START);
        vm.warp(START + DURATION);
        _drain(); // close START, open START+1h
        _trade(START + DURATION);
        vm.warp(START + 2 * DURATION);
        _drain(); // close START+1h, open START+2h; START waits for readings
        assertEq(uint8(_status(START)), uint8(IEnergyMarket.WindowStatus.Cleared), "waits");
        assertEq(uint8(_status(START + DURATION)), uint8(IEnergyMarket.WindowStatus.Cleared), "closed");
        assertEq(uint8(_status(START + 2 * DURATION)), uint8(IEnergyMarket.WindowStatus.Open), "opened");
    }

    function test_performUpkeep_forgedData_reverts() public {
        vm.warp(START);
        _drain();
        _trade(START);

        vm.expectRevert(IEnergyMarket.InvalidPerformData.selector);
        market.performUpkeep("");
        vm.expectRevert(IEnergyMarket.InvalidPerformData.selector);
        market.performUpkeep(abi.encode(uint256(0), START, 1));
        vm.expectRevert(IEnergyMarket.InvalidPerformData.selector);
        market.performUpkeep(abi.encode(uint256(9), START, 1));
        vm.expectRevert(IEnergyMarket.InvalidPerformData.selector);
        market.performUpkeep(abi.encode(OPEN, START, 1, 1));
        vm.expectRevert(
            abi.encodeWithSelector(IEnergyMarket.UpkeepNotNeeded.selector, OPEN, START + DURATION)
        );
        market.performUpkeep(abi.encode(OPEN, START + DURATION, 0));
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.WindowAlreadyExists.selector, START));
        market.performUpkeep(abi.encode(OPEN, START, 0));
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.TooEarly.selector, START, START + DURATION));
        market.performUpkeep(abi.encode(CLOSE, START, 5));
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.WindowNotCleared.selector, START));
        market.performUpkeep(abi.encode(SETTLE, START, 5));

        vm.warp(START + DURATION);
        // A zero or huge batch is bounded, never trusted.
        market.performUpkeep(abi.encode(CLOSE, START, type(uint256).max));
        assertEq(uint8(_status(START)), uint8(IEnergyMarket.WindowStatus.Cleared), "closed");
        vm.expectRevert(
            abi.encodeWithSelector(IEnergyMarket.TooEarly.selector, START, START + 2 * DURATION + GRACE)
        );
        market.performUpkeep(abi.encode(SETTLE, START, 0));
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.WindowAlreadyCleared.selector, START));
        market.performUpkeep(abi.encode(CLOSE, START, 5));
    }

    function test_checkUpkeep_batchesAreMeteredByGas() public {
        vm.warp(START);
        _drain();
        vm.warp(START + DURATION + 1);
        _expectDue(OPEN, START + DURATION);
        (, IEnergyMarket.UpkeepAction action,, uint256 steps) = _due();
        assertEq(uint8(action), uint8(CLOSE), "close due");
        assertEq(steps, 0, "no step cap: performUpkeep stops when its gas runs low");
    }

    function test_constructor_unboundedParameters_revert() public {
        uint256 maxDuration = market.MAX_WINDOW_DURATION();
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.InvalidWindowDuration.selector, 0));
        new EnergyMarket(token, registry, 0, GRACE, admin);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.InvalidWindowDuration.selector, maxDuration + 1));
        new EnergyMarket(token, registry, maxDuration + 1, GRACE, admin);
        uint256 maxGrace = market.MAX_GRACE_WINDOWS() * DURATION;
        vm.expectRevert(
            abi.encodeWithSelector(IEnergyMarket.InvalidSettlementGrace.selector, maxGrace + 1, maxGrace)
        );
        new EnergyMarket(token, registry, DURATION, maxGrace + 1, admin);
        vm.expectRevert(
            abi.encodeWithSelector(IEnergyMarket.InvalidSettlementGrace.selector, type(uint256).max, maxGrace)
        );
        new EnergyMarket(token, registry, DURATION, type(uint256).max, admin);
        new EnergyMarket(token, registry, maxDuration, market.MAX_GRACE_WINDOWS() * maxDuration, admin);
    }
}
