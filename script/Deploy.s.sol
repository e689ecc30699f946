// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EnergyMarket} from "../src/EnergyMarket.sol";
import {EnergyToken} from "../src/EnergyToken.sol";
import {ProsumerRegistry} from "../src/ProsumerRegistry.sol";
import {Script} from "forge-std/Script.sol";

/// @notice Deploys token, registry and market, grants roles and writes `deployments/<chainId>.json`.
/// Environment: PRIVATE_KEY (deployer, required), WINDOW_DURATION (default 3600), SETTLEMENT_GRACE
/// (default 1800), ADMIN (default: the deployer), KEEPER (optional: gets the oracle role).
/// When ADMIN differs from the deployer, the deployer hands every role over and renounces its own.
/// `startBlock` in the file is the block before the deployment: a lower bound for log scans.
contract Deploy is Script {
    uint256 internal constant DEFAULT_WINDOW_DURATION = 3600;
    uint256 internal constant DEFAULT_SETTLEMENT_GRACE = 1800;

    struct Deployment {
        EnergyToken token;
        ProsumerRegistry registry;
        EnergyMarket market;
        address admin;
        address keeper;
        uint256 windowDuration;
        uint256 settlementGrace;
    }

    function run() external returns (Deployment memory d) {
        uint256 key = vm.envUint("PRIVATE_KEY");
        address deployer = vm.addr(key);
        d.admin = vm.envOr("ADMIN", deployer);
        d.keeper = vm.envOr("KEEPER", address(0));
        d.windowDuration = vm.envOr("WINDOW_DURATION", DEFAULT_WINDOW_DURATION);
        d.settlementGrace = vm.envOr("SETTLEMENT_GRACE", DEFAULT_SETTLEMENT_GRACE);

        vm.startBroadcast(key);
        d.token = new EnergyToken(deployer);
        d.registry = new ProsumerRegistry(deployer);
        d.market = new EnergyMarket(d.token, d.registry, d.windowDuration, d.settlementGrace, deployer);
        if (d.keeper != address(0)) d.market.grantRole(d.market.ORACLE_ROLE(), d.keeper);
        if (d.admin != deployer) _handOver(d, deployer);
        vm.stopBroadcast();

        _write(d);
    }

    function _handOver(Deployment memory d, address deployer) internal {
        bytes32 admin = d.token.DEFAULT_ADMIN_ROLE();
        d.token.grantRole(d.token.MINTER_ROLE(), d.admin);
        d.token.grantRole(admin, d.admin);
        d.token.renounceRole(d.token.MINTER_ROLE(), deployer);
        d.token.renounceRole(admin, deployer);

        d.registry.grantRole(d.registry.REGISTRAR_ROLE(), d.admin);
        d.registry.grantRole(admin, d.admin);
        d.registry.renounceRole(d.registry.REGISTRAR_ROLE(), deployer);
        d.registry.renounceRole(admin, deployer);

        d.market.grantRole(d.market.ORACLE_ROLE(), d.admin);
        d.market.grantRole(d.market.PAUSER_ROLE(), d.admin);
        d.market.grantRole(admin, d.admin);
        d.market.renounceRole(d.market.ORACLE_ROLE(), deployer);
        d.market.renounceRole(d.market.PAUSER_ROLE(), deployer);
        d.market.renounceRole(admin, deployer);
    }

    function _write(Deployment memory d) internal {
        string memory o = "deployment";
        vm.serializeUint(o, "chainId", block.chainid);
        vm.serializeUint(o, "startBlock", block.number);
        vm.serializeAddress(o, "token", address(d.token));
        vm.serializeAddress(o, "registry", address(d.registry));
        vm.serializeAddress(o, "admin", d.admin);
        vm.serializeAddress(o, "keeper", d.keeper);
        vm.serializeUint(o, "windowDuration", d.windowDuration);
        vm.serializeUint(o, "settlementGrace", d.settlementGrace);
        string memory json = vm.serializeAddress(o, "market", address(d.market));
        vm.writeJson(
            json, string.concat(vm.projectRoot(), "/deployments/", vm.toString(block.chainid), ".json")
        );
    }
}
