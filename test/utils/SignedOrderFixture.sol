// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyMarket} from "../../src/interfaces/IEnergyMarket.sol";
import {Vm} from "forge-std/Vm.sol";

/// @notice EIP-712 signing of market orders and cancels, computed independently of the market's code.
library SignedOrderLib {
    Vm internal constant VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant ORDER_TYPEHASH = keccak256(
        "Order(address prosumer,uint256 windowId,uint8 side,uint256 energyWh,uint256 pricePerKWh,uint256 nonce)"
    );
    bytes32 internal constant CANCEL_TYPEHASH =
        keccak256("Cancel(address prosumer,uint256 windowId,uint256 nonce)");

    function domainSeparator(address market, uint256 chainId) internal pure returns (bytes32) {
        return
            keccak256(abi.encode(DOMAIN_TYPEHASH, keccak256("EnergyMarket"), keccak256("1"), chainId, market));
    }

    function orderDigest(address market, uint256 chainId, IEnergyMarket.SignedOrder memory o)
        internal
        pure
        returns (bytes32)
    {
        bytes32 structHash = keccak256(
            abi.encode(
                ORDER_TYPEHASH, o.prosumer, o.windowId, uint8(o.side), o.energyWh, o.pricePerKWh, o.nonce
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator(market, chainId), structHash));
    }

    function cancelDigest(address market, uint256 chainId, address prosumer, uint256 windowId, uint256 nonce)
        internal
        pure
        returns (bytes32)
    {
        bytes32 structHash = keccak256(abi.encode(CANCEL_TYPEHASH, prosumer, windowId, nonce));
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator(market, chainId), structHash));
    }

    function sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = VM.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }
}
