// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyMarket} from "../../src/interfaces/IEnergyMarket.sol";
import {HintGasFixture} from "../utils/HintGasFixture.sol";
import {SignedOrderLib} from "../utils/SignedOrderFixture.sol";
import {console} from "forge-std/console.sol";

/// @notice `make bench-forge`: gas per order of `placeOrdersBySig` in a book of 1,000 bids and 1,000 asks, batches
/// of 1, 10 and 100 signed orders (ECDSA) with correct relayer hints. Transaction gas as in `HintGasFixture`:
/// 21,000 + calldata + execution measured cold (`vm.cool` of market and registry) - the 2,600 of the test's
/// cold CALL; before refunds. Half bids, half asks, spread over the book; every second order of a side goes into
/// the same gap as the one before it, so its hint is that order of the same batch (the book as the earlier
/// orders leave it). Signers are registered in `setUp`, so their registry slots are cold too.
contract SignedOrdersBench is HintGasFixture {
    uint256 internal constant N = 1000;
    uint256 internal constant BATCH = 100;
    /// @dev The goal per order in a batch of 100.
    uint256 internal constant GOAL_PER_ORDER = 50_000;

    address[] internal signers;
    uint256[] internal keys;

    function setUp() public override {
        super.setUp();
        _buildBook(N);
        for (uint256 j; j < BATCH; ++j) {
            uint256 key = 0xA11CE + j;
            address account = vm.addr(key);
            ++registered;
            vm.prank(admin);
            registry.register(account, registered);
            signers.push(account);
            keys.push(key);
        }
    }

    /// @dev Order `j` of the batch: side by `j % 4 < 2` (bids first), gap `g` of the book spread over it;
    /// the second order of a pair goes just behind the first (one unit worse), hinted by it.
    function _batch(uint256 n) internal view returns (IEnergyMarket.SignedOrder[] memory orders) {
        orders = new IEnergyMarket.SignedOrder[](n);
        for (uint256 j; j < n; ++j) {
            bool isBid = j % 4 < 2;
            bool second = j % 2 == 1;
            uint256 gap = (j / 4) * (N / (BATCH / 4)) + 7; // bids[gap] / asks[gap] come just before
            uint256 price =
                isBid ? _bidPrice(gap) - 1 - (second ? 1 : 0) : STEP * gap + 1 + 1 + (second ? 1 : 0);
            IEnergyMarket.SignedOrder memory o = IEnergyMarket.SignedOrder({
                prosumer: signers[j],
                windowId: w,
                side: isBid ? BUY : SELL,
                energyWh: KWH,
                pricePerKWh: price,
                nonce: 0,
                hintPrev: second ? signers[j - 1] : (isBid ? bids[gap] : asks[gap]),
                signature: ""
            });
            o.signature =
                SignedOrderLib.sign(keys[j], SignedOrderLib.orderDigest(address(market), block.chainid, o));
            orders[j] = o;
        }
    }

    function _perOrder(uint256 n) internal returns (uint256 perOrder) {
        IEnergyMarket.SignedOrder[] memory orders = _batch(n);
        uint256 gas = _txGas(makeAddr("relayer"), abi.encodeCall(market.placeOrdersBySig, (orders)));
        for (uint256 j; j < n; ++j) {
            (,,,, bool live) = market.getOrder(w, signers[j]);
            assertTrue(live, "every order placed");
        }
        perOrder = gas / n;
        console.log(
            string.concat(
                "| placeOrdersBySig, batch of ",
                vm.toString(n),
                " | ",
                vm.toString(gas),
                " | ",
                vm.toString(perOrder),
                " |"
            )
        );
    }

    function test_bench_signedBatch1() public {
        _perOrder(1);
    }

    function test_bench_signedBatch10() public {
        _perOrder(10);
    }

    function test_bench_signedBatch100() public {
        assertLe(_perOrder(100), GOAL_PER_ORDER);
    }
}
