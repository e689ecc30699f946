// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EnergyMarket} from "../../src/EnergyMarket.sol";
import {EnergyToken} from "../../src/EnergyToken.sol";
import {ProsumerRegistry} from "../../src/ProsumerRegistry.sol";
import {IEnergyMarket} from "../../src/interfaces/IEnergyMarket.sol";
import {MarketFixture} from "../utils/MarketFixture.sol";
import {console} from "forge-std/console.sol";

/// @notice Gas table for `make bench`. Transaction gas = 21,000 + calldata + execution, where execution is
/// measured around the call with every touched account and slot made cold first (`vm.cool`), minus the
/// 2,600 of the cold CALL that a real transaction does not pay. Gas is before refunds (what a gas limit
/// must cover).
contract GasBenchmark is MarketFixture {
    uint256 internal constant TX_BASE = 21_000;
    uint256 internal constant COLD_CALL = 2600;
    uint256 internal constant TX_GAS_CAP = 16_777_216;
    uint256 internal constant PRICE_STEP = 1e15;

    uint256 internal registered;

    function _newProsumer() internal returns (address account) {
        account = address(uint160(0x100000 + registered));
        ++registered;
        vm.prank(admin);
        registry.register(account, registered);
    }

    function _calldataGas(bytes memory data) internal pure returns (uint256 gas) {
        for (uint256 i; i < data.length; ++i) {
            gas += data[i] == 0 ? 4 : 16;
        }
    }

    /// @dev Transaction gas of `from` calling `target` with `data` (reverts if the call fails).
    function _txGas(address from, address target, bytes memory data) internal returns (uint256) {
        vm.cool(address(market));
        vm.cool(address(registry));
        vm.cool(address(token));
        vm.prank(from);
        uint256 before = gasleft();
        (bool ok, bytes memory ret) = target.call(data);
        uint256 used = before - gasleft();
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
        return TX_BASE + _calldataGas(data) + used - COLD_CALL;
    }

    function _place(
        address who,
        uint256 w,
        IEnergyMarket.Side side,
        uint256 energy,
        uint256 price,
        address hint
    ) internal returns (uint256) {
        return _txGas(who, address(market), abi.encodeCall(market.placeOrder, (w, side, energy, price, hint)));
    }

    function _row(string memory what, uint256 gas) internal pure {
        console.log(string.concat("| ", what, " | ", vm.toString(gas), " |"));
    }

    // ------------------------------------------------------------ placeOrder

    function test_bench_placeOrder() public {
        uint256 w = _open();
        uint256[4] memory sizes = [uint256(10), 100, 1000, 5000];
        console.log("| placeOrder (bids; book of N bids at distinct prices) | tx gas |");
        console.log("|---|---|");
        uint256 built;
        address tail;
        for (uint256 s; s < sizes.length; ++s) {
            // Grow the book to the size, best price first (each insert at the tail with the right hint).
            for (; built < sizes[s]; ++built) {
                address p = _newProsumer();
                vm.prank(p);
                market.placeOrder(w, BUY, KWH, (10_000 - built) * PRICE_STEP, tail);
                tail = p;
            }
            _measureAtSize(w, sizes[s]);
            built += 4;
        }
        address canceller = _newProsumer();
        _place(canceller, w, BUY, KWH, 5000 * PRICE_STEP, market.findHint(w, BUY, 5000 * PRICE_STEP));
        _row(
            "cancelOrder (middle of 5,000)",
            _txGas(canceller, address(market), abi.encodeCall(market.cancelOrder, (w)))
        );
        vm.warp(block.timestamp + DURATION);
        _row("openWindow", _txGas(admin, address(market), abi.encodeCall(market.openWindow, ())));
    }

    function _measureAtSize(uint256 w, uint256 n) internal {
        string memory size = string.concat("N=", vm.toString(n));
        uint256 midPrice = (10_000 - n / 2) * PRICE_STEP + 1;
        address hint = market.findHint(w, BUY, midPrice);
        _row(
            string.concat(size, ", findHint hint, middle"),
            _place(_newProsumer(), w, BUY, KWH, midPrice, hint)
        );
        hint = market.findHint(w, BUY, PRICE_STEP);
        _row(
            string.concat(size, ", findHint hint, tail"),
            _place(_newProsumer(), w, BUY, KWH, PRICE_STEP, hint)
        );
        _row(
            string.concat(size, ", no hint, head"),
            _place(_newProsumer(), w, BUY, KWH, (20_000 + n) * PRICE_STEP, address(0))
        );
        _row(
            string.concat(size, ", no hint, middle (walks N/2)"),
            _place(_newProsumer(), w, BUY, KWH, midPrice, address(0))
        );
    }

    // ------------------------------------------------------------ close, readings, settle

    /// @dev A window with `trades` bids and `trades` asks that match one to one (2 orders per trade).
    function _crossingWindow(uint256 trades)
        internal
        returns (uint256 w, address[] memory buyers, address[] memory sellers)
    {
        w = market.currentWindow();
        if (_status(w) == IEnergyMarket.WindowStatus.None) market.openWindow();
        buyers = new address[](trades);
        sellers = new address[](trades);
        address bidTail;
        address askTail;
        for (uint256 i; i < trades; ++i) {
            buyers[i] = _newProsumer();
            sellers[i] = _newProsumer();
            vm.prank(buyers[i]);
            market.placeOrder(w, BUY, KWH, (30_000 - i) * PRICE_STEP, bidTail);
            vm.prank(sellers[i]);
            market.placeOrder(w, SELL, KWH, (10_000 + i) * PRICE_STEP, askTail);
            (bidTail, askTail) = (buyers[i], sellers[i]);
            vm.startPrank(admin);
            token.mint(buyers[i], 1000 * TOKEN);
            // Sellers already hold tokens (steady state); a first receipt costs 17,100 more (zero -> nonzero).
            token.mint(sellers[i], TOKEN);
            vm.stopPrank();
            vm.prank(buyers[i]);
            token.approve(address(market), type(uint256).max);
        }
        vm.warp(w + DURATION);
    }

    function _closeGas(uint256 w, uint256 steps) internal returns (uint256) {
        return _txGas(admin, address(market), abi.encodeCall(market.closeWindow, (w, steps)));
    }

    uint256 internal maxClose;
    uint256 internal perReading;
    uint256 internal perSettle;

    function test_bench_closeReadingsSettle() public {
        console.log("| lifecycle batch | tx gas | per item |");
        console.log("|---|---|---|");
        (uint256 w1, address[] memory b1, address[] memory s1) = _crossingWindow(100);
        uint256 gasSmall = _closeGas(w1, 101);
        _closeRow(100, gasSmall);
        (uint256 w2,,) = _crossingWindow(300);
        uint256 gasLarge = _closeGas(w2, 301);
        _closeRow(300, gasLarge);
        uint256 perTrade = (gasLarge - gasSmall) / 200;
        uint256 fixedPart = gasSmall - perTrade * 100;
        maxClose = (TX_GAS_CAP - fixedPart) / perTrade;
        console.log(
            string.concat(
                "| close, marginal per trade | | ",
                vm.toString(perTrade),
                " (fixed part ",
                vm.toString(fixedPart),
                ") |"
            )
        );

        vm.warp(w1 + 2 * DURATION);
        uint256 readingsGas = _readingsGas(w1, b1, s1);
        perReading = readingsGas / 200;
        console.log(
            string.concat(
                "| submitMeterReadings, 200 prosumers | ",
                vm.toString(readingsGas),
                " | ",
                vm.toString(perReading),
                " per prosumer |"
            )
        );
        uint256 settleGas = _txGas(admin, address(market), abi.encodeCall(market.settleWindow, (w1, 100)));
        perSettle = settleGas / 100;
        console.log(
            string.concat(
                "| settleWindow, 100 accepted trades | ",
                vm.toString(settleGas),
                " | ",
                vm.toString(perSettle),
                " per trade |"
            )
        );
        _batchTable();
    }

    function _closeRow(uint256 trades, uint256 gas) internal pure {
        console.log(
            string.concat(
                "| close, ",
                vm.toString(trades),
                " trades / ",
                vm.toString(2 * trades),
                " orders | ",
                vm.toString(gas),
                " | ",
                vm.toString(gas / trades),
                " per trade, ",
                vm.toString(gas / (2 * trades)),
                " per order |"
            )
        );
    }

    function _batchTable() internal {
        console.log("");
        console.log("| largest batch under 16,777,216 gas | steps |");
        console.log("|---|---|");
        console.log(string.concat("| closeWindow maxSteps (linear estimate) | ", vm.toString(maxClose), " |"));
        console.log(
            string.concat(
                "| submitMeterReadings prosumers (estimate) | ", vm.toString(TX_GAS_CAP / perReading), " |"
            )
        );
        console.log(
            string.concat("| settleWindow maxSteps (estimate) | ", vm.toString(TX_GAS_CAP / perSettle), " |")
        );
        (uint256 w3,,) = _crossingWindow(maxClose + 5);
        uint256 gasAtMax = _closeGas(w3, maxClose);
        console.log(
            string.concat(
                "| closeWindow(", vm.toString(maxClose), ") measured | ", vm.toString(gasAtMax), " |"
            )
        );
        assertLe(gasAtMax, TX_GAS_CAP, "close at the largest batch fits the cap");
    }

    function _readingsGas(uint256 w, address[] memory buyers, address[] memory sellers)
        internal
        returns (uint256)
    {
        uint256 n = buyers.length;
        address[] memory who = new address[](2 * n);
        uint256[] memory imported = new uint256[](2 * n);
        uint256[] memory exported = new uint256[](2 * n);
        for (uint256 i; i < n; ++i) {
            (who[2 * i], imported[2 * i]) = (buyers[i], KWH);
            (who[2 * i + 1], exported[2 * i + 1]) = (sellers[i], KWH);
        }
        return _txGas(
            admin, address(market), abi.encodeCall(market.submitMeterReadings, (w, who, imported, exported))
        );
    }

    // ------------------------------------------------------------ deployment

    function test_bench_deployment() public {
        console.log("| deployment | tx gas |");
        console.log("|---|---|");
        _row("EnergyToken", _deployGas(abi.encodePacked(type(EnergyToken).creationCode, abi.encode(admin))));
        _row(
            "ProsumerRegistry",
            _deployGas(abi.encodePacked(type(ProsumerRegistry).creationCode, abi.encode(admin)))
        );
        _row(
            "EnergyMarket",
            _deployGas(
                abi.encodePacked(
                    type(EnergyMarket).creationCode, abi.encode(token, registry, DURATION, GRACE, admin)
                )
            )
        );
    }

    function _deployGas(bytes memory initcode) internal returns (uint256) {
        uint256 before = gasleft();
        address deployed;
        assembly ("memory-safe") {
            deployed := create(0, add(initcode, 32), mload(initcode))
        }
        uint256 used = before - gasleft();
        require(deployed != address(0), "deploy failed");
        // CREATE opcode cost (32,000) is the same as the creation transaction's surcharge.
        uint256 initcodeWords = (initcode.length + 31) / 32;
        return TX_BASE + _calldataGas(initcode) + used + 2 * initcodeWords;
    }
}
