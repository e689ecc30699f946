// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyMarket} from "../../src/interfaces/IEnergyMarket.sol";
import {MarketFixture} from "../utils/MarketFixture.sol";
import {MockAutomationRegistry} from "../utils/MockAutomationRegistry.sol";

/// @notice A 1,000-trade window driven only by a registry that gives each perform 5,000,000 gas.
contract AutomationTest is MarketFixture {
    uint256 internal constant PAIRS = 1000;

    MockAutomationRegistry internal automation;
    address[] internal buyers;
    address[] internal sellers;

    function setUp() public override {
        super.setUp();
        automation = new MockAutomationRegistry();
        buyers = _prosumers(PAIRS);
        sellers = _prosumers(PAIRS);
    }

    /// @dev Runs the registry until nothing is due; returns the number of performs.
    function _automate() internal returns (uint256 performs) {
        for (;;) {
            (bool performed, uint256 gasUsed) = automation.cycle(market);
            if (!performed) return performs;
            assertLe(gasUsed, automation.PERFORM_GAS_LIMIT(), "within the perform cap");
            ++performs;
            assertLt(performs, 200, "upkeep does not converge");
        }
    }

    /// @dev Worst case for settlement: every trade has a fresh buyer and seller, each seller's first receipt,
    /// each buyer's finite allowance used up to zero.
    function test_performUpkeep_thousandTradeWindow_fitsFiveMillionGasAndNeverStalls() public {
        vm.warp(START);
        assertEq(_automate(), 1, "opened");
        address prev;
        for (uint256 i; i < PAIRS; ++i) {
            vm.prank(buyers[i]);
            market.placeOrder(START, BUY, KWH, 30 * TOKEN, prev);
            prev = buyers[i];
            vm.prank(admin);
            token.mint(buyers[i], 25 * TOKEN);
            vm.prank(buyers[i]);
            token.approve(address(market), 25 * TOKEN);
        }
        prev = address(0);
        for (uint256 i; i < PAIRS; ++i) {
            vm.prank(sellers[i]);
            market.placeOrder(START, SELL, KWH, 20 * TOKEN, prev);
            prev = sellers[i];
        }

        vm.warp(START + DURATION);
        uint256 performs = _automate();
        assertGt(performs, 2, "close split over several performs");
        assertEq(uint8(_status(START)), uint8(IEnergyMarket.WindowStatus.Cleared), "cleared");
        assertEq(uint8(_status(START + DURATION)), uint8(IEnergyMarket.WindowStatus.Open), "next opened");
        assertEq(_tradeCount(START), PAIRS, "one trade per pair");
        assertEq(_price(START), 25 * TOKEN, "midpoint");

        vm.warp(START + 2 * DURATION);
        _automate();
        _submitReadings(START);
        performs = _automate();
        assertGt(performs, 2, "settlement split over several performs");
        assertEq(uint8(_status(START)), uint8(IEnergyMarket.WindowStatus.Settled), "settled");
        assertEq(uint8(_status(START + 2 * DURATION)), uint8(IEnergyMarket.WindowStatus.Open), "kept opening");
        for (uint256 i; i < PAIRS; i += 97) {
            assertEq(token.balanceOf(sellers[i]), 25 * TOKEN, "seller paid");
            assertEq(token.allowance(buyers[i], address(market)), 0, "allowance used up");
        }
        (,,,,, uint256 settled) = market.getWindow(START);
        assertEq(settled, PAIRS, "every trade settled");
    }

    function _submitReadings(uint256 w) internal {
        uint256 batch = 250;
        for (uint256 start; start < 2 * PAIRS; start += batch) {
            address[] memory p = new address[](batch);
            uint256[] memory imp = new uint256[](batch);
            uint256[] memory exp = new uint256[](batch);
            for (uint256 k; k < batch; ++k) {
                uint256 i = start + k;
                bool isBuyer = i < PAIRS;
                p[k] = isBuyer ? buyers[i] : sellers[i - PAIRS];
                imp[k] = isBuyer ? KWH : 0;
                exp[k] = isBuyer ? 0 : KWH;
            }
            vm.prank(admin);
            market.submitMeterReadings(w, p, imp, exp);
        }
    }
}
