// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyMarket} from "../../src/interfaces/IEnergyMarket.sol";
import {ClearingModel} from "../utils/ClearingModel.sol";
import {MarketFixture} from "../utils/MarketFixture.sol";

/// @notice Random books (many equal prices, random and wrong hints, cancels and replacements) cleared on-chain
/// in random batch sizes must equal the independent model, trade by trade. Cancelled orders stay in the book as
/// tombstones, so the runs also cover hints naming cancelled prosumers (or prosumers that re-placed several
/// times), clearing over tombstones and rule 3 with a tombstone after the marginal order; the book seen by
/// `getBook` and every `orderNonce` are checked against the model too.
contract ClearingDifferentialTest is MarketFixture {
    uint256 internal constant PROSUMERS = 24;
    uint256 internal constant MAX_ACTIONS = 48;
    uint256 internal constant PRICE_LEVELS = 6;
    uint256 internal constant MAX_ENERGY = 9;

    address[] internal people;

    function setUp() public override {
        super.setUp();
        people = _prosumers(PROSUMERS);
    }

    function testFuzz_closeWindow_matchesModel(uint256 seed, uint256 actionCount, uint256 maxSteps) public {
        actionCount = bound(actionCount, 1, MAX_ACTIONS);
        maxSteps = bound(maxSteps, 1, 6);
        uint256 w = _open();

        ClearingModel.ModelOrder[] memory live = new ClearingModel.ModelOrder[](PROSUMERS);
        bool[] memory has = new bool[](PROSUMERS);
        uint256[] memory placements = new uint256[](PROSUMERS);
        uint256 seq;
        for (uint256 k; k < actionCount; ++k) {
            uint256 r = uint256(keccak256(abi.encode(seed, k)));
            uint256 who = r % PROSUMERS;
            if (has[who]) {
                if ((r >> 8) % 2 != 0) continue; // keep half of the existing orders
                vm.prank(people[who]);
                market.cancelOrder(w);
                has[who] = false;
                continue;
            }
            bool isBid = (r >> 16) % 2 == 0;
            uint256 energy = 1 + (r >> 24) % MAX_ENERGY;
            uint256 price = 1 + (r >> 32) % PRICE_LEVELS;
            address hint = _hint(w, isBid ? BUY : SELL, price, r >> 40);
            // Hostile: the hinted owner cancels and re-places elsewhere (another price or side) before the
            // victim's transaction; the model sees the move as a cancel and a new placement.
            if ((r >> 48) % 4 == 0) seq = _moveHinted(w, hint, r, live, has, placements, seq);
            vm.prank(people[who]);
            market.placeOrder(w, isBid ? BUY : SELL, energy, price, hint);
            ++placements[who];
            live[who] = ClearingModel.ModelOrder(who, isBid, energy, price, seq++, 0);
            has[who] = true;
        }

        ClearingModel.Result memory expected = ClearingModel.clear(_liveOrders(live, has));
        _assertBookOrder(w, BUY, expected.bids);
        _assertBookOrder(w, SELL, expected.asks);
        for (uint256 i; i < PROSUMERS; ++i) {
            assertEq(market.orderNonce(w, people[i]), placements[i], "orderNonce counts placements");
        }

        _warpToClose(w);
        uint256 calls;
        while (!market.closeWindow(w, maxSteps)) {
            ++calls;
            assertLe(calls * maxSteps, expected.trades.length, "more calls than batches");
        }
        assertEq(_price(w), expected.price, "price");
        assertEq(_cleared(w), expected.cleared, "cleared energy");
        assertEq(_tradeCount(w), expected.trades.length, "trade count");
        for (uint256 t; t < expected.trades.length; ++t) {
            _assertTrade(
                w,
                t,
                people[expected.trades[t].buyer],
                people[expected.trades[t].seller],
                expected.trades[t].energy
            );
        }
        _assertFills(w, expected.bids);
        _assertFills(w, expected.asks);
    }

    /// @dev A hint that is right, right but shifted by one order (stale), at the head, random (possibly
    /// another side, a cancelled order or no order), or an outsider.
    function _hint(uint256 w, IEnergyMarket.Side side, uint256 price, uint256 r) internal returns (address) {
        uint256 kind = r % 6;
        if (kind <= 1) return market.findHint(w, side, price);
        if (kind == 2) {
            address right = market.findHint(w, side, price);
            address[] memory book = _book(w, side);
            for (uint256 i; i < book.length; ++i) {
                if (book[i] == right) {
                    return i + 1 < book.length ? book[i + 1] : (i > 0 ? book[i - 1] : right);
                }
            }
            return book.length == 0 ? address(0) : book[0];
        }
        if (kind == 3) return address(0);
        if (kind == 4) return people[(r >> 4) % PROSUMERS];
        return makeAddr("outsider");
    }

    /// @dev The owner of `hint` (if it has a live order) cancels, and mostly re-places at a random price and side
    /// (once or twice), else leaves its order cancelled (the hint then names a tombstone).
    function _moveHinted(
        uint256 w,
        address hint,
        uint256 r,
        ClearingModel.ModelOrder[] memory live,
        bool[] memory has,
        uint256[] memory placements,
        uint256 seq
    ) internal returns (uint256) {
        uint256 h = _indexOf(hint);
        if (h >= PROSUMERS || !has[h]) return seq;
        bool movedBid = (r >> 56) % 2 == 0;
        uint256 movedPrice = 1 + (r >> 64) % PRICE_LEVELS;
        uint256 moves = (r >> 72) % 3; // 0: cancel only
        vm.startPrank(people[h]);
        market.cancelOrder(w);
        for (uint256 m; m < moves; ++m) {
            if (m != 0) market.cancelOrder(w);
            market.placeOrder(w, movedBid ? BUY : SELL, live[h].energy, movedPrice + m, address(0));
            ++placements[h];
        }
        vm.stopPrank();
        if (moves == 0) {
            has[h] = false;
            return seq;
        }
        movedPrice += moves - 1;
        live[h] = ClearingModel.ModelOrder(h, movedBid, live[h].energy, movedPrice, seq, 0);
        return seq + 1;
    }

    /// @dev `getBook` lists exactly the model's sorted live orders of one side.
    function _assertBookOrder(uint256 w, IEnergyMarket.Side side, ClearingModel.ModelOrder[] memory sorted)
        internal
        view
    {
        address[] memory book = _book(w, side);
        assertEq(book.length, sorted.length, "book length");
        for (uint256 i; i < sorted.length; ++i) {
            assertEq(book[i], people[sorted[i].owner], "book order");
        }
    }

    function _indexOf(address account) internal view returns (uint256) {
        for (uint256 i; i < PROSUMERS; ++i) {
            if (people[i] == account) return i;
        }
        return type(uint256).max;
    }

    function _liveOrders(ClearingModel.ModelOrder[] memory live, bool[] memory has)
        internal
        pure
        returns (ClearingModel.ModelOrder[] memory orders)
    {
        orders = new ClearingModel.ModelOrder[](live.length);
        uint256 n;
        for (uint256 i; i < live.length; ++i) {
            if (has[i]) orders[n++] = live[i];
        }
        assembly ("memory-safe") {
            mstore(orders, n)
        }
    }

    function _assertFills(uint256 w, ClearingModel.ModelOrder[] memory list) internal view {
        for (uint256 i; i < list.length; ++i) {
            (, uint256 energy, uint256 price, uint256 filled, bool isLive) =
                market.getOrder(w, people[list[i].owner]);
            assertTrue(isLive, "live");
            assertEq(energy, list[i].energy, "energy");
            assertEq(price, list[i].price, "price of order");
            assertEq(filled, list[i].filled, "filled");
        }
    }
}
