// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {MarketFixture} from "../utils/MarketFixture.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

contract TokenTest is MarketFixture {
    function test_metadata() public view {
        assertEq(token.decimals(), 18, "decimals");
        assertEq(token.symbol(), "CET", "symbol");
        assertTrue(token.hasRole(token.MINTER_ROLE(), admin), "minter");
    }

    function test_mint_onlyMinter() public {
        address alice = makeAddr("alice");
        vm.prank(admin);
        token.mint(alice, 5 * TOKEN);
        assertEq(token.balanceOf(alice), 5 * TOKEN, "minted");
        bytes32 role = token.MINTER_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, alice, role)
        );
        vm.prank(alice);
        token.mint(alice, 1);
    }

    function test_permit_setsAllowance() public {
        (address owner, uint256 key) = makeAddrAndKey("owner");
        address spender = address(market);
        uint256 deadline = block.timestamp + 1 hours;
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256(
                    "Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"
                ),
                owner,
                spender,
                100 * TOKEN,
                token.nonces(owner),
                deadline
            )
        );
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        token.permit(owner, spender, 100 * TOKEN, deadline, v, r, s);
        assertEq(token.allowance(owner, spender), 100 * TOKEN, "allowance");
        assertEq(token.nonces(owner), 1, "nonce");
    }
}
