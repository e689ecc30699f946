// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice An ERC-20 whose `transferFrom` misbehaves for one chosen payer: returns false, reverts, or re-enters.
contract MisbehavingToken is ERC20 {
    enum Mode {
        Honest,
        ReturnFalse,
        Revert,
        Reenter
    }

    Mode public mode;
    address public victim;
    address public reentryTarget;
    bytes public reentryCall;

    constructor() ERC20("Misbehaving", "BAD") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function misbehaveFor(address payer, Mode mode_) external {
        victim = payer;
        mode = mode_;
    }

    function setReentry(address target, bytes calldata data) external {
        reentryTarget = target;
        reentryCall = data;
    }

    function transferFrom(address from, address to, uint256 value) public override returns (bool) {
        if (from == victim) {
            if (mode == Mode.ReturnFalse) return false;
            if (mode == Mode.Revert) revert("token says no");
            if (mode == Mode.Reenter) {
                (bool ok, bytes memory err) = reentryTarget.call(reentryCall);
                if (!ok) {
                    assembly ("memory-safe") {
                        revert(add(err, 32), mload(err))
                    }
                }
            }
        }
        return super.transferFrom(from, to, value);
    }
}
