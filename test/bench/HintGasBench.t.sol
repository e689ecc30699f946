// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {HintGasFixture} from "../utils/HintGasFixture.sol";
import {console} from "forge-std/console.sol";

/// @notice `make bench-forge`: placeOrder gas with correct and hostile hints (method in `HintGasFixture`). The book
/// is built in `setUp` and every figure has its own test, so that each measured transaction starts from
/// committed storage (a book built in the same test would make the neighbours' writes look 2,800 cheaper).
abstract contract HintGasBenchBase is HintGasFixture {
    function _size() internal pure virtual returns (uint256);

    function setUp() public override {
        super.setUp();
        _buildBook(_size());
    }

    function _row(string memory what, uint256 gas) internal pure {
        console.log(string.concat("| N=", vm.toString(_size()), ", ", what, " | ", vm.toString(gas), " |"));
    }

    function test_bench_correctHintHead() public {
        _row("correct hint, head", _correctHint(type(uint256).max));
    }

    function test_bench_correctHintMiddle() public {
        _row("correct hint, middle", _correctHint(_size() / 2));
    }

    function test_bench_correctHintTail() public {
        _row("correct hint, tail", _correctHint(_size() - 1));
    }

    function test_bench_replacementMiddle() public {
        _row("re-placement (second order of the prosumer), correct hint, middle", _replacement(_size() / 2));
    }

    function test_bench_cancelOrder() public {
        _row("cancelOrder, middle", _cancelGas(_size() / 2));
    }
}

contract HintGasBench100 is HintGasBenchBase {
    function _size() internal pure override returns (uint256) {
        return 100;
    }
}

contract HintGasBench1000 is HintGasBenchBase {
    function _size() internal pure override returns (uint256) {
        return 1000;
    }
}

/// @notice 10,000 bids and 10,000 asks; every hostile hint.
contract HintGasBench10000 is HintGasBenchBase {
    uint256 internal constant M = 5000;

    function _size() internal pure override returns (uint256) {
        return 10_000;
    }

    function test_bench_hintCancelled() public {
        _row("hinted order cancelled", _cancelledHint(M));
    }

    function test_bench_hintMovedToHead() public {
        _row("hinted owner cancels and re-places at the head", _movedHint(M, true));
    }

    function test_bench_hintMovedToTail() public {
        _row("hinted owner cancels and re-places at the tail", _movedHint(M, false));
    }

    function test_bench_hintMovedAsOftenAsAllowed() public {
        _moveToTail(M, market.MAX_PLACEMENTS_PER_WINDOW() - 1);
        address who = _newProsumer();
        _row(
            "hinted owner re-placed 7 times at the tail (its first node is the start)",
            _placeGas(who, BUY, _bidPrice(M) - 1, bids[M])
        );
    }

    function test_bench_hintDriftedMaxWalk() public {
        _row(
            "20 (MAX_HINT_WALK) orders placed after the hinted one since",
            _driftedHint(M, market.MAX_HINT_WALK())
        );
    }

    function test_bench_hintDriftedPastMaxWalk() public {
        _drift(M, market.MAX_HINT_WALK() + 1);
        _row(
            "21 orders placed after the hinted one since: HintTooFar",
            _hintTooFarGas(_newProsumer(), _bidPrice(M), bids[M])
        );
    }

    function test_bench_worstPlaced() public {
        _drift(M, market.MAX_HINT_WALK());
        _moveToTail(M, market.MAX_PLACEMENTS_PER_WINDOW() - 1);
        _row(
            "worst placed: re-placement, hinted owner with 8 nodes, 20 orders walked",
            _placeGas(replacer, BUY, _bidPrice(M), bids[M])
        );
    }

    function test_bench_hintWrongSide() public {
        _row("hint names an order on the other side: HintTooFar", _wrongSideHint(M));
    }

    function test_bench_hintOutsider() public {
        _row("hint names an outsider: HintTooFar", _outsiderHint(M));
    }

    function test_bench_hintFarBefore() public {
        _row("hint 2,500 orders before the place: HintTooFar", _farHint(M, M - 2500));
    }

    function test_bench_hintFarAfter() public {
        _row("hint 4,990 orders after the place: HintTooFar", _farHint(M, 9990));
    }

    function test_bench_noHintMiddle() public {
        _row("no hint, middle: HintTooFar", _noHint(M));
    }
}
