// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {HintGasFixture} from "../utils/HintGasFixture.sol";

/// @notice Gas bounds of `placeOrder` with correct and hostile hints in a book of 1,000 bids and 1,000 asks.
/// Transaction gas as in `HintGasFixture` (21,000 + calldata + cold execution measured with `gasleft`; a few
/// hundred gas above the receipts of `make bench`). The 10,000-per-side figures are in
/// test/bench/HintGasBench.t.sol (`make bench-forge`).
contract HintGasTest is HintGasFixture {
    uint256 internal constant N = 1000;
    /// @dev The goal, at every position: 61,876 head, 69,549 middle, 67,272 tail measured here.
    uint256 internal constant CORRECT_HINT_GOAL = 70_000;
    /// @dev A prosumer's later placement writes a fresh node and bumps the count in its home node: 75,212
    /// measured here (first placement + ~5,700). Pinned so that it does not grow unnoticed.
    uint256 internal constant REPLACEMENT_BOUND = 75_500;
    /// @dev O(1), one node written: 40,287 measured here. Pinned.
    uint256 internal constant CANCEL_BOUND = 40_500;
    uint256 internal constant HOSTILE_HINT_GOAL = 150_000;

    function setUp() public override {
        super.setUp();
        _buildBook(N);
    }

    function test_placeOrder_correctHintAtHead_under70k() public {
        assertLe(_correctHint(type(uint256).max), CORRECT_HINT_GOAL);
    }

    function test_placeOrder_correctHintInMiddle_under70k() public {
        assertLe(_correctHint(N / 2), CORRECT_HINT_GOAL);
    }

    function test_placeOrder_correctHintAtTail_under70k() public {
        assertLe(_correctHint(N - 1), CORRECT_HINT_GOAL);
    }

    function test_placeOrder_replacementWithCorrectHint_pinned() public {
        assertLe(_replacement(N / 2), REPLACEMENT_BOUND);
    }

    function test_cancelOrder_pinned() public {
        assertLe(_cancelGas(N / 2), CANCEL_BOUND);
    }

    /// @dev The hinted owner cancelled and re-placed three times elsewhere: its oldest node is out of reach of
    /// `HINT_STARTS`, so the walk starts from the head (still correct).
    function test_placeOrder_hintOwnerMovedThreeTimes_walksFromHeadButCorrect() public {
        uint256 i = N / 2;
        address owner = bids[i];
        vm.startPrank(owner);
        for (uint256 k; k < 3; ++k) {
            market.cancelOrder(w);
            market.placeOrder(w, BUY, KWH, 1 + k, bids[N - 1]);
        }
        vm.stopPrank();
        address who = _newProsumer();
        _placeGas(who, BUY, _bidPrice(i) - 1, owner);
        _assertAfter(who, bids[i - 1]);
    }

    function test_placeOrder_hintOfCancelledOrder_under150k() public {
        assertLe(_cancelledHint(N / 2), HOSTILE_HINT_GOAL);
    }

    function test_placeOrder_hintOwnerCancelsAndReplacesAtHead_under150k() public {
        assertLe(_movedHint(N / 2, true), HOSTILE_HINT_GOAL);
    }

    function test_placeOrder_hintOwnerCancelsAndReplacesAtTail_under150k() public {
        assertLe(_movedHint(N / 2, false), HOSTILE_HINT_GOAL);
    }

    /// @dev The hinted owner and the order before it both moved away: the owner's first node (a tombstone in
    /// place) is used after its current node (at the head) was walked in vain.
    function test_placeOrder_hintOwnerAndPredecessorBothMove_under150k() public {
        uint256 i = N / 2;
        address owner = bids[i];
        address before = bids[i - 1];
        vm.prank(owner);
        market.cancelOrder(w);
        vm.startPrank(before);
        market.cancelOrder(w);
        market.placeOrder(w, BUY, KWH, 1, address(0));
        vm.stopPrank();
        vm.prank(owner);
        market.placeOrder(w, BUY, KWH, TOP + 2, address(0));
        address who = _newProsumer();
        uint256 gas = _placeGas(who, BUY, _bidPrice(i) - 1, owner);
        _assertAfter(who, bids[i - 2]);
        assertLe(gas, HOSTILE_HINT_GOAL);
    }

    /// @dev Orders placed at the hinted price since the hint was read: cheap up to `HINT_WALK_STEPS` of them.
    function test_placeOrder_hintDriftedByWalkSteps_under150k() public {
        assertLe(_driftedHint(N / 2, market.HINT_WALK_STEPS()), HOSTILE_HINT_GOAL);
    }

    /// @dev Beyond the bound each order placed since costs one step (~2,500 gas), paid by whoever placed it
    /// with ~25 times that: a drift the size of the book is not in reach of one prosumer.
    function test_placeOrder_hintDriftedBy30_costsAboutOneStepPerOrder() public {
        uint256 gas = _driftedHint(N / 2, 30);
        assertLe(gas, CORRECT_HINT_GOAL + 31 * 2600);
    }

    /// @dev Hints that name no usable order (other side, outsider, an order far away) cost a walk from the
    /// furthest order known to precede (the head for these): never more than no hint at all.
    function test_placeOrder_wrongSideHint_costsNoMoreThanNoHint() public {
        uint256 hostile = _wrongSideHint(N / 2);
        uint256 none = _noHint(N / 2 + 2);
        assertLe(hostile, none + 3000, "wrong side");
    }

    function test_placeOrder_outsiderHint_costsNoMoreThanNoHint() public {
        uint256 hostile = _outsiderHint(N / 2);
        uint256 none = _noHint(N / 2 + 2);
        assertLe(hostile, none + 3000, "outsider");
    }

    function test_placeOrder_farHintBefore_costsLessThanNoHint() public {
        uint256 hostile = _farHint(N / 2, N / 4);
        uint256 none = _noHint(N / 2 + 2);
        assertLt(hostile, none, "far hint before the place walks from the hint");
    }

    function test_placeOrder_farHintAfter_costsNoMoreThanNoHint() public {
        uint256 hostile = _farHint(N / 2, N - 1);
        uint256 none = _noHint(N / 2 + 2);
        assertLe(hostile, none + 3000, "far hint after the place: no backward walk, from the head");
    }
}

/// @notice The hinted order was cancelled in `setUp` (a cancel in the test itself would leave the slots it wrote
/// warm and dirty and understate the placement by ~5,000): its tombstone is still in place, as good a start as
/// the order, and it is the `findHint` answer.
contract HintGasCancelledHintTest is HintGasFixture {
    uint256 internal constant N = 1000;

    function setUp() public override {
        super.setUp();
        _buildBook(N);
        vm.prank(bids[N / 2]);
        market.cancelOrder(w);
    }

    function test_placeOrder_hintOfCancelledOrder_under70k() public {
        address who = _newProsumer();
        uint256 gas = _placeGas(who, BUY, _bidPrice(N / 2) - 1, bids[N / 2]);
        _assertAfter(who, bids[N / 2 - 1]);
        assertEq(market.findHint(w, BUY, _bidPrice(N / 2)), bids[N / 2], "the tombstone owner is the hint");
        assertLe(gas, 70_000);
    }
}
