// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EnergyMarket} from "../src/EnergyMarket.sol";
import {EnergyToken} from "../src/EnergyToken.sol";
import {ProsumerRegistry} from "../src/ProsumerRegistry.sol";
import {Script} from "forge-std/Script.sol";

/// @notice Deploys token, registry and market, grants roles and writes `deployments/<chainId>.json`.
/// Environment, all required (nothing falls back to a default; an unparsable value fails the script):
/// PRIVATE_KEY (deployer), WINDOW_DURATION and SETTLEMENT_GRACE (seconds), ADMIN (the deployer's own address
/// to keep the roles), KEEPER (gets the oracle role; the zero address for none) and DEPLOYMENTS_DIR (where
/// `<chainId>.json` is written; it must be allowed by `fs_permissions` in foundry.toml).
/// When ADMIN differs from the deployer, the deployer hands every role over and renounces its own.
/// `startBlock` in the file is the block before the deployment: a lower bound for log scans.
contract Deploy is Script {
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
        // vm.envUint/envAddress revert on a missing or unparsable value (vm.envOr would silently use its default).
        d.admin = vm.envAddress("ADMIN");
        d.keeper = vm.envAddress("KEEPER");
        d.windowDuration = vm.envUint("WINDOW_DURATION");
        d.settlementGrace = vm.envUint("SETTLEMENT_GRACE");
        string memory dir = vm.envString("DEPLOYMENTS_DIR");

        vm.startBroadcast(key);
        d.token = new EnergyToken(deployer);
        d.registry = new ProsumerRegistry(deployer);
        d.market = new EnergyMarket(d.token, d.registry, d.windowDuration, d.settlementGrace, deployer);
        if (d.keeper != address(0)) d.market.grantRole(d.market.ORACLE_ROLE(), d.keeper);
        if (d.admin != deployer) _handOver(d, deployer);
        vm.stopBroadcast();

        _write(d, dir);
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

    function _write(Deployment memory d, string memory dir) internal {
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
        vm.writeJson(json, string.concat(dir, "/", vm.toString(block.chainid), ".json"));
    }
}
