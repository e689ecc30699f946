// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EnergyMarket} from "../../src/EnergyMarket.sol";
import {EnergyToken} from "../../src/EnergyToken.sol";
import {ProsumerRegistry} from "../../src/ProsumerRegistry.sol";
import {IEnergyMarket} from "../../src/interfaces/IEnergyMarket.sol";
import {Test} from "forge-std/Test.sol";

/// @notice Shared deployment and helpers for every market test.
abstract contract MarketFixture is Test {
    uint256 internal constant DURATION = 3600;
    uint256 internal constant GRACE = 1800;
    uint256 internal constant KWH = 1000;
    uint256 internal constant TOKEN = 1e18;
    /// @dev An hour boundary in 2026, so window ids look like production ones.
    uint256 internal constant START = 1_780_000_000 - (1_780_000_000 % DURATION);

    IEnergyMarket.Side internal constant BUY = IEnergyMarket.Side.Buy;
    IEnergyMarket.Side internal constant SELL = IEnergyMarket.Side.Sell;

    address internal admin = makeAddr("admin");
    EnergyToken internal token;
    ProsumerRegistry internal registry;
    EnergyMarket internal market;
    uint256 internal nextProsumerId = 1;

    function setUp() public virtual {
        vm.warp(START);
        token = new EnergyToken(admin);
        registry = new ProsumerRegistry(admin);
        market = new EnergyMarket(token, registry, DURATION, GRACE, admin);
    }

    /// @dev A new registered prosumer named `name`.
    function _prosumer(string memory name) internal returns (address account) {
        account = makeAddr(name);
        vm.prank(admin);
        registry.register(account, nextProsumerId++);
    }

    function _prosumers(uint256 count) internal returns (address[] memory accounts) {
        accounts = new address[](count);
        for (uint256 i; i < count; ++i) {
            accounts[i] = _prosumer(string.concat("p", vm.toString(nextProsumerId)));
        }
    }

    function _open() internal returns (uint256 windowId) {
        windowId = market.openWindow();
    }

    /// @dev Places an order with the hint computed by `findHint`.
    function _place(uint256 windowId, address who, IEnergyMarket.Side side, uint256 energyWh, uint256 price)
        internal
    {
        address hint = market.findHint(windowId, side, price);
        vm.prank(who);
        market.placeOrder(windowId, side, energyWh, price, hint);
    }

    function _warpToClose(uint256 windowId) internal {
        vm.warp(windowId + DURATION);
    }

    function _warpToReadings(uint256 windowId) internal {
        vm.warp(windowId + 2 * DURATION);
    }

    function _closeAll(uint256 windowId) internal {
        _warpToClose(windowId);
        assertTrue(market.closeWindow(windowId, type(uint256).max), "close did not finish");
    }

    function _status(uint256 windowId) internal view returns (IEnergyMarket.WindowStatus status) {
        (status,,,,,) = market.getWindow(windowId);
    }

    function _price(uint256 windowId) internal view returns (uint256 price) {
        (, price,,,,) = market.getWindow(windowId);
    }

    function _cleared(uint256 windowId) internal view returns (uint256 energy) {
        (,, energy,,,) = market.getWindow(windowId);
    }

    function _tradeCount(uint256 windowId) internal view returns (uint256 count) {
        (,,,, count,) = market.getWindow(windowId);
    }

    function _assertTrade(uint256 windowId, uint256 index, address buyer, address seller, uint256 energyWh)
        internal
        view
    {
        (address b, address s, uint256 e,,) = market.getTrade(windowId, index);
        assertEq(b, buyer, string.concat("buyer of trade ", vm.toString(index)));
        assertEq(s, seller, string.concat("seller of trade ", vm.toString(index)));
        assertEq(e, energyWh, string.concat("energy of trade ", vm.toString(index)));
    }

    function _book(uint256 windowId, IEnergyMarket.Side side) internal view returns (address[] memory) {
        return market.getBook(windowId, side, 0, type(uint256).max);
    }
}
