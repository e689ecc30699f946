// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {
    AutomationCompatibleInterface
} from "@chainlink/contracts/src/v0.8/automation/interfaces/AutomationCompatibleInterface.sol";

/// @notice Calls an upkeep the way a Chainlink Automation registry does: `checkUpkeep` off-chain, then
/// `performUpkeep(performData)` with a fixed gas limit (the registry's `performGasLimit`).
contract MockAutomationRegistry {
    /// @notice Chainlink's cap on a perform.
    uint256 public constant PERFORM_GAS_LIMIT = 5_000_000;

    error PerformFailed(bytes performData, bytes revertData);

    /// @notice One cycle; false when nothing was due. Reverts when the perform fails.
    function cycle(AutomationCompatibleInterface upkeep) external returns (bool performed, uint256 gasUsed) {
        (bool needed, bytes memory performData) = upkeep.checkUpkeep("");
        if (!needed) return (false, 0);
        uint256 before = gasleft();
        (bool ok, bytes memory revertData) = address(upkeep).call{gas: PERFORM_GAS_LIMIT}(
            abi.encodeCall(AutomationCompatibleInterface.performUpkeep, (performData))
        );
        gasUsed = before - gasleft();
        if (!ok) revert PerformFailed(performData, revertData);
        return (true, gasUsed);
    }
}
