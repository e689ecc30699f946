// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {MarketFixture} from "../utils/MarketFixture.sol";

/// @notice The market must deploy on chains that enforce EIP-170 (the keeper's local anvil does not).
contract CodeSizeTest is MarketFixture {
    uint256 internal constant EIP170_LIMIT = 24_576;

    function test_marketRuntimeCode_fitsEip170() public view {
        assertLe(address(market).code.length, EIP170_LIMIT, "EnergyMarket runtime code over 24,576 bytes");
        assertLe(
            address(registry).code.length, EIP170_LIMIT, "ProsumerRegistry runtime code over 24,576 bytes"
        );
        assertLe(address(token).code.length, EIP170_LIMIT, "EnergyToken runtime code over 24,576 bytes");
    }
}
