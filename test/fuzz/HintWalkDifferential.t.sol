// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyMarket} from "../../src/interfaces/IEnergyMarket.sol";
import {MarketFixture} from "../utils/MarketFixture.sol";

/// @notice The bounded hint walk against a node-level model of one side of the book: every node ever placed
/// (tombstones included) in book order. For a placement with hint `h` the model predicts the start (the latest
/// node of `h` that precedes the new order, else the head) and the number of preceding nodes between the start
/// and the place; `placeOrder` must revert `HintTooFar` exactly when that number exceeds `MAX_HINT_WALK`, and
/// otherwise put the order where the model does. Books are deep enough (up to ~90 nodes) that both happen.
contract HintWalkDifferentialTest is MarketFixture {
    uint256 internal constant PROSUMERS = 40;
    uint256 internal constant MAX_ACTIONS = 240;
    uint256 internal constant PRICE_LEVELS = 12;

    struct Node {
        uint256 owner;
        uint256 price;
        bool live;
    }

    address[] internal people;
    /// @dev The bid side, node by node in book order.
    Node[] internal nodes;
    bool[] internal hasLive;
    uint256[] internal placements;
    uint256 internal tooFar;

    function setUp() public override {
        super.setUp();
        people = _prosumers(PROSUMERS);
        hasLive = new bool[](PROSUMERS);
        placements = new uint256[](PROSUMERS);
    }

    /// forge-config: default.fuzz.runs = 300
    function testFuzz_placeOrder_hintWalkBoundMatchesModel(uint256 seed, uint256 actionCount) public {
        actionCount = bound(actionCount, 120, MAX_ACTIONS);
        uint256 w = _open();
        uint256 maxPlacements = market.MAX_PLACEMENTS_PER_WINDOW();
        uint256 limit = market.MAX_HINT_WALK();
        for (uint256 k; k < actionCount; ++k) {
            uint256 r = uint256(keccak256(abi.encode(seed, k)));
            uint256 who = r % PROSUMERS;
            if (hasLive[who]) {
                if ((r >> 8) % 2 != 0) continue;
                vm.prank(people[who]);
                market.cancelOrder(w);
                _kill(who);
                continue;
            }
            if (placements[who] == maxPlacements) continue;
            _placeChecked(w, who, r, limit);
            assertEq(market.orderNonce(w, people[who]), placements[who], "nonce");
        }
        _assertBook(w);
        emit log_named_uint("refused HintTooFar", tooFar);
    }

    /// @dev A deep book where most hints are far: refusals must occur, with the bound exact at the edge.
    function test_placeOrder_hintWalkBound_exactAtTheEdge() public {
        uint256 w = _open();
        uint256 limit = market.MAX_HINT_WALK();
        // limit + 1 bids at one price behind the head, then one more at a lower price.
        for (uint256 i; i <= limit + 1; ++i) {
            _place(w, people[i], BUY, KWH, 100);
            _insert(i, 100);
        }
        // A bid at 100 with no hint passes limit + 2 preceding nodes: refused; with the head's owner as hint it
        // passes limit + 1: refused; with the second's owner it passes limit: placed.
        uint256 who = limit + 2;
        vm.startPrank(people[who]);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.HintTooFar.selector, w, address(0)));
        market.placeOrder(w, BUY, KWH, 100, address(0));
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.HintTooFar.selector, w, people[0]));
        market.placeOrder(w, BUY, KWH, 100, people[0]);
        market.placeOrder(w, BUY, KWH, 100, people[1]);
        vm.stopPrank();
        _insert(who, 100);
        _assertBook(w);
    }

    /// @dev One bid of `who` at a random price with a random hint (or none), checked against the model.
    function _placeChecked(uint256 w, uint256 who, uint256 r, uint256 limit) internal {
        uint256 price = 1 + (r >> 16) % PRICE_LEVELS;
        uint256 hintOwner = (r >> 24) % (PROSUMERS + 1); // PROSUMERS: address(0)
        address hint = hintOwner == PROSUMERS ? address(0) : people[hintOwner];
        uint256 walk = _modelWalk(hintOwner, price);
        vm.prank(people[who]);
        if (walk > limit) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.HintTooFar.selector, w, hint));
            market.placeOrder(w, BUY, KWH, price, hint);
            ++tooFar;
            // The findHint answer always places it (no walk).
            address found = market.findHint(w, BUY, price);
            assertEq(_modelWalk(_ownerOf(found), price), 0, "findHint is exact");
            vm.prank(people[who]);
            market.placeOrder(w, BUY, KWH, price, found);
        } else {
            market.placeOrder(w, BUY, KWH, price, hint);
        }
        _insert(who, price);
    }

    // ------------------------------------------------------------ the model

    /// @dev How many preceding nodes `placeOrder` must walk past from its start for a bid at `price` hinted by
    /// prosumer `hintOwner` (`PROSUMERS` or an unknown index: no hint).
    function _modelWalk(uint256 hintOwner, uint256 price) internal view returns (uint256) {
        uint256 place = _placeIndex(price); // nodes [0, place) precede
        uint256 startPlusOne; // 0: the head
        for (uint256 i; i < place; ++i) {
            if (nodes[i].owner == hintOwner) startPlusOne = i + 1;
        }
        return place - startPlusOne;
    }

    function _placeIndex(uint256 price) internal view returns (uint256 index) {
        while (index < nodes.length && nodes[index].price >= price) ++index;
    }

    function _insert(uint256 who, uint256 price) internal {
        uint256 at = _placeIndex(price);
        nodes.push();
        for (uint256 i = nodes.length - 1; i > at; --i) {
            nodes[i] = nodes[i - 1];
        }
        nodes[at] = Node(who, price, true);
        hasLive[who] = true;
        ++placements[who];
    }

    function _kill(uint256 who) internal {
        for (uint256 i; i < nodes.length; ++i) {
            if (nodes[i].owner == who && nodes[i].live) nodes[i].live = false;
        }
        hasLive[who] = false;
    }

    function _ownerOf(address account) internal view returns (uint256) {
        for (uint256 i; i < PROSUMERS; ++i) {
            if (people[i] == account) return i;
        }
        return PROSUMERS;
    }

    function _assertBook(uint256 w) internal view {
        address[] memory book = _book(w, BUY);
        uint256 j;
        for (uint256 i; i < nodes.length; ++i) {
            if (!nodes[i].live) continue;
            assertEq(book[j++], people[nodes[i].owner], "book order");
        }
        assertEq(book.length, j, "book length");
    }
}
