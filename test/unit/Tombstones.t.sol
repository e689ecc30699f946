// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyMarket} from "../../src/interfaces/IEnergyMarket.sol";
import {MarketFixture} from "../utils/MarketFixture.sol";

/// @notice The singly linked book with tombstones: a cancelled order stays linked in place (dead), a re-placement
/// gets a new node, and every reader (getBook, getOrder, findHint, orderNonce, clearing) sees live orders only.
contract TombstonesTest is MarketFixture {
    address internal alice;
    address internal bob;
    address internal carol;
    address internal dave;
    address internal erin;

    function setUp() public override {
        super.setUp();
        alice = _prosumer("alice");
        bob = _prosumer("bob");
        carol = _prosumer("carol");
        dave = _prosumer("dave");
        erin = _prosumer("erin");
    }

    function _cancel(uint256 w, address who) internal {
        vm.prank(who);
        market.cancelOrder(w);
    }

    function _placeWith(uint256 w, address who, IEnergyMarket.Side side, uint256 price, address hint)
        internal
    {
        vm.prank(who);
        market.placeOrder(w, side, KWH, price, hint);
    }

    function _assertBook(uint256 w, IEnergyMarket.Side side, address[] memory expected) internal view {
        address[] memory book = _book(w, side);
        assertEq(book.length, expected.length, "book length");
        for (uint256 i; i < expected.length; ++i) {
            assertEq(book[i], expected[i], string.concat("book position ", vm.toString(i)));
        }
    }

    function _list(address a) internal pure returns (address[] memory l) {
        l = new address[](1);
        l[0] = a;
    }

    function _list(address a, address b) internal pure returns (address[] memory l) {
        l = new address[](2);
        (l[0], l[1]) = (a, b);
    }

    function _list(address a, address b, address c) internal pure returns (address[] memory l) {
        l = new address[](3);
        (l[0], l[1], l[2]) = (a, b, c);
    }

    function _list(address a, address b, address c, address d) internal pure returns (address[] memory l) {
        l = new address[](4);
        (l[0], l[1], l[2], l[3]) = (a, b, c, d);
    }

    // ------------------------------------------------------------ cancel and re-place

    function test_cancelAndReplace_severalTimes_nonceOrderAndPlace() public {
        uint256 w = _open();
        _place(w, bob, BUY, KWH, 30);
        _place(w, carol, BUY, KWH, 20);
        assertEq(market.orderNonce(w, alice), 0, "nonce before the first order");
        uint256[4] memory prices = [uint256(25), 35, 20, 10];
        for (uint256 k; k < prices.length; ++k) {
            _place(w, alice, k % 2 == 0 ? BUY : SELL, 2 * KWH + k, prices[k]);
            assertEq(market.orderNonce(w, alice), k + 1, "nonce counts placements");
            (IEnergyMarket.Side side, uint256 energy, uint256 price,, bool live) = market.getOrder(w, alice);
            assertEq(uint256(side), k % 2, "current side");
            assertEq(energy, 2 * KWH + k, "current energy");
            assertEq(price, prices[k], "current price");
            assertTrue(live, "live");
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.AlreadyHasOrder.selector, w, alice));
            _placeWith(w, alice, BUY, 1, address(0));
            _cancel(w, alice);
            assertEq(market.orderNonce(w, alice), k + 1, "a cancel does not change the nonce");
            (,,,, live) = market.getOrder(w, alice);
            assertFalse(live, "cancelled");
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.NoLiveOrder.selector, w, alice));
            _cancel(w, alice);
        }
        // The last re-placement lands after the equal-priced carol (time priority) and its own tombstone.
        _place(w, alice, BUY, KWH, 20);
        _assertBook(w, BUY, _list(bob, carol, alice));
        assertEq(_book(w, SELL).length, 0, "asks: only tombstones");
        (,,, uint256 orderCount,,) = market.getWindow(w);
        assertEq(orderCount, 3, "live orders only");
    }

    function test_replace_rightAfterOwnTombstone() public {
        uint256 w = _open();
        _place(w, alice, SELL, KWH, 10);
        _place(w, bob, SELL, KWH, 30);
        _cancel(w, alice);
        // Alice's own tombstone is the right start (hint names alice herself) and her new node's predecessor.
        _placeWith(w, alice, SELL, 10, alice);
        _placeWith(w, carol, SELL, 20, alice);
        _assertBook(w, SELL, _list(alice, carol, bob));
        _cancel(w, alice);
        _placeWith(w, alice, SELL, 10, alice);
        _assertBook(w, SELL, _list(alice, carol, bob));
        assertEq(market.orderNonce(w, alice), 3, "three placements");
    }

    function test_placementLimit_countsCancelledOrders() public {
        uint256 w = _open();
        uint256 max = market.MAX_PLACEMENTS_PER_WINDOW();
        for (uint256 k; k < max; ++k) {
            _placeWith(w, alice, BUY, 10 + k % 3, alice);
            _cancel(w, alice);
        }
        assertEq(market.orderNonce(w, alice), max, "nonce at the limit");
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.PlacementLimitReached.selector, w, alice, max));
        _placeWith(w, alice, BUY, 10, address(0));
        // Other prosumers are not affected, and the book walks over the 255 tombstones correctly.
        _placeWith(w, bob, BUY, 11, address(0));
        _placeWith(w, carol, BUY, 12, alice);
        _assertBook(w, BUY, _list(carol, bob));
    }

    // ------------------------------------------------------------ hints over tombstones

    function test_hintNamingCancelledProsumer_insertsAfterTheTombstone() public {
        uint256 w = _open();
        _place(w, alice, BUY, KWH, 40);
        _place(w, bob, BUY, KWH, 30);
        _place(w, carol, BUY, KWH, 20);
        address hint = market.findHint(w, BUY, 25);
        assertEq(hint, bob, "bob precedes 25");
        _cancel(w, bob);
        // The cancelled bob is still the findHint answer: his tombstone is his current node.
        assertEq(market.findHint(w, BUY, 25), bob, "tombstone owner not replaced since");
        _placeWith(w, dave, BUY, 25, hint);
        _assertBook(w, BUY, _list(alice, dave, carol));
        // Bob re-places elsewhere: his tombstone is no longer current, so the hint moves on to the last live
        // order, but the stale hint bob still finds its old node (second start).
        _placeWith(w, bob, BUY, 5, carol);
        assertEq(market.findHint(w, BUY, 24), dave, "last current node before 24");
        _placeWith(w, erin, BUY, 24, bob);
        address[] memory expected = new address[](5);
        (expected[0], expected[1], expected[2], expected[3], expected[4]) = (alice, dave, erin, carol, bob);
        _assertBook(w, BUY, expected);
        (,,, uint256 orderCount,,) = market.getWindow(w);
        assertEq(orderCount, 5, "five live orders (bob re-placed)");
    }

    function test_hintOwnerReplacedManyTimes_olderNodesBeyondStartsStillCorrect() public {
        uint256 w = _open();
        _place(w, alice, SELL, KWH, 10);
        _place(w, bob, SELL, KWH, 20);
        _place(w, carol, SELL, KWH, 30);
        // Bob moves five times, each time to a place after the later victim's price.
        for (uint256 k; k < 5; ++k) {
            _cancel(w, bob);
            _placeWith(w, bob, SELL, 40 + k, address(0));
        }
        // A hint naming bob: his last three nodes follow 25, his first (20) is out of reach: walk from the head.
        _placeWith(w, dave, SELL, 25, bob);
        _assertBook(w, SELL, _list(alice, dave, carol, bob));
    }

    function test_findHint_andGetBook_skipTombstones() public {
        uint256 w = _open();
        _place(w, alice, BUY, KWH, 50);
        _place(w, bob, BUY, KWH, 40);
        _place(w, carol, BUY, KWH, 30);
        _place(w, dave, BUY, KWH, 20);
        _cancel(w, alice);
        _cancel(w, carol);
        assertEq(market.findHint(w, BUY, 60), address(0), "before every node: head");
        assertEq(market.findHint(w, BUY, 45), alice, "after alice's tombstone");
        assertEq(market.findHint(w, BUY, 25), carol, "after carol's tombstone");
        address[] memory page = market.getBook(w, BUY, 1, 5);
        assertEq(page.length, 1, "offset counts live orders");
        assertEq(page[0], dave, "second live bid");
        page = market.getBook(w, BUY, 0, 1);
        assertEq(page.length, 1, "limit");
        assertEq(page[0], bob, "first live bid");
        // Head placements with findHint: after the head tombstone, and before it when the price is better.
        _place(w, erin, BUY, KWH, 50);
        _assertBook(w, BUY, _list(erin, bob, dave));
        _cancel(w, erin);
        _place(w, erin, BUY, KWH, 70);
        _assertBook(w, BUY, _list(erin, bob, dave));
    }

    // ------------------------------------------------------------ clearing over tombstones

    function test_clearing_skipsTombstonesAtHeadsAndInBetween() public {
        uint256 w = _open();
        _place(w, alice, BUY, 5 * KWH, 50); // cancelled: head tombstone
        _place(w, bob, BUY, 3 * KWH, 40);
        _place(w, carol, SELL, 5 * KWH, 5); // cancelled: head tombstone
        _place(w, dave, SELL, 2 * KWH, 10);
        _place(w, erin, SELL, 2 * KWH, 20);
        _cancel(w, alice);
        _cancel(w, carol);
        _place(w, carol, BUY, 2 * KWH, 30); // re-placed on the other side
        _warpToClose(w);
        for (uint256 calls; !market.closeWindow(w, 1); ++calls) {
            assertLt(calls, 4, "one trade per call");
        }
        assertEq(_tradeCount(w), 3, "trades");
        _assertTrade(w, 0, bob, dave, 2 * KWH);
        _assertTrade(w, 1, bob, erin, KWH);
        _assertTrade(w, 2, carol, erin, KWH);
        // Marginal: erin (ask 20) exactly filled, carol (bid 30) partly filled: b.price.
        assertEq(_price(w), 30, "price");
        (,,, uint256 filled, bool live) = market.getOrder(w, carol);
        assertEq(filled, KWH, "carol's current order filled");
        assertTrue(live, "live");
        (,,, filled, live) = market.getOrder(w, alice);
        assertEq(filled, 0, "tombstone never trades");
        assertFalse(live, "alice cancelled");
    }

    /// @dev Rule 3 with both marginal orders exactly filled: the next unmatched bid is the next LIVE one
    /// (a tombstone right after the marginal bid at a higher price must not count).
    function test_marginalPrice_nextBidAfterTombstone_isNextLiveBid() public {
        uint256 w = _open();
        _place(w, alice, BUY, KWH, 30);
        _place(w, bob, BUY, KWH, 25); // cancelled
        _place(w, carol, BUY, KWH, 20);
        _place(w, dave, SELL, KWH, 10);
        _cancel(w, bob);
        _closeAll(w);
        // b = 30, a = 10, b' = 20 (not bob's 25), a' absent (b.price): (max(10, 20) + min(30, 30)) / 2 = 25.
        assertEq(_price(w), 25, "next live bid");
    }

    function test_marginalPrice_nextAskAfterTombstone_isNextLiveAsk() public {
        uint256 w = _open();
        _place(w, alice, SELL, KWH, 10);
        _place(w, bob, SELL, KWH, 14); // cancelled
        _place(w, carol, SELL, KWH, 18);
        _place(w, dave, BUY, KWH, 30);
        _cancel(w, bob);
        _closeAll(w);
        // a = 10, b = 30, a' = 18 (not bob's 14), b' absent (a.price): (max(10, 10) + min(30, 18)) / 2 = 14.
        assertEq(_price(w), 14, "next live ask");
    }

    function test_marginalPrice_onlyTombstonesAfterMarginal_countAsAbsent() public {
        uint256 w = _open();
        _place(w, alice, SELL, KWH, 10);
        _place(w, bob, SELL, KWH, 14); // cancelled
        _place(w, dave, BUY, KWH, 30);
        _place(w, carol, BUY, KWH, 20); // cancelled
        _cancel(w, bob);
        _cancel(w, carol);
        _closeAll(w);
        // No next live bid or ask: (max(10, 10) + min(30, 30)) / 2 = 20.
        assertEq(_price(w), 20, "absent next orders");
    }

    /// @dev A gas-metered close (performUpkeep) keeps making progress through a long run of tombstones.
    function test_performUpkeep_meteredClose_progressesThroughTombstones() public {
        uint256 w = _open();
        address[] memory people = _prosumers(60);
        for (uint256 i; i < people.length; ++i) {
            _place(w, people[i], BUY, KWH, 100);
            _cancel(w, people[i]);
        }
        _place(w, alice, BUY, KWH, 20);
        _place(w, bob, SELL, KWH, 10);
        _warpToClose(w);
        bytes memory perform = abi.encode(IEnergyMarket.UpkeepAction.Close, w, uint256(0));
        uint256 rounds;
        while (_status(w) != IEnergyMarket.WindowStatus.Cleared) {
            vm.cool(address(market)); // each perform is its own transaction: the tombstones are cold
            market.performUpkeep{gas: market.UPKEEP_CLOSE_STEP_GAS() + 60_000}(perform);
            ++rounds;
            assertLt(rounds, 60, "progress every call");
        }
        assertGt(rounds, 1, "the tombstones took more than one metered call");
        assertEq(_tradeCount(w), 1, "one trade");
        _assertTrade(w, 0, alice, bob, KWH);
        assertEq(_price(w), 15, "price");
    }

    function test_readings_countTheReplacedOrderAsTrader() public {
        uint256 w = _open();
        _place(w, alice, BUY, KWH, 30);
        _cancel(w, alice);
        _place(w, alice, BUY, KWH, 20);
        _place(w, bob, SELL, KWH, 10);
        _closeAll(w);
        _warpToReadings(w);
        address[] memory who = _list(alice, bob);
        uint256[] memory values = new uint256[](2);
        values[0] = KWH;
        values[1] = KWH;
        vm.prank(admin);
        market.submitMeterReadings(w, who, values, values);
        (uint256 traders, uint256 readings) = market.readingProgress(w);
        assertEq(traders, 2, "traders");
        assertEq(readings, 2, "both traders read (alice via her re-placed order)");
    }
}
