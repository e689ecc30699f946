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
/// 10. accepted trades move exactly their cost, rejected ones nothing; 11. the token supply is conserved.
contract MarketInvariantsTest is MarketFixture {
    uint256 internal constant ACTORS = 8;
    MarketHandler internal handler;
    uint256 internal supply;

    function setUp() public override {
        super.setUp();
        address[] memory actors = _prosumers(ACTORS);
        for (uint256 i; i < ACTORS; ++i) {
            // Some actors are short of funds or allowance, so InsufficientFunds happens.
            vm.prank(admin);
            token.mint(actors[i], (i % 3 == 0 ? 3 : 1000) * TOKEN);
            vm.prank(actors[i]);
            token.approve(address(market), i % 4 == 1 ? 2 * TOKEN : type(uint256).max);
        }
        supply = token.totalSupply();
        handler = new MarketHandler(market, token, admin, actors);
        targetContract(address(handler));
    }

    function invariant_ghostChecksHold() public view {
        assertEq(handler.violations(), 0, handler.lastViolation());
    }

    function invariant_booksSortedWithTimePriority() public view {
        for (uint256 i; i < handler.windowCount(); ++i) {
            uint256 w = handler.windows(i);
            if (_status(w) != IEnergyMarket.WindowStatus.Open) continue;
            _assertSorted(w, BUY);
            _assertSorted(w, SELL);
        }
    }

    function _assertSorted(uint256 w, IEnergyMarket.Side side) internal view {
        address[] memory list = _book(w, side);
        for (uint256 k = 1; k < list.length; ++k) {
            (IEnergyMarket.Side s0,, uint256 p0,, bool live0) = market.getOrder(w, list[k - 1]);
            (IEnergyMarket.Side s1,, uint256 p1,, bool live1) = market.getOrder(w, list[k]);
            assertTrue(live0 && live1, "only live orders in the book");
            assertEq(uint8(s0), uint8(side), "side");
            assertEq(uint8(s1), uint8(side), "side");
            if (p0 == p1) {
                assertLt(
                    handler.placementSeq(w, list[k - 1]), handler.placementSeq(w, list[k]), "time priority"
                );
            } else if (side == BUY) {
                assertGt(p0, p1, "bids descending");
            } else {
                assertLt(p0, p1, "asks ascending");
            }
        }
    }

    function invariant_oneLiveOrderPerProsumer() public view {
        for (uint256 i; i < handler.windowCount(); ++i) {
            uint256 w = handler.windows(i);
            (,,, uint256 orderCount,,) = market.getWindow(w);
            uint256 live;
            for (uint256 a; a < handler.actorCount(); ++a) {
                (,,,, bool isLive) = market.getOrder(w, handler.actors(a));
                if (isLive) ++live;
            }
            assertEq(live, orderCount, "order count = live orders");
            if (_status(w) == IEnergyMarket.WindowStatus.Open) {
                assertEq(
                    _book(w, BUY).length + _book(w, SELL).length,
                    orderCount,
                    "book holds every live order once"
                );
            }
        }
    }

    function invariant_tradesInsideLimitsAndQuantitiesAddUp() public view {
        for (uint256 i; i < handler.windowCount(); ++i) {
            uint256 w = handler.windows(i);
            (IEnergyMarket.WindowStatus status, uint256 price, uint256 cleared,, uint256 tradeCount,) =
                market.getWindow(w);
            uint256 bought;
            uint256 sold;
            for (uint256 a; a < handler.actorCount(); ++a) {
                (IEnergyMarket.Side side, uint256 energy,, uint256 filled,) =
                    market.getOrder(w, handler.actors(a));
                assertLe(filled, energy, "filled within energy");
                if (side == BUY) bought += filled;
                else sold += filled;
            }
            assertEq(bought, sold, "bought = sold");
            uint256 traded;
            for (uint256 t; t < tradeCount; ++t) {
                (address buyer, address seller, uint256 energy,,) = market.getTrade(w, t);
                traded += energy;
                (,, uint256 bidPrice,,) = market.getOrder(w, buyer);
                (,, uint256 askPrice,,) = market.getOrder(w, seller);
                assertGe(bidPrice, askPrice, "trade crosses");
                if (status >= IEnergyMarket.WindowStatus.Cleared) {
                    assertGe(bidPrice, price, "bid price >= clearing price");
                    assertGe(price, askPrice, "clearing price >= ask price");
                }
            }
            assertEq(traded, bought, "trades add up to fills");
            if (status >= IEnergyMarket.WindowStatus.Cleared) assertEq(cleared, bought, "cleared = bought");
        }
    }

    function invariant_tokenSupplyConserved() public view {
        assertEq(token.totalSupply(), supply, "supply");
        uint256 sum;
        for (uint256 a; a < handler.actorCount(); ++a) {
            sum += token.balanceOf(handler.actors(a));
        }
        assertEq(sum, supply, "balances add up to the supply");
    }

    function afterInvariant() external {
        emit log_named_uint(
            "accepted trades", handler.settledTrades(uint8(IEnergyMarket.TradeStatus.Accepted))
        );
        emit log_named_uint(
            "rejected trades", handler.settledTrades(uint8(IEnergyMarket.TradeStatus.Rejected))
        );
        emit log_named_uint("windows", handler.windowCount());
    }
}
