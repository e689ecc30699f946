// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EnergyMarket} from "../../src/EnergyMarket.sol";
import {EnergyToken} from "../../src/EnergyToken.sol";
import {IEnergyMarket} from "../../src/interfaces/IEnergyMarket.sol";
import {Test} from "forge-std/Test.sol";

/// @notice Drives whole lifecycles over several windows. Every call either is predicted to succeed (and a
/// revert fails the run) or is predicted to fail with one named error (checked with expectRevert).
contract MarketHandler is Test {
    uint256 internal constant KWH = 1000;
    uint256 internal constant TOKEN = 1e18;

    EnergyMarket public immutable market;
    EnergyToken public immutable token;
    address public immutable oracle;
    address[] public actors;
    uint256 public immutable duration;

    uint256[] public windows;
    mapping(uint256 => mapping(address => uint256)) public placementSeq;
    uint256 internal seqCounter;
    mapping(uint256 => uint8) public maxStatus;
    mapping(uint256 => mapping(uint256 => uint8)) internal seenTradeStatus;
    mapping(uint256 => mapping(address => bytes32)) internal frozenReading;

    uint256 public violations;
    string public lastViolation;
    mapping(bytes32 => uint256) public calls;
    /// @dev Outcome counters, to see that runs reach deep states.
    mapping(uint8 => uint256) public settledTrades;

    constructor(EnergyMarket market_, EnergyToken token_, address oracle_, address[] memory actors_) {
        market = market_;
        token = token_;
        oracle = oracle_;
        actors = actors_;
        duration = market_.windowDuration();
    }

    // ------------------------------------------------------------ actions

    function openWindow() external {
        ++calls["open"];
        uint256 w = market.currentWindow();
        if (_status(w) != IEnergyMarket.WindowStatus.None) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.WindowAlreadyExists.selector, w));
            market.openWindow();
            return;
        }
        market.openWindow();
        windows.push(w);
        _afterCall();
    }

    function placeOrder(
        uint256 actorSeed,
        bool isBid,
        uint256 energySeed,
        uint256 priceSeed,
        uint256 hintSeed
    ) external {
        ++calls["place"];
        if (windows.length == 0) return;
        uint256 w = windows[windows.length - 1];
        address who = _actorWithoutOrder(w, actorSeed);
        // Energies just past the valid range on purpose (0); prices in few levels for many ties.
        uint256 energy = bound(energySeed, 0, 5 * KWH);
        uint256 price = (1 + priceSeed % 5) * TOKEN;
        IEnergyMarket.Side side = isBid ? IEnergyMarket.Side.Buy : IEnergyMarket.Side.Sell;
        address hint = hintSeed % 3 == 0 ? market.findHint(w, side, price) : actors[hintSeed % actors.length];
        (,,,, bool live) = market.getOrder(w, who);
        IEnergyMarket.WindowStatus status = _status(w);

        vm.prank(who);
        if (energy == 0) {
            vm.expectRevert(IEnergyMarket.ZeroEnergy.selector);
        } else if (status != IEnergyMarket.WindowStatus.Open) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.WindowNotOpen.selector, w));
        } else if (block.timestamp >= w + duration) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.OrderingClosed.selector, w, w + duration));
        } else if (live) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.AlreadyHasOrder.selector, w, who));
        } else {
            market.placeOrder(w, side, energy, price, hint);
            placementSeq[w][who] = ++seqCounter;
            _afterCall();
            return;
        }
        market.placeOrder(w, side, energy, price, hint);
    }

    function cancelOrder(uint256 actorSeed) external {
        ++calls["cancel"];
        if (windows.length == 0) return;
        uint256 w = windows[windows.length - 1];
        address who = actors[actorSeed % actors.length];
        (,,,, bool live) = market.getOrder(w, who);
        IEnergyMarket.WindowStatus status = _status(w);
        vm.prank(who);
        if (status != IEnergyMarket.WindowStatus.Open) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.WindowNotOpen.selector, w));
        } else if (block.timestamp >= w + duration) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.OrderingClosed.selector, w, w + duration));
        } else if (!live) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.NoLiveOrder.selector, w, who));
        } else {
            market.cancelOrder(w);
            _afterCall();
            return;
        }
        market.cancelOrder(w);
    }

    function closeWindow(uint256 windowSeed, uint256 stepsSeed) external {
        ++calls["close"];
        if (windows.length == 0) return;
        uint256 w = _pick(windowSeed, IEnergyMarket.WindowStatus.Closing);
        uint256 steps = bound(stepsSeed, 1, 4);
        IEnergyMarket.WindowStatus status = _status(w);
        if (status >= IEnergyMarket.WindowStatus.Cleared) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.WindowAlreadyCleared.selector, w));
        } else if (block.timestamp < w + duration) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.TooEarly.selector, w, w + duration));
        } else {
            market.closeWindow(w, steps);
            _afterCall();
            return;
        }
        market.closeWindow(w, steps);
    }

    function submitReadings(uint256 windowSeed, uint256 valueSeed) external {
        ++calls["readings"];
        if (windows.length == 0) return;
        uint256 w = _pick(windowSeed, IEnergyMarket.WindowStatus.Cleared);
        uint256 n = actors.length;
        address[] memory who = new address[](n);
        uint256[] memory imported = new uint256[](n);
        uint256[] memory exported = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            who[i] = actors[i];
            (IEnergyMarket.Side side, uint256 energy,,,) = market.getOrder(w, actors[i]);
            uint256 r = uint256(keccak256(abi.encode(valueSeed, i)));
            // Mostly enough, sometimes a shortfall.
            uint256 measured = r % 4 == 0 ? energy / 2 : energy;
            (imported[i], exported[i]) =
                side == IEnergyMarket.Side.Buy ? (measured, uint256(0)) : (uint256(0), measured);
        }
        IEnergyMarket.WindowStatus status = _status(w);
        vm.prank(oracle);
        if (status < IEnergyMarket.WindowStatus.Cleared) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.WindowNotCleared.selector, w));
        } else if (status > IEnergyMarket.WindowStatus.Cleared) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.SettlementStarted.selector, w));
        } else if (block.timestamp < w + 2 * duration) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.TooEarly.selector, w, w + 2 * duration));
        } else {
            market.submitMeterReadings(w, who, imported, exported);
            _afterCall();
            return;
        }
        market.submitMeterReadings(w, who, imported, exported);
    }

    function settleWindow(uint256 windowSeed, uint256 stepsSeed) external {
        ++calls["settle"];
        if (windows.length == 0) return;
        uint256 w = _pick(windowSeed, IEnergyMarket.WindowStatus.Settling);
        uint256 steps = bound(stepsSeed, 1, 4);
        IEnergyMarket.WindowStatus status = _status(w);
        uint256 readyAt = market.settleReadyAt(w);
        if (status < IEnergyMarket.WindowStatus.Cleared) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.WindowNotCleared.selector, w));
        } else if (status == IEnergyMarket.WindowStatus.Settled) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.WindowAlreadySettled.selector, w));
        } else if (status == IEnergyMarket.WindowStatus.Cleared && block.timestamp < readyAt) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.TooEarly.selector, w, readyAt));
        } else {
            if (status == IEnergyMarket.WindowStatus.Cleared) _freezeReadings(w);
            int256[] memory before = _balances();
            (,,,, uint256 tradeCount, uint256 settledBefore) = market.getWindow(w);
            market.settleWindow(w, steps);
            _checkSettlementBatch(w, settledBefore, tradeCount, before);
            _afterCall();
            return;
        }
        market.settleWindow(w, steps);
    }

    /// @dev Mostly an actor without a live order in `w` (so books fill up), sometimes any actor.
    function _actorWithoutOrder(uint256 w, uint256 seed) internal view returns (address) {
        uint256 n = actors.length;
        if (seed % 5 != 0) {
            for (uint256 k; k < n; ++k) {
                address candidate = actors[(seed % n + k) % n];
                (,,,, bool live) = market.getOrder(w, candidate);
                if (!live) return candidate;
            }
        }
        return actors[seed % n];
    }

    /// @dev Three times in four the oldest window whose status is at most `upTo` but past the one before it
    /// (the window the action is meant for); otherwise any window, so that the expected reverts happen too.
    function _pick(uint256 seed, IEnergyMarket.WindowStatus upTo) internal view returns (uint256) {
        if (seed % 4 != 0) {
            for (uint256 i; i < windows.length; ++i) {
                IEnergyMarket.WindowStatus status = _status(windows[i]);
                if (status <= upTo && uint8(status) + 2 > uint8(upTo)) return windows[i];
            }
        }
        return windows[(seed >> 2) % windows.length];
    }

    function warp(uint256 secondsSeed) external {
        ++calls["warp"];
        vm.warp(block.timestamp + bound(secondsSeed, 60, duration / 2));
    }

    function windowCount() external view returns (uint256) {
        return windows.length;
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    // ------------------------------------------------------------ ghost checks after each successful call

    function _afterCall() internal {
        for (uint256 i; i < windows.length; ++i) {
            uint256 w = windows[i];
            uint8 status = uint8(_status(w));
            if (status < maxStatus[w]) _violation("status went backwards");
            if (
                status >= uint8(IEnergyMarket.WindowStatus.Settling)
                    && maxStatus[w] < uint8(IEnergyMarket.WindowStatus.Settling)
            ) {
                if (block.timestamp < w + 2 * duration) {
                    _violation("settlement started before w + 2d");
                }
            }
            maxStatus[w] = status;
            if (status >= uint8(IEnergyMarket.WindowStatus.Settling)) _checkFrozenReadings(w);
        }
    }

    function _freezeReadings(uint256 w) internal {
        for (uint256 i; i < actors.length; ++i) {
            frozenReading[w][actors[i]] = _readingHash(w, actors[i]);
        }
    }

    function _checkFrozenReadings(uint256 w) internal {
        for (uint256 i; i < actors.length; ++i) {
            if (frozenReading[w][actors[i]] != _readingHash(w, actors[i])) {
                _violation("reading changed after settlement started");
            }
        }
    }

    function _readingHash(uint256 w, address who) internal view returns (bytes32) {
        (bool submitted, uint256 imported, uint256 exported) = market.getReading(w, who);
        return keccak256(abi.encode(submitted, imported, exported));
    }

    /// @dev Each trade of the batch settled exactly once; accepted trades moved exactly their cost, rejected
    /// ones nothing.
    function _checkSettlementBatch(
        uint256 w,
        uint256 settledBefore,
        uint256 tradeCount,
        int256[] memory before
    ) internal {
        (, uint256 price,,,, uint256 settledAfter) = market.getWindow(w);
        if (settledAfter > tradeCount) _violation("settled more trades than exist");
        for (uint256 t; t < tradeCount; ++t) {
            (address buyer, address seller, uint256 energy, IEnergyMarket.TradeStatus status,) =
                market.getTrade(w, t);
            bool shouldBeSettled = t < settledAfter;
            if (shouldBeSettled != (status != IEnergyMarket.TradeStatus.Pending)) {
                _violation("settled set is not a prefix");
            }
            if (t < settledBefore && uint8(status) != seenTradeStatus[w][t]) {
                _violation("trade settled twice");
            }
            seenTradeStatus[w][t] = uint8(status);
            if (t >= settledBefore && t < settledAfter) ++settledTrades[uint8(status)];
            if (t >= settledBefore && t < settledAfter && status == IEnergyMarket.TradeStatus.Accepted) {
                int256 cost = int256(energy * price / 1000);
                before[_index(buyer)] -= cost;
                before[_index(seller)] += cost;
            }
        }
        int256[] memory afterBalances = _balances();
        for (uint256 i; i < actors.length; ++i) {
            if (afterBalances[i] != before[i]) _violation("token movement differs from accepted trades");
        }
    }

    function _balances() internal view returns (int256[] memory b) {
        b = new int256[](actors.length);
        for (uint256 i; i < actors.length; ++i) {
            b[i] = int256(token.balanceOf(actors[i]));
        }
    }

    function _index(address who) internal view returns (uint256) {
        for (uint256 i; i < actors.length; ++i) {
            if (actors[i] == who) return i;
        }
        revert("unknown actor");
    }

    function _status(uint256 w) internal view returns (IEnergyMarket.WindowStatus status) {
        (status,,,,,) = market.getWindow(w);
    }

    function _violation(string memory what) internal {
        ++violations;
        lastViolation = what;
    }
}
