// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ProsumerRegistry} from "../../src/ProsumerRegistry.sol";
import {IProsumerRegistry} from "../../src/interfaces/IProsumerRegistry.sol";
import {MarketFixture} from "../utils/MarketFixture.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

contract RegistryTest is MarketFixture {
    event ProsumerRegistered(address indexed account, uint256 indexed prosumerId);
    event ProsumerDeregistered(address indexed account, uint256 indexed prosumerId);
    event BatteryAdded(address indexed account, uint256 index, uint256 powerW, uint256 capacityWh);
    event PvSystemAdded(address indexed account, uint256 index, uint256 peakPowerW);

    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");

    function test_register_bindsBothWaysAndEmits() public {
        vm.expectEmit(address(registry));
        emit ProsumerRegistered(alice, 7);
        vm.prank(admin);
        registry.register(alice, 7);
        assertTrue(registry.isRegistered(alice), "registered");
        assertEq(registry.prosumerIdOf(alice), 7, "id");
        assertEq(registry.accountOf(7), alice, "account");
        (address first, address second) = registry.accountsOf(7, 8);
        assertEq(first, alice, "first of the pair");
        assertEq(second, address(0), "unbound ID");
        (uint256 id, bool registered) = registry.registrationOf(alice);
        assertEq(id, 7, "registration id");
        assertTrue(registered, "registration flag");
    }

    function test_register_invalid_reverts() public {
        vm.startPrank(admin);
        vm.expectRevert(IProsumerRegistry.ZeroAddress.selector);
        registry.register(address(0), 1);
        vm.expectRevert(abi.encodeWithSelector(IProsumerRegistry.InvalidProsumerId.selector, 0));
        registry.register(alice, 0);
        uint256 tooBig = uint256(type(uint32).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(IProsumerRegistry.InvalidProsumerId.selector, tooBig));
        registry.register(alice, tooBig);
        registry.register(alice, 1);
        vm.expectRevert(abi.encodeWithSelector(IProsumerRegistry.AlreadyRegistered.selector, alice));
        registry.register(alice, 2);
        vm.expectRevert(abi.encodeWithSelector(IProsumerRegistry.ProsumerIdTaken.selector, 1, alice));
        registry.register(bob, 1);
        vm.stopPrank();
    }

    function test_deregister_keepsBindingAndAssets() public {
        vm.startPrank(admin);
        registry.register(alice, 3);
        registry.addBattery(alice, 5000, 10_000);
        registry.addPvSystem(alice, 6000);
        vm.expectEmit(address(registry));
        emit ProsumerDeregistered(alice, 3);
        registry.deregister(alice);
        assertFalse(registry.isRegistered(alice), "not registered");
        assertEq(registry.prosumerIdOf(alice), 3, "id stays bound");
        assertEq(registry.accountOf(3), alice, "account stays bound");
        // Assets stay readable: readings of windows the prosumer traded in are checked against them.
        assertEq(registry.batteriesOf(alice).length, 1, "battery kept");
        assertEq(registry.pvSystemsOf(alice).length, 1, "pv kept");
        (uint256 pv, uint256 power, uint256 capacity) = registry.assetTotalsOf(alice);
        assertEq(pv, 6000, "pv total");
        assertEq(power, 5000, "battery power");
        assertEq(capacity, 10_000, "battery capacity");
        // The ID is never taken over; the account may come back only with its own ID.
        vm.expectRevert(abi.encodeWithSelector(IProsumerRegistry.ProsumerIdTaken.selector, 3, alice));
        registry.register(bob, 3);
        vm.expectRevert(abi.encodeWithSelector(IProsumerRegistry.AccountBoundToOtherId.selector, alice, 3));
        registry.register(alice, 4);
        registry.register(alice, 3);
        assertTrue(registry.isRegistered(alice), "back");
        vm.expectRevert(abi.encodeWithSelector(IProsumerRegistry.NotRegistered.selector, bob));
        registry.deregister(bob);
        vm.stopPrank();
    }

    function test_assets_addRemoveAndTotals() public {
        vm.startPrank(admin);
        registry.register(alice, 1);
        vm.expectEmit(address(registry));
        emit BatteryAdded(alice, 0, 5000, 13_500);
        assertEq(registry.addBattery(alice, 5000, 13_500), 0, "index 0");
        assertEq(registry.addBattery(alice, 3000, 6000), 1, "index 1");
        vm.expectEmit(address(registry));
        emit PvSystemAdded(alice, 0, 8000);
        registry.addPvSystem(alice, 8000);
        registry.addPvSystem(alice, 2000);
        (uint256 pv, uint256 power, uint256 capacity) = registry.assetTotalsOf(alice);
        assertEq(pv, 10_000, "pv total");
        assertEq(power, 8000, "battery power");
        assertEq(capacity, 19_500, "battery capacity");

        registry.removeBattery(alice, 0);
        IProsumerRegistry.Battery[] memory batteries = registry.batteriesOf(alice);
        assertEq(batteries.length, 1, "one left");
        assertEq(batteries[0].powerW, 3000, "last moved into the gap");
        registry.removePvSystem(alice, 1);
        assertEq(registry.pvSystemsOf(alice)[0].peakPowerW, 8000, "first pv stays");

        vm.expectRevert(abi.encodeWithSelector(IProsumerRegistry.AssetIndexOutOfRange.selector, alice, 1, 1));
        registry.removeBattery(alice, 1);
        vm.expectRevert(abi.encodeWithSelector(IProsumerRegistry.AssetIndexOutOfRange.selector, alice, 5, 1));
        registry.removePvSystem(alice, 5);
        vm.expectRevert(IProsumerRegistry.InvalidAsset.selector);
        registry.addBattery(alice, 0, 1);
        vm.expectRevert(IProsumerRegistry.InvalidAsset.selector);
        registry.addPvSystem(alice, 0);
        uint256 tooBig = uint256(type(uint64).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(IProsumerRegistry.AssetValueOutOfRange.selector, tooBig));
        registry.addPvSystem(alice, tooBig);
        vm.expectRevert(abi.encodeWithSelector(IProsumerRegistry.NotRegistered.selector, bob));
        registry.addPvSystem(bob, 1);
        for (uint256 i = 1; i < registry.MAX_ASSETS_PER_KIND(); ++i) {
            registry.addPvSystem(alice, 100);
        }
        vm.expectRevert(abi.encodeWithSelector(IProsumerRegistry.TooManyAssets.selector, alice, 16));
        registry.addPvSystem(alice, 100);
        vm.stopPrank();
    }

    function test_registrarRole_required() public {
        bytes32 role = registry.REGISTRAR_ROLE();
        bytes memory err =
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, bob, role);
        vm.startPrank(bob);
        vm.expectRevert(err);
        registry.register(alice, 1);
        vm.expectRevert(err);
        registry.deregister(alice);
        vm.expectRevert(err);
        registry.addBattery(alice, 1, 1);
        vm.expectRevert(err);
        registry.addPvSystem(alice, 1);
        vm.stopPrank();
    }

    function test_constructor_zeroAdmin_reverts() public {
        vm.expectRevert(IProsumerRegistry.ZeroAddress.selector);
        new ProsumerRegistry(address(0));
    }
}
