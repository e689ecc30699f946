// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyMarket} from "../../src/interfaces/IEnergyMarket.sol";
import {MarketFixture} from "../utils/MarketFixture.sol";

/// @notice The clearing rule of the spec, branch by branch.
contract ClearingTest is MarketFixture {
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

    function test_closeWindow_specWorkedExample() public {
        uint256 w = _open();
        address[5] memory buyers =
            [_prosumer("A"), _prosumer("B"), _prosumer("C"), _prosumer("D"), _prosumer("E")];
        uint256[5] memory buyKWh = [uint256(7), 7, 10, 6, 5];
        uint256[5] memory buyPrice = [uint256(25), 23, 18, 16, 14];
        address[6] memory sellers = [
            _prosumer("S1"),
            _prosumer("S2"),
            _prosumer("S3"),
            _prosumer("S4"),
            _prosumer("S5"),
            _prosumer("S6")
        ];
        uint256[6] memory sellKWh = [uint256(10), 7, 8, 3, 4, 3];
        uint256[6] memory sellPrice = [uint256(18), 20, 22, 24, 29, 32];
        // Interleave placements so that the book order comes from prices, not from placement order.
        for (uint256 i = 6; i > 0; --i) {
            _place(w, sellers[i - 1], SELL, sellKWh[i - 1] * KWH, sellPrice[i - 1] * TOKEN);
            if (i <= 5) _place(w, buyers[i - 1], BUY, buyKWh[i - 1] * KWH, buyPrice[i - 1] * TOKEN);
        }

        _warpToClose(w);
        vm.expectEmit(address(market));
        emit TradeMatched(w, buyers[0], sellers[0], 0, 7 * KWH);
        vm.expectEmit(address(market));
        emit TradeMatched(w, buyers[1], sellers[0], 1, 3 * KWH);
        vm.expectEmit(address(market));
        emit TradeMatched(w, buyers[1], sellers[1], 2, 4 * KWH);
        vm.expectEmit(address(market));
        emit WindowCleared(w, 20 * TOKEN, 14 * KWH, 3);
        assertTrue(market.closeWindow(w, 100), "done");

        (
            IEnergyMarket.WindowStatus status,
            uint256 price,
            uint256 cleared,
            uint256 orderCount,
            uint256 tradeCount,
            uint256 settledCount
        ) = market.getWindow(w);
        assertEq(uint8(status), uint8(IEnergyMarket.WindowStatus.Cleared), "status");
        assertEq(price, 20 * TOKEN, "price");
        assertEq(cleared, 14 * KWH, "cleared");
        assertEq(orderCount, 11, "orders");
        assertEq(tradeCount, 3, "trades");
        assertEq(settledCount, 0, "settled");
        _assertTrade(w, 0, buyers[0], sellers[0], 7 * KWH);
        _assertTrade(w, 1, buyers[1], sellers[0], 3 * KWH);
        _assertTrade(w, 2, buyers[1], sellers[1], 4 * KWH);
        _assertFilled(w, buyers[0], 7 * KWH);
        _assertFilled(w, buyers[1], 7 * KWH);
        _assertFilled(w, buyers[2], 0);
        _assertFilled(w, sellers[0], 10 * KWH);
        _assertFilled(w, sellers[1], 4 * KWH);
        _assertFilled(w, sellers[2], 0);
        (uint256 traders,) = market.readingProgress(w);
        assertEq(traders, 4, "traders A, B, 1, 2");
    }

    function test_closeWindow_marginalAskPartlyFilled_priceIsAskPrice() public {
        uint256 w = _open();
        _place(w, _prosumer("A"), BUY, 5 * KWH, 30);
        _place(w, _prosumer("S"), SELL, 8 * KWH, 21);
        _closeAll(w);
        assertEq(_price(w), 21, "ask price");
        assertEq(_cleared(w), 5 * KWH, "energy");
    }

    function test_closeWindow_marginalBidPartlyFilled_priceIsBidPrice() public {
        uint256 w = _open();
        address a = _prosumer("A");
        _place(w, a, BUY, 10 * KWH, 25);
        _place(w, _prosumer("S1"), SELL, 4 * KWH, 18);
        _place(w, _prosumer("S2"), SELL, 3 * KWH, 20);
        _closeAll(w);
        assertEq(_price(w), 25, "bid price");
        assertEq(_cleared(w), 7 * KWH, "energy");
        _assertFilled(w, a, 7 * KWH);
    }

    function test_closeWindow_bothExactlyFilledWithNextOrders_midpointFloored() public {
        uint256 w = _open();
        _place(w, _prosumer("A"), BUY, 5 * KWH, 25);
        _place(w, _prosumer("B"), BUY, 5 * KWH, 19);
        _place(w, _prosumer("S1"), SELL, 5 * KWH, 18);
        _place(w, _prosumer("S2"), SELL, 5 * KWH, 22);
        _closeAll(w);
        // floor((max(18, 19) + min(25, 22)) / 2) = floor(41 / 2)
        assertEq(_price(w), 20, "midpoint");
        assertEq(_tradeCount(w), 1, "one trade");
    }

    function test_closeWindow_bothExactlyFilledNextBidInsideInterval_usesNextBid() public {
        uint256 w = _open();
        _place(w, _prosumer("A"), BUY, 5 * KWH, 40);
        _place(w, _prosumer("B"), BUY, 5 * KWH, 12);
        _place(w, _prosumer("S1"), SELL, 5 * KWH, 10);
        _place(w, _prosumer("S2"), SELL, 5 * KWH, 30);
        _closeAll(w);
        // floor((max(10, 12) + min(40, 30)) / 2) = 21
        assertEq(_price(w), 21, "between next bid and next ask");
    }

    function test_closeWindow_bothExactlyFilledWithoutNextOrders_midpointOfPair() public {
        uint256 w = _open();
        _place(w, _prosumer("A"), BUY, 5 * KWH, 25);
        _place(w, _prosumer("S1"), SELL, 5 * KWH, 18);
        _closeAll(w);
        assertEq(_price(w), 21, "floor(43 / 2)");
    }

    function test_closeWindow_bothExactlyFilledOnlyNextAsk_usesAskPriceForMissingBid() public {
        uint256 w = _open();
        _place(w, _prosumer("A"), BUY, 5 * KWH, 25);
        _place(w, _prosumer("S1"), SELL, 5 * KWH, 18);
        _place(w, _prosumer("S2"), SELL, 5 * KWH, 30);
        _closeAll(w);
        // floor((max(18, 18) + min(25, 30)) / 2)
        assertEq(_price(w), 21, "price");
    }

    function test_closeWindow_bothExactlyFilledOnlyNextBid_usesBidPriceForMissingAsk() public {
        uint256 w = _open();
        _place(w, _prosumer("A"), BUY, 5 * KWH, 25);
        _place(w, _prosumer("B"), BUY, 5 * KWH, 22);
        _place(w, _prosumer("S1"), SELL, 5 * KWH, 18);
        _closeAll(w);
        // floor((max(18, 22) + min(25, 25)) / 2) = floor(47 / 2)
        assertEq(_price(w), 23, "price");
    }

    function test_closeWindow_bidEqualsAskPrice_tradesAtThatPrice() public {
        uint256 w = _open();
        _place(w, _prosumer("A"), BUY, 5 * KWH, 20 * TOKEN);
        _place(w, _prosumer("S"), SELL, 5 * KWH, 20 * TOKEN);
        _closeAll(w);
        assertEq(_price(w), 20 * TOKEN, "tie price");
        assertEq(_cleared(w), 5 * KWH, "energy");
    }

    function test_closeWindow_equalPrices_timePriority() public {
        uint256 w = _open();
        address a = _prosumer("A");
        address s1 = _prosumer("S1");
        address s2 = _prosumer("S2");
        address s3 = _prosumer("S3");
        _place(w, s1, SELL, 3 * KWH, 18);
        _place(w, s2, SELL, 3 * KWH, 18);
        _place(w, s3, SELL, 3 * KWH, 17);
        _place(w, a, BUY, 5 * KWH, 20);
        _closeAll(w);
        _assertTrade(w, 0, a, s3, 3 * KWH);
        _assertTrade(w, 1, a, s1, 2 * KWH);
        _assertFilled(w, s2, 0);
        assertEq(_price(w), 18, "marginal ask partly filled");
    }

    function test_closeWindow_noCrossing_noTradePriceZero() public {
        uint256 w = _open();
        _place(w, _prosumer("A"), BUY, 5 * KWH, 10);
        _place(w, _prosumer("S"), SELL, 5 * KWH, 11);
        _closeAll(w);
        assertEq(uint8(_status(w)), uint8(IEnergyMarket.WindowStatus.Cleared), "cleared");
        assertEq(_price(w), 0, "price");
        assertEq(_cleared(w), 0, "energy");
        assertEq(_tradeCount(w), 0, "trades");
    }

    function test_closeWindow_oneSidedOrEmptyBook_noTrade() public {
        uint256 w = _open();
        _place(w, _prosumer("A"), BUY, 5 * KWH, 10);
        _closeAll(w);
        assertEq(_price(w), 0, "one-sided");
        vm.warp(w + 3 * DURATION);
        uint256 empty = _open();
        _closeAll(empty);
        assertEq(_price(empty), 0, "empty");
        assertEq(uint8(_status(empty)), uint8(IEnergyMarket.WindowStatus.Cleared), "empty cleared");
    }

    function test_closeWindow_oneStepAtATime_sameResultAsOneCall() public {
        uint256 w = _open();
        address[] memory people = _prosumers(12);
        for (uint256 i; i < 6; ++i) {
            _place(w, people[i], BUY, (i + 1) * KWH, (30 - i) * TOKEN);
            _place(w, people[i + 6], SELL, (6 - i) * KWH, (20 + i) * TOKEN);
        }
        _warpToClose(w);
        uint256 calls;
        while (!market.closeWindow(w, 1)) {
            ++calls;
            assertEq(uint8(_status(w)), uint8(IEnergyMarket.WindowStatus.Closing), "closing in between");
            assertEq(_tradeCount(w), calls, "one trade per call");
        }
        // Bids 1@30 2@29 3@28 4@27 5@26 6@25 kWh; asks 6@20 5@21 4@22 3@23 2@24 1@25 kWh.
        assertEq(_cleared(w), 21 * KWH, "energy");
        assertEq(_tradeCount(w), 9, "trades");
        assertEq(calls, 8, "the ninth call trades and then finds no crossing");
        assertEq(_price(w), 25 * TOKEN, "price");
    }

    function test_closeWindow_stepsExactlyTradeCount_finishesInOneCall() public {
        uint256 w = _open();
        _place(w, _prosumer("A"), BUY, 5 * KWH, 25);
        _place(w, _prosumer("S"), SELL, 5 * KWH, 18);
        _warpToClose(w);
        assertTrue(market.closeWindow(w, 1), "one trade, one step");
    }

    function _assertFilled(uint256 windowId, address who, uint256 expected) internal view {
        (,,, uint256 filled,) = market.getOrder(windowId, who);
        assertEq(filled, expected, "filled");
    }
}
