// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EnergyMarket} from "../../src/EnergyMarket.sol";
import {IEnergyMarket} from "../../src/interfaces/IEnergyMarket.sol";
import {IProsumerRegistry} from "../../src/interfaces/IProsumerRegistry.sol";
import {MarketFixture} from "../utils/MarketFixture.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

/// @notice Windows, orders, hints, cancel/replace, time gates, pause and every revert of the order book.
contract OrderBookTest is MarketFixture {
    event WindowOpened(uint256 indexed windowId);
    event OrderPlaced(
        uint256 indexed windowId,
        address indexed prosumer,
        IEnergyMarket.Side side,
        uint256 energyWh,
        uint256 pricePerKWh
    );
    event OrderCancelled(uint256 indexed windowId, address indexed prosumer);

    address internal alice;
    address internal bob;
    address internal carol;
    address internal dave;

    function setUp() public override {
        super.setUp();
        alice = _prosumer("alice");
        bob = _prosumer("bob");
        carol = _prosumer("carol");
        dave = _prosumer("dave");
    }

    // ------------------------------------------------------------ windows

    function test_constructor_setsParametersAndRoles() public view {
        assertEq(market.windowDuration(), DURATION, "duration");
        assertEq(market.settlementGrace(), GRACE, "grace");
        assertEq(address(market.token()), address(token), "token");
        assertEq(address(market.registry()), address(registry), "registry");
        assertTrue(market.hasRole(market.DEFAULT_ADMIN_ROLE(), admin), "admin");
        assertTrue(market.hasRole(market.ORACLE_ROLE(), admin), "oracle");
        assertTrue(market.hasRole(market.PAUSER_ROLE(), admin), "pauser");
    }

    function test_constructor_invalidArguments_revert() public {
        vm.expectRevert(IEnergyMarket.ZeroAddress.selector);
        new EnergyMarket(IERC20(address(0)), registry, DURATION, GRACE, admin);
        vm.expectRevert(IEnergyMarket.ZeroAddress.selector);
        new EnergyMarket(token, IProsumerRegistry(address(0)), DURATION, GRACE, admin);
        vm.expectRevert(IEnergyMarket.ZeroAddress.selector);
        new EnergyMarket(token, registry, DURATION, GRACE, address(0));
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.InvalidWindowDuration.selector, 0));
        new EnergyMarket(token, registry, 0, GRACE, admin);
    }

    function test_currentWindow_isStartOfTheHour() public {
        vm.warp(START + 1234);
        assertEq(market.currentWindow(), START, "inside the hour");
        vm.warp(START + DURATION);
        assertEq(market.currentWindow(), START + DURATION, "at the boundary");
    }

    function test_openWindow_opensCurrentAndEmits() public {
        vm.warp(START + 10);
        vm.expectEmit(address(market));
        emit WindowOpened(START);
        assertEq(market.openWindow(), START, "window id");
        assertEq(uint8(_status(START)), uint8(IEnergyMarket.WindowStatus.Open), "status");
    }

    function test_openWindow_twice_reverts() public {
        _open();
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.WindowAlreadyExists.selector, START));
        market.openWindow();
    }

    // ------------------------------------------------------------ placing

    function test_placeOrder_storesOrderAndEmits() public {
        uint256 w = _open();
        vm.expectEmit(address(market));
        emit OrderPlaced(w, alice, BUY, 1500, 21 * TOKEN);
        vm.prank(alice);
        market.placeOrder(w, BUY, 1500, 21 * TOKEN, address(0));
        (IEnergyMarket.Side side, uint256 energy, uint256 price, uint256 filled, bool live) =
            market.getOrder(w, alice);
        assertEq(uint8(side), uint8(BUY), "side");
        assertEq(energy, 1500, "energy");
        assertEq(price, 21 * TOKEN, "price");
        assertEq(filled, 0, "filled");
        assertTrue(live, "live");
        (,,, uint256 orderCount,,) = market.getWindow(w);
        assertEq(orderCount, 1, "order count");
    }

    function test_placeOrder_keepsBothSidesSortedWithTimePriority() public {
        uint256 w = _open();
        _place(w, alice, BUY, KWH, 20);
        _place(w, bob, BUY, KWH, 25);
        _place(w, carol, BUY, KWH, 20);
        _place(w, dave, BUY, KWH, 30);
        address[] memory bids = _book(w, BUY);
        assertEq(bids.length, 4, "bids");
        assertEq(bids[0], dave, "30 first");
        assertEq(bids[1], bob, "then 25");
        assertEq(bids[2], alice, "then 20, earlier");
        assertEq(bids[3], carol, "then 20, later");

        address[] memory s = _prosumers(4);
        _place(w, s[0], SELL, KWH, 20);
        _place(w, s[1], SELL, KWH, 15);
        _place(w, s[2], SELL, KWH, 20);
        _place(w, s[3], SELL, KWH, 10);
        address[] memory asks = _book(w, SELL);
        assertEq(asks[0], s[3], "10 first");
        assertEq(asks[1], s[1], "then 15");
        assertEq(asks[2], s[0], "then 20, earlier");
        assertEq(asks[3], s[2], "then 20, later");
    }

    function test_findHint_returnsLastOrderThatPrecedes() public {
        uint256 w = _open();
        assertEq(market.findHint(w, BUY, 20), address(0), "empty book: head");
        _place(w, alice, BUY, KWH, 20);
        _place(w, bob, BUY, KWH, 10);
        assertEq(market.findHint(w, BUY, 30), address(0), "best price: head");
        assertEq(market.findHint(w, BUY, 20), alice, "equal price goes after alice");
        assertEq(market.findHint(w, BUY, 15), alice, "between");
        assertEq(market.findHint(w, BUY, 5), bob, "tail");
        assertEq(market.findHint(w, SELL, 15), address(0), "other side is empty");
    }

    function test_placeOrder_wrongHints_stillInsertCorrectly() public {
        uint256 w = _open();
        address[] memory p = _prosumers(6);
        _place(w, p[0], BUY, KWH, 50);
        _place(w, p[1], BUY, KWH, 40);
        _place(w, p[2], BUY, KWH, 30);
        _place(w, p[3], SELL, KWH, 60);
        // Hint too far back (tail) for a price that belongs at the head: walks back.
        vm.prank(alice);
        market.placeOrder(w, BUY, KWH, 45, p[2]);
        // Hint too far forward (head) for a tail price: walks forward.
        vm.prank(bob);
        market.placeOrder(w, BUY, KWH, 35, p[0]);
        // Hint on the other side, and a hint that is not a prosumer: start from the head.
        vm.prank(carol);
        market.placeOrder(w, BUY, KWH, 41, p[3]);
        vm.prank(dave);
        market.placeOrder(w, BUY, KWH, 55, makeAddr("stranger"));
        // Hint with no order in this window.
        vm.prank(p[4]);
        market.placeOrder(w, BUY, KWH, 30, p[5]);

        address[] memory bids = _book(w, BUY);
        address[8] memory expected = [dave, p[0], alice, carol, p[1], bob, p[2], p[4]];
        assertEq(bids.length, expected.length, "length");
        for (uint256 i; i < expected.length; ++i) {
            assertEq(bids[i], expected[i], string.concat("position ", vm.toString(i)));
        }
    }

    function test_placeOrder_staleHintOfCancelledOrder_stillInsertsCorrectly() public {
        uint256 w = _open();
        _place(w, alice, SELL, KWH, 10);
        _place(w, bob, SELL, KWH, 20);
        address hint = market.findHint(w, SELL, 25);
        assertEq(hint, bob, "hint");
        vm.prank(bob);
        market.cancelOrder(w);
        vm.prank(carol);
        market.placeOrder(w, SELL, KWH, 25, hint);
        address[] memory asks = _book(w, SELL);
        assertEq(asks.length, 2, "length");
        assertEq(asks[0], alice, "alice");
        assertEq(asks[1], carol, "carol");
    }

    function test_placeOrder_secondOrder_reverts() public {
        uint256 w = _open();
        _place(w, alice, BUY, KWH, 10);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.AlreadyHasOrder.selector, w, alice));
        vm.prank(alice);
        market.placeOrder(w, SELL, KWH, 10, address(0));
    }

    function test_placeOrder_invalidValues_revert() public {
        uint256 w = _open();
        vm.startPrank(alice);
        vm.expectRevert(IEnergyMarket.ZeroEnergy.selector);
        market.placeOrder(w, BUY, 0, 10, address(0));
        vm.expectRevert(IEnergyMarket.ZeroPrice.selector);
        market.placeOrder(w, BUY, 10, 0, address(0));
        uint256 maxEnergy = market.MAX_ENERGY_WH();
        vm.expectRevert(
            abi.encodeWithSelector(IEnergyMarket.EnergyOutOfRange.selector, maxEnergy + 1, maxEnergy)
        );
        market.placeOrder(w, BUY, maxEnergy + 1, 10, address(0));
        uint256 maxPrice = market.MAX_PRICE_PER_KWH();
        vm.expectRevert(
            abi.encodeWithSelector(IEnergyMarket.PriceOutOfRange.selector, maxPrice + 1, maxPrice)
        );
        market.placeOrder(w, BUY, 10, maxPrice + 1, address(0));
        // The largest values are accepted.
        market.placeOrder(w, BUY, maxEnergy, maxPrice, address(0));
        vm.stopPrank();
    }

    function test_placeOrder_notRegistered_reverts() public {
        uint256 w = _open();
        address stranger = makeAddr("stranger");
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.NotRegistered.selector, stranger));
        vm.prank(stranger);
        market.placeOrder(w, BUY, KWH, 10, address(0));
    }

    function test_placeOrder_deregistered_revertsButExistingOrderStays() public {
        uint256 w = _open();
        _place(w, alice, BUY, KWH, 10);
        vm.prank(admin);
        registry.deregister(alice);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.NotRegistered.selector, alice));
        vm.prank(alice);
        market.placeOrder(w + 0, SELL, KWH, 10, address(0));
        (,,,, bool live) = market.getOrder(w, alice);
        assertTrue(live, "order placed before deregistration stays");
    }

    function test_placeOrder_windowNotOpen_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.WindowNotOpen.selector, START));
        vm.prank(alice);
        market.placeOrder(START, BUY, KWH, 10, address(0));
    }

    function test_placeOrder_afterWindowEnd_reverts() public {
        uint256 w = _open();
        vm.warp(w + DURATION - 1);
        _place(w, alice, BUY, KWH, 10);
        vm.warp(w + DURATION);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.OrderingClosed.selector, w, w + DURATION));
        vm.prank(bob);
        market.placeOrder(w, BUY, KWH, 10, address(0));
    }

    function test_placeOrder_afterClose_reverts() public {
        uint256 w = _open();
        _closeAll(w);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.WindowNotOpen.selector, w));
        vm.prank(bob);
        market.placeOrder(w, BUY, KWH, 10, address(0));
    }

    // ------------------------------------------------------------ cancel and replace

    function test_cancelOrder_unlinksAndFreesTheSlot() public {
        uint256 w = _open();
        _place(w, alice, BUY, KWH, 30);
        _place(w, bob, BUY, KWH, 20);
        _place(w, carol, BUY, KWH, 10);

        vm.expectEmit(address(market));
        emit OrderCancelled(w, bob);
        vm.prank(bob);
        market.cancelOrder(w);
        address[] memory bids = _book(w, BUY);
        assertEq(bids.length, 2, "middle removed");
        assertEq(bids[0], alice, "head");
        assertEq(bids[1], carol, "tail");

        vm.prank(alice);
        market.cancelOrder(w);
        vm.prank(carol);
        market.cancelOrder(w);
        assertEq(_book(w, BUY).length, 0, "empty");
        (,,, uint256 orderCount,,) = market.getWindow(w);
        assertEq(orderCount, 0, "order count");

        // Replace: the new order is a new placement, behind earlier orders at the same price.
        _place(w, dave, BUY, KWH, 20);
        _place(w, bob, BUY, 2 * KWH, 20);
        bids = _book(w, BUY);
        assertEq(bids[0], dave, "earlier first");
        assertEq(bids[1], bob, "replacement after");
        (, uint256 energy,,, bool live) = market.getOrder(w, bob);
        assertEq(energy, 2 * KWH, "new energy");
        assertTrue(live, "live again");
    }

    function test_cancelOrder_withoutOrder_reverts() public {
        uint256 w = _open();
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.NoLiveOrder.selector, w, alice));
        vm.prank(alice);
        market.cancelOrder(w);
        address stranger = makeAddr("stranger");
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.NoLiveOrder.selector, w, stranger));
        vm.prank(stranger);
        market.cancelOrder(w);
    }

    function test_cancelOrder_afterWindowEnd_reverts() public {
        uint256 w = _open();
        _place(w, alice, BUY, KWH, 10);
        vm.warp(w + DURATION);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.OrderingClosed.selector, w, w + DURATION));
        vm.prank(alice);
        market.cancelOrder(w);
    }

    // ------------------------------------------------------------ close gates

    function test_closeWindow_beforeEnd_reverts() public {
        uint256 w = _open();
        vm.warp(w + DURATION - 1);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.TooEarly.selector, w, w + DURATION));
        market.closeWindow(w, 1);
    }

    function test_closeWindow_unknownOrClearedOrZeroSteps_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.WindowNotFound.selector, START));
        market.closeWindow(START, 1);
        uint256 w = _open();
        _warpToClose(w);
        vm.expectRevert(IEnergyMarket.ZeroMaxSteps.selector);
        market.closeWindow(w, 0);
        market.closeWindow(w, 1);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.WindowAlreadyCleared.selector, w));
        market.closeWindow(w, 1);
    }

    function test_getTrade_outOfRange_reverts() public {
        uint256 w = _open();
        _closeAll(w);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.TradeIndexOutOfRange.selector, w, 0, 0));
        market.getTrade(w, 0);
    }

    // ------------------------------------------------------------ pause and roles

    function test_pause_blocksNewOrdersOnly() public {
        uint256 w = _open();
        _place(w, alice, BUY, KWH, 30);
        _place(w, bob, SELL, KWH, 20);
        vm.prank(admin);
        market.pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(carol);
        market.placeOrder(w, BUY, KWH, 10, address(0));
        vm.prank(alice);
        market.cancelOrder(w);

        _closeAll(w);
        assertEq(uint8(_status(w)), uint8(IEnergyMarket.WindowStatus.Cleared), "closing is never paused");
        vm.warp(w + 2 * DURATION);
        uint256 next = _open();
        vm.prank(admin);
        market.unpause();
        _place(next, carol, BUY, KWH, 10);
        (,,,, bool live) = market.getOrder(next, carol);
        assertTrue(live, "orders again after unpause");
    }

    function test_pause_windowOpenedWhilePaused_blocksUntilUnpause() public {
        vm.prank(admin);
        market.pause();
        uint256 w = _open();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(alice);
        market.placeOrder(w, BUY, KWH, 10, address(0));
        vm.prank(admin);
        market.unpause();
        assertFalse(market.paused(), "unpaused");
        _place(w, alice, BUY, KWH, 10);
        (,,,, bool live) = market.getOrder(w, alice);
        assertTrue(live, "orders again in the same window");
        vm.prank(admin);
        market.pause();
        assertTrue(market.paused(), "paused");
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(bob);
        market.placeOrder(w, BUY, KWH, 10, address(0));
    }

    function test_pause_onlyPauser() public {
        bytes32 role = market.PAUSER_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, alice, role)
        );
        vm.prank(alice);
        market.pause();
    }
}
