// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyMarket} from "../../src/interfaces/IEnergyMarket.sol";
import {MarketFixture} from "./MarketFixture.sol";

/// @notice Books of N bids and N asks at distinct prices, and the transaction gas of one `placeOrder` in them.
/// Transaction gas = 21,000 + calldata gas + execution gas, execution measured with `gasleft` around the call
/// after every touched account and slot was made cold (`vm.cool`), minus the 2,600 of the cold CALL that a
/// real transaction does not pay (same method as test/bench/GasBenchmark.t.sol). Before refunds.
abstract contract HintGasFixture is MarketFixture {
    uint256 internal constant TX_BASE = 21_000;
    uint256 internal constant COLD_CALL = 2600;
    /// @dev Bids at 1,000,000 - 10 i, asks at 10 i + 1: distinct, leave room between neighbours.
    uint256 internal constant TOP = 1_000_000;
    uint256 internal constant STEP = 10;

    uint256 internal w;
    uint256 internal registered;
    address[] internal bids; // bids[i]: the i-th bid of the book (price TOP - STEP i)
    address[] internal asks; // asks[i]: the i-th ask (price STEP i + 1)
    /// @dev Prosumers registered in `setUp` (`_buildBook`) for the measured transactions: a registration made
    /// in the test itself would leave the registry slot warm (`vm.cool` does not make it cold again) and
    /// understate the gas of a real transaction by ~2,000.
    address[] internal spare;
    /// @dev A prosumer whose ask (at the asks' tail) was placed and cancelled in `setUp`.
    address internal replacer;
    uint256 internal constant SPARE = 16;

    /// @dev A registered prosumer without orders: from `spare` while it lasts, else registered now.
    function _newProsumer() internal returns (address account) {
        if (spare.length != 0) {
            account = spare[spare.length - 1];
            spare.pop();
            return account;
        }
        account = _register();
    }

    function _register() internal returns (address account) {
        account = address(uint160(0x100000 + registered));
        ++registered;
        vm.prank(admin);
        registry.register(account, registered);
    }

    /// @dev Grows the book to `n` bids and `n` asks, each placed at its tail with the right hint.
    function _buildBook(uint256 n) internal {
        if (w == 0) w = _open();
        while (spare.length < SPARE) {
            spare.push(_register());
        }
        for (uint256 i = bids.length; i < n; ++i) {
            address b = _register();
            vm.prank(b);
            market.placeOrder(w, BUY, KWH, TOP - STEP * i, i == 0 ? address(0) : bids[i - 1]);
            bids.push(b);
            address a = _register();
            vm.prank(a);
            market.placeOrder(w, SELL, KWH, STEP * i + 1, i == 0 ? address(0) : asks[i - 1]);
            asks.push(a);
        }
        if (replacer == address(0)) {
            replacer = _register();
            vm.startPrank(replacer);
            market.placeOrder(w, SELL, KWH, 10 * TOP, asks[asks.length - 1]);
            market.cancelOrder(w);
            vm.stopPrank();
        }
    }

    function _bidPrice(uint256 i) internal pure returns (uint256) {
        return TOP - STEP * i;
    }

    function _calldataGas(bytes memory data) internal pure returns (uint256 gas) {
        for (uint256 i; i < data.length; ++i) {
            gas += data[i] == 0 ? 4 : 16;
        }
    }

    /// @dev Transaction gas of `who` placing a bid at `price` with `hint` (reverts if the call fails).
    function _placeGas(address who, IEnergyMarket.Side side, uint256 price, address hint)
        internal
        returns (uint256)
    {
        return _txGas(who, abi.encodeCall(market.placeOrder, (w, side, KWH, price, hint)));
    }

    /// @dev Transaction gas of `who` sending `data` to the market (reverts if the call fails).
    function _txGas(address who, bytes memory data) internal returns (uint256 gas) {
        (bool ok, uint256 used, bytes memory ret) = _txGasTry(who, data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
        return used;
    }

    /// @dev Transaction gas of `who` sending `data` to the market, and whether the call succeeded.
    function _txGasTry(address who, bytes memory data)
        internal
        returns (bool ok, uint256 gas, bytes memory ret)
    {
        vm.cool(address(market));
        vm.cool(address(registry));
        vm.prank(who);
        uint256 before = gasleft();
        (ok, ret) = address(market).call(data);
        uint256 used = before - gasleft();
        gas = TX_BASE + _calldataGas(data) + used - COLD_CALL;
    }

    /// @dev Transaction gas of a `placeOrder` that must revert with `HintTooFar(w, hint)`; the book is unchanged.
    function _hintTooFarGas(address who, uint256 price, address hint) internal returns (uint256 gas) {
        uint256 before = _book(w, BUY).length;
        bool ok;
        bytes memory ret;
        (ok, gas, ret) = _txGasTry(who, abi.encodeCall(market.placeOrder, (w, BUY, KWH, price, hint)));
        assertFalse(ok, "placeOrder must revert");
        assertEq(
            ret, abi.encodeWithSelector(IEnergyMarket.HintTooFar.selector, w, hint), "HintTooFar(w, hint)"
        );
        assertEq(_book(w, BUY).length, before, "nothing placed");
        // The findHint answer places the same order.
        address found = market.findHint(w, BUY, price);
        vm.prank(who);
        market.placeOrder(w, BUY, KWH, price, found);
    }

    /// @dev Asserts that `who`'s bid sits right after `expectedPrev` (address(0): at the head).
    function _assertAfter(address who, address expectedPrev) internal view {
        address[] memory book = _book(w, BUY);
        for (uint256 k; k < book.length; ++k) {
            if (book[k] == who) {
                assertEq(
                    k == 0 ? address(0) : book[k - 1], expectedPrev, "placed right after its predecessor"
                );
                return;
            }
        }
        revert("not in the book");
    }

    // ------------------------------------------------------------ the cases, on the bid side

    /// @dev Correct hint: a new bid just after bid `i` (i = type(uint256).max: at the head).
    function _correctHint(uint256 i) internal returns (uint256 gas) {
        address who = _newProsumer();
        // The hint is the findHint answer (asked after the measurement: a view walking the book before it would
        // warm the slots the placement reads).
        if (i == type(uint256).max) {
            gas = _placeGas(who, BUY, TOP + 1, address(0));
            _assertAfter(who, address(0));
            vm.prank(who);
            market.cancelOrder(w);
            assertEq(market.findHint(w, BUY, TOP + 1), who, "findHint answer: the tombstone just left");
            assertEq(market.findHint(w, BUY, TOP + 2), address(0), "the hint used was the findHint answer");
        } else {
            gas = _placeGas(who, BUY, _bidPrice(i) - 1, bids[i]);
            _assertAfter(who, bids[i]);
            vm.prank(who);
            market.cancelOrder(w);
            assertEq(
                market.findHint(w, BUY, _bidPrice(i) - 1), who, "findHint answer: the tombstone just left"
            );
            // Nothing else lies between bid i and the new order: bid i was the findHint answer.
            assertEq(market.findHint(w, BUY, _bidPrice(i)), bids[i], "the hint used was the findHint answer");
        }
    }

    /// @dev A re-placement with the correct hint just after bid `i`: `replacer` placed an ask and cancelled it in
    /// `setUp`, so the new order gets a node of its own and the placement count in its home is bumped.
    function _replacement(uint256 i) internal returns (uint256 gas) {
        address who = replacer;
        gas = _placeGas(who, BUY, _bidPrice(i) - 1, bids[i]);
        _assertAfter(who, bids[i]);
        assertEq(market.orderNonce(w, who), 2, "second placement");
    }

    /// @dev `cancelOrder` of bid `i` (O(1): the node stays as a tombstone).
    function _cancelGas(uint256 i) internal returns (uint256 gas) {
        gas = _txGas(bids[i], abi.encodeCall(market.cancelOrder, (w)));
        (,,,, bool live) = market.getOrder(w, bids[i]);
        assertFalse(live, "cancelled");
    }

    /// @dev The hinted order (bid `i`) was cancelled before the victim's transaction.
    function _cancelledHint(uint256 i) internal returns (uint256 gas) {
        vm.prank(bids[i]);
        market.cancelOrder(w);
        address who = _newProsumer();
        gas = _placeGas(who, BUY, _bidPrice(i) - 1, bids[i]);
        _assertAfter(who, bids[i - 1]);
    }

    /// @dev The hinted owner (bid `i`) cancels and re-places at the far end `to` (0: head, else tail).
    function _movedHint(uint256 i, bool toHead) internal returns (uint256 gas) {
        address owner = bids[i];
        vm.startPrank(owner);
        market.cancelOrder(w);
        if (toHead) market.placeOrder(w, BUY, KWH, TOP + 2, address(0));
        else market.placeOrder(w, BUY, KWH, 1, bids[bids.length - 1]);
        vm.stopPrank();
        address who = _newProsumer();
        gas = _placeGas(who, BUY, _bidPrice(i) - 1, owner);
        _assertAfter(who, bids[i - 1]);
    }

    /// @dev `extra` orders were placed right after the hinted bid `i` (at its price) since the hint was read.
    function _driftedHint(uint256 i, uint256 extra) internal returns (uint256 gas) {
        address last = _drift(i, extra);
        address who = _newProsumer();
        gas = _placeGas(who, BUY, _bidPrice(i), bids[i]);
        _assertAfter(who, last);
    }

    /// @dev Places `extra` bids at bid `i`'s price right after it (registered now: their slots are not measured);
    /// returns the last.
    function _drift(uint256 i, uint256 extra) internal returns (address last) {
        last = bids[i];
        for (uint256 k; k < extra; ++k) {
            address p = _register();
            vm.prank(p);
            market.placeOrder(w, BUY, KWH, _bidPrice(i), last);
            last = p;
        }
    }

    /// @dev Bid `i`'s owner cancels and re-places at the tail `times` times (its first node stays in place).
    function _moveToTail(uint256 i, uint256 times) internal {
        address owner = bids[i];
        vm.startPrank(owner);
        for (uint256 k; k < times; ++k) {
            market.cancelOrder(w);
            market.placeOrder(w, BUY, KWH, 1 + k, market.findHint(w, BUY, 1 + k));
        }
        vm.stopPrank();
    }

    /// @dev The hint names a live order of the other side (more than `MAX_HINT_WALK` bids before the place):
    /// `HintTooFar`.
    function _wrongSideHint(uint256 i) internal returns (uint256 gas) {
        address who = _newProsumer();
        gas = _hintTooFarGas(who, _bidPrice(i) - 1, asks[i]);
        _assertAfter(who, bids[i]);
    }

    /// @dev The hint names an unregistered account (the walk starts at the head): `HintTooFar`.
    function _outsiderHint(uint256 i) internal returns (uint256 gas) {
        address who = _newProsumer();
        gas = _hintTooFarGas(who, _bidPrice(i) - 1, makeAddr("outsider"));
        _assertAfter(who, bids[i]);
    }

    /// @dev The hint names a live bid far from the place (`from`): `HintTooFar`.
    function _farHint(uint256 i, uint256 from) internal returns (uint256 gas) {
        address who = _newProsumer();
        gas = _hintTooFarGas(who, _bidPrice(i) - 1, bids[from]);
        _assertAfter(who, bids[i]);
    }

    /// @dev No hint for a place in the middle: `HintTooFar`.
    function _noHint(uint256 i) internal returns (uint256 gas) {
        address who = _newProsumer();
        gas = _hintTooFarGas(who, _bidPrice(i) - 1, address(0));
        _assertAfter(who, bids[i]);
    }
}
