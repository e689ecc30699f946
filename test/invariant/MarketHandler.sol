// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EnergyMarket} from "../../src/EnergyMarket.sol";
import {EnergyToken} from "../../src/EnergyToken.sol";
import {ProsumerRegistry} from "../../src/ProsumerRegistry.sol";
import {IEnergyMarket} from "../../src/interfaces/IEnergyMarket.sol";
import {IProsumerRegistry} from "../../src/interfaces/IProsumerRegistry.sol";
import {Test} from "forge-std/Test.sol";

/// @notice Drives whole lifecycles over many windows: bursts of orders per window, late closes, keeper outages
/// and gas-limited upkeeps, deregistrations, readings batches with bad entries. Every call either is
/// predicted to succeed (and a revert fails the run) or is predicted to fail with one named error (checked
/// with expectRevert). Settlement is checked trade by trade against a model of the settlement rule.
contract MarketHandler is Test {
    uint256 internal constant KWH = 1000;
    uint256 internal constant TOKEN = 1e18;
    /// @dev Below this a perform may run out of gas (the first step is not metered); from it on it must not.
    uint256 public constant PERFORM_GAS_FLOOR = 300_000;
    uint256 internal constant PERFORM_GAS_MAX = 5_000_000;
    /// @dev Mirrors `EnergyMarket.MAX_UPKEEP_SCAN`.
    uint256 internal constant UPKEEP_SCAN = 64;

    IEnergyMarket.WindowStatus internal constant NONE = IEnergyMarket.WindowStatus.None;
    IEnergyMarket.WindowStatus internal constant OPEN = IEnergyMarket.WindowStatus.Open;
    IEnergyMarket.WindowStatus internal constant CLOSING = IEnergyMarket.WindowStatus.Closing;
    IEnergyMarket.WindowStatus internal constant CLEARED = IEnergyMarket.WindowStatus.Cleared;
    IEnergyMarket.WindowStatus internal constant SETTLING = IEnergyMarket.WindowStatus.Settling;
    IEnergyMarket.WindowStatus internal constant SETTLED = IEnergyMarket.WindowStatus.Settled;

    EnergyMarket public immutable market;
    EnergyToken public immutable token;
    ProsumerRegistry public immutable registry;
    /// @dev Holds the oracle role of the market and the registrar role of the registry.
    address public immutable admin;
    /// @dev Never registered: readings for it are skipped with MeterReadingRejected(NotRegistered).
    address public immutable stranger;
    uint256 public immutable duration;
    uint256 public immutable grace;
    address[] public actors;
    mapping(address => uint256) internal actorIndexPlusOne;
    mapping(address => bool) public registered;

    uint256[] public windows;
    /// @dev Windows before this index are Settled and fingerprinted.
    uint256 public firstActive;
    mapping(uint256 => mapping(address => uint256)) public placementSeq;
    uint256 internal seqCounter;
    mapping(uint256 => uint8) public maxStatus;
    mapping(uint256 => uint256) public clearedAt;
    /// @dev Cancelled orders per window (tombstones the clearing walk skips) and metered close performs of the
    /// window that made no trade: each such perform must have skipped at least one tombstone.
    mapping(uint256 => uint256) public cancelsIn;
    mapping(uint256 => uint256) public tradelessClosePerforms;
    mapping(uint256 => uint256) public settleStartedAt;
    mapping(uint256 => bytes32) public settledFingerprint;
    mapping(uint256 => mapping(uint256 => uint8)) internal seenTradeStatus;
    mapping(uint256 => mapping(address => bytes32)) internal frozenReading;
    /// @dev Energy accepted so far per window and trader (the model's cumulative sums).
    mapping(uint256 => mapping(address => uint256)) internal acceptedSold;
    mapping(uint256 => mapping(address => uint256)) internal acceptedBought;

    uint256 public violations;
    string public lastViolation;
    /// @dev Outcome counters of the run (see `MarketInvariantsTest.COUNTERS`).
    mapping(string => uint256) public counts;

    constructor(
        EnergyMarket market_,
        EnergyToken token_,
        ProsumerRegistry registry_,
        address admin_,
        address[] memory actors_
    ) {
        market = market_;
        token = token_;
        registry = registry_;
        admin = admin_;
        stranger = makeAddr("stranger");
        actors = actors_;
        for (uint256 i; i < actors_.length; ++i) {
            actorIndexPlusOne[actors_[i]] = i + 1;
            registered[actors_[i]] = true;
        }
        duration = market_.windowDuration();
        grace = market_.settlementGrace();
    }

    // ================================================================ actions: orders

    function openWindow() external {
        uint256 w = market.currentWindow();
        if (_status(w) != NONE) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.WindowAlreadyExists.selector, w));
            market.openWindow();
            return;
        }
        market.openWindow();
        windows.push(w);
        _afterCall();
    }

    /// @dev One order into the latest window, with every revert it can meet predicted.
    function placeOrder(
        uint256 actorSeed,
        bool isBid,
        uint256 energySeed,
        uint256 priceSeed,
        uint256 hintSeed
    ) external {
        if (windows.length == 0) return;
        uint256 w = windows[windows.length - 1];
        address who = _actorWithoutOrder(w, actorSeed, actorSeed % 5 != 0);
        // Energies just past the valid range on purpose (0); prices in few levels for many ties.
        uint256 energy = energySeed % (5 * KWH + 1);
        uint256 price = (1 + priceSeed % 6) * TOKEN;
        IEnergyMarket.Side side = isBid ? IEnergyMarket.Side.Buy : IEnergyMarket.Side.Sell;
        address hint = _hint(w, side, price, hintSeed);
        (,,,, bool live) = market.getOrder(w, who);
        IEnergyMarket.WindowStatus status = _status(w);

        vm.prank(who);
        if (energy == 0) {
            vm.expectRevert(IEnergyMarket.ZeroEnergy.selector);
        } else if (status != OPEN) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.WindowNotOpen.selector, w));
        } else if (block.timestamp >= w + duration) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.OrderingClosed.selector, w, w + duration));
        } else if (!registered[who]) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.NotRegistered.selector, who));
            ++counts["ordersRefusedNotRegistered"];
        } else if (live) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.AlreadyHasOrder.selector, w, who));
        } else {
            market.placeOrder(w, side, energy, price, hint);
            placementSeq[w][who] = ++seqCounter;
            ++counts["ordersPlaced"];
            _afterCall();
            return;
        }
        market.placeOrder(w, side, energy, price, hint);
    }

    /// @dev Several valid orders into the current window (opened first if nobody did), so that windows fill
    /// up before time moves on. Bids at 2..7 tokens/kWh, asks at 1..6: most books cross at several levels.
    function placeBurst(uint256 seed) external {
        uint256 w = market.currentWindow();
        if (_status(w) == NONE) {
            market.openWindow();
            windows.push(w);
        }
        ++counts["bursts"];
        uint256 k = 3 + seed % 12;
        for (uint256 j; j < k; ++j) {
            uint256 r = uint256(keccak256(abi.encode(seed, j)));
            // Mostly a registered actor without an order; one in eight tries a deregistered one (NotRegistered).
            address who = r % 8 == 0 ? _deregisteredActor(r >> 3) : address(0);
            if (who == address(0)) who = _freeRegisteredActor(w, r >> 3);
            if (who == address(0)) break; // every registered actor already has an order
            bool isBid = (r >> 8) % 2 == 0;
            IEnergyMarket.Side side = isBid ? IEnergyMarket.Side.Buy : IEnergyMarket.Side.Sell;
            uint256 energy = 100 + (r >> 16) % (5 * KWH);
            uint256 price = ((isBid ? 2 : 1) + (r >> 32) % 6) * TOKEN;
            address hint = _hint(w, side, price, r >> 48);
            vm.prank(who);
            if (!registered[who]) {
                vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.NotRegistered.selector, who));
                market.placeOrder(w, side, energy, price, hint);
                ++counts["ordersRefusedNotRegistered"];
                continue;
            }
            market.placeOrder(w, side, energy, price, hint);
            placementSeq[w][who] = ++seqCounter;
            ++counts["ordersPlaced"];
        }
        _afterCall();
    }

    function cancelOrder(uint256 actorSeed) external {
        if (windows.length == 0) return;
        uint256 w = windows[windows.length - 1];
        address who = actors[actorSeed % actors.length];
        (,,,, bool live) = market.getOrder(w, who);
        IEnergyMarket.WindowStatus status = _status(w);
        vm.prank(who);
        if (status != OPEN) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.WindowNotOpen.selector, w));
        } else if (block.timestamp >= w + duration) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.OrderingClosed.selector, w, w + duration));
        } else if (!live) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.NoLiveOrder.selector, w, who));
        } else {
            // Deregistered prosumers may still cancel (their ID stays bound).
            market.cancelOrder(w);
            ++cancelsIn[w];
            _afterCall();
            return;
        }
        market.cancelOrder(w);
    }

    // ================================================================ actions: close, readings, settle

    function closeWindow(uint256 windowSeed, uint256 stepsSeed) external {
        if (windows.length == 0) return;
        uint256 w = _pick(windowSeed, CLOSING);
        uint256 steps = stepsSeed % 4 == 0 ? type(uint256).max : 1 + stepsSeed % 8;
        IEnergyMarket.WindowStatus status = _status(w);
        if (status >= CLEARED) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.WindowAlreadyCleared.selector, w));
        } else if (block.timestamp < w + duration) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.TooEarly.selector, w, w + duration));
        } else {
            (,,,, uint256 tradesBefore,) = market.getWindow(w);
            market.closeWindow(w, steps);
            (IEnergyMarket.WindowStatus after_,,,, uint256 tradesAfter,) = market.getWindow(w);
            if (after_ != CLEARED && tradesAfter - tradesBefore != steps) _violation("close stopped early");
            _afterCall();
            return;
        }
        market.closeWindow(w, steps);
    }

    /// @dev Late close (a keeper outage across the end of delivery): warps past `w + 2d + grace` of the
    /// oldest window not yet cleared, then clears it. The grace must count from the clearing.
    function lateClose(uint256 offsetSeed) external {
        // Rare (it moves time by hours); the seed is hashed so that the fuzzer's favourite values (0, ...) do
        // not make it frequent.
        offsetSeed = uint256(keccak256(abi.encode(offsetSeed)));
        if (offsetSeed % 4 != 0) return;
        offsetSeed /= 4;
        uint256 w;
        bool found;
        for (uint256 i = firstActive; i < windows.length; ++i) {
            if (_status(windows[i]) < CLEARED) {
                (w, found) = (windows[i], true);
                break;
            }
        }
        if (!found) return;
        uint256 target = w + 2 * duration + grace + 1 + offsetSeed % duration;
        if (block.timestamp < target) vm.warp(target);
        market.closeWindow(w, type(uint256).max);
        ++counts["lateCloses"];
        _afterCall();
        (,,,, uint256 tradeCount,) = market.getWindow(w);
        // Nobody can have a reading yet (readings need a cleared window), so traders wait for the grace.
        uint256 expected = block.timestamp + (tradeCount == 0 ? 0 : grace);
        if (clearedAt[w] != block.timestamp) _violation("late close: clearing time not recorded");
        if (market.settleReadyAt(w) != expected) {
            _violation("late close: grace does not count from the clearing");
        }
    }

    /// @dev The oracle's round: three times in four a readings batch for every cleared window whose delivery
    /// hour has ended (as the keeper does), otherwise one batch for any window (the reverts predicted).
    function submitReadings(uint256 windowSeed, uint256 valueSeed) external {
        if (windows.length == 0) return;
        if (windowSeed % 4 == 0) {
            _submitReadings(windows[(windowSeed >> 2) % windows.length], valueSeed);
            return;
        }
        _submitAllDueReadings(valueSeed);
    }

    function _submitAllDueReadings(uint256 valueSeed) internal {
        for (uint256 i = firstActive; i < windows.length; ++i) {
            uint256 w = windows[i];
            if (_status(w) == CLEARED && block.timestamp >= w + 2 * duration) {
                _submitReadings(w, uint256(keccak256(abi.encode(valueSeed, i))));
            }
        }
    }

    /// @dev One readings batch: mostly every actor, sometimes some missing, delivered or short or more;
    /// sometimes with entries that must be skipped (an account that never registered, a value out of range).
    /// The good entries must be stored, each bad one announced by MeterReadingRejected.
    function _submitReadings(uint256 w, uint256 valueSeed) internal {
        (address[] memory who, uint256[] memory imported, uint256[] memory exported) =
            _readingsBatch(w, valueSeed);
        IEnergyMarket.WindowStatus status = _status(w);
        if (status < CLEARED) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.WindowNotCleared.selector, w));
        } else if (status > CLEARED) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.SettlementStarted.selector, w));
        } else if (block.timestamp < w + 2 * duration) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.TooEarly.selector, w, w + 2 * duration));
        } else {
            bytes32[] memory before = new bytes32[](actors.length);
            for (uint256 i; i < actors.length; ++i) {
                before[i] = _readingHash(w, actors[i]);
            }
            for (uint256 i; i < who.length; ++i) {
                bytes4 reason = _readingRejection(who[i], imported[i], exported[i]);
                if (reason == bytes4(0)) continue;
                vm.expectEmit(true, true, false, true, address(market));
                emit IEnergyMarket.MeterReadingRejected(w, who[i], reason);
                ++counts["readingsRejected"];
            }
            vm.prank(admin);
            market.submitMeterReadings(w, who, imported, exported);
            ++counts["readingsBatches"];
            _checkReadingsStored(w, who, imported, exported, before);
            _afterCall();
            return;
        }
        vm.prank(admin);
        market.submitMeterReadings(w, who, imported, exported);
    }

    function settleWindow(uint256 windowSeed, uint256 stepsSeed) external {
        if (windows.length == 0) return;
        uint256 w = _pick(windowSeed, SETTLING);
        uint256 steps = stepsSeed % 4 == 0 ? type(uint256).max : 1 + stepsSeed % 16;
        IEnergyMarket.WindowStatus status = _status(w);
        uint256 readyAt = market.settleReadyAt(w);
        if (status < CLEARED) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.WindowNotCleared.selector, w));
        } else if (status == SETTLED) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.WindowAlreadySettled.selector, w));
        } else if (status == CLEARED && block.timestamp < readyAt) {
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.TooEarly.selector, w, readyAt));
        } else {
            Snapshot memory snap = _beforeSettle(w);
            if ((stepsSeed >> 8) % 4 == 0) {
                _settleWithLittleGas(w, stepsSeed >> 10, snap);
                return;
            }
            market.settleWindow(w, steps);
            _afterSettle(w, snap);
            (,,,,, uint256 settledAfter) = market.getWindow(w);
            if (_status(w) != SETTLED && settledAfter - snap.settledBefore != steps) {
                _violation("settle stopped early");
            }
            _afterCall();
            return;
        }
        market.settleWindow(w, steps);
    }

    /// @dev Anyone may settle with any gas: 40k-400k for one to three trades. Running out of gas is the only
    /// allowed failure, and a success must still follow the settlement rule: the caller cannot choose a gas
    /// limit that makes a funded buyer's transfer fail (InsufficientFunds) while the call goes through.
    function _settleWithLittleGas(uint256 w, uint256 seed, Snapshot memory snap) internal {
        uint256 gas = 40_000 + seed % 360_001;
        uint256 steps = 1 + (seed >> 32) % 3;
        (bool ok, bytes memory ret) =
            address(market).call{gas: gas}(abi.encodeCall(market.settleWindow, (w, steps)));
        if (!ok) {
            if (ret.length != 0) _violation(string.concat("settleWindow reverted: ", vm.toString(ret)));
            ++counts["settleOutOfGas"];
            return;
        }
        ++counts["settleWithLittleGas"];
        _afterSettle(w, snap);
        _afterCall();
    }

    // ================================================================ actions: registry

    /// @dev Deregisters or re-registers an actor (half the time a seller of a window cleared but not settled,
    /// so its reading and its payment are exercised after it left), with the registry's reverts predicted.
    function toggleRegistration(uint256 seed) external {
        // A quarter of the time a seller awaiting settlement, a quarter a deregistered actor, else anyone.
        address who = seed % 4 == 0 ? _sellerAwaitingSettlement(seed >> 2) : address(0);
        if (seed % 4 == 1) who = _deregisteredActor(seed >> 2);
        if (who == address(0)) who = actors[(seed >> 2) % actors.length];
        uint256 id = registry.prosumerIdOf(who);
        uint256 mode = (seed >> 16) % 8;
        vm.startPrank(admin);
        if (registered[who]) {
            if (mode == 0) {
                vm.expectRevert(abi.encodeWithSelector(IProsumerRegistry.AlreadyRegistered.selector, who));
                registry.register(who, id);
            } else {
                registry.deregister(who);
                registered[who] = false;
                ++counts["deregistrations"];
            }
        } else if (mode == 0) {
            uint256 otherId = registry.prosumerIdOf(actors[(actorIndexPlusOne[who]) % actors.length]);
            vm.expectRevert(abi.encodeWithSelector(IProsumerRegistry.AccountBoundToOtherId.selector, who, id));
            registry.register(who, otherId);
        } else if (mode == 1) {
            vm.expectRevert(abi.encodeWithSelector(IProsumerRegistry.NotRegistered.selector, who));
            registry.deregister(who);
        } else {
            registry.register(who, id);
            registered[who] = true;
            ++counts["reregistrations"];
        }
        vm.stopPrank();
    }

    // ================================================================ actions: time and automation

    /// @dev Prefers small moves, so that several bursts land in one window: half the time 1-10 minutes,
    /// a quarter to just after the next hour boundary, a quarter 10-30 minutes.
    function warp(uint256 seed) external {
        uint256 r = seed % 4;
        uint256 step;
        if (r < 2) step = 60 + (seed >> 2) % 541;
        else if (r == 2) step = duration - block.timestamp % duration + (seed >> 2) % 300;
        else step = duration / 6 + (seed >> 2) % (duration / 3 + 1);
        vm.warp(block.timestamp + step);
    }

    /// @dev One automation round: checkUpkeep must propose the due action (open first, then the oldest due
    /// close, then the oldest ready settle), and performUpkeep with 300k..5M gas must do it and make progress.
    /// One time in eight the gas is below that floor: then running out of gas is the only allowed failure.
    function upkeep(uint256 gasSeed) external {
        uint256 r = gasSeed % 8;
        gasSeed >>= 3;
        uint256 gas;
        if (r == 0) gas = 30_000 + gasSeed % (PERFORM_GAS_FLOOR - 30_000);
        // Near the floor, so that batches are cut by the gas meter and steps start with little gas left.
        else if (r < 4) gas = PERFORM_GAS_FLOOR + gasSeed % 150_001;
        else gas = PERFORM_GAS_FLOOR + gasSeed % (PERFORM_GAS_MAX - PERFORM_GAS_FLOOR + 1);
        _upkeepOnce(gas);
    }

    /// @dev One upkeep cycle (check and perform until nothing is due) must open the current window, close every
    /// window that has ended and settle every window that is ready, in a bounded number of performs. One time
    /// in three it follows an outage: the keeper (and everybody else) was away for 2-5 hours.
    function upkeepCycle(uint256 seed) external {
        seed = uint256(keccak256(abi.encode(seed)));
        if (seed % 4 == 0) {
            vm.warp(block.timestamp + (2 + (seed >> 2) % 4) * duration + (seed >> 8) % duration);
            ++counts["keeperOutages"];
        }
        ++counts["upkeepCycles"];
        // Half the time the oracle has just delivered every due reading (as the keeper does before settling).
        if ((seed >> 4) % 2 == 0) _submitAllDueReadings(seed >> 5);
        uint256 limit = 16;
        for (uint256 i = firstActive; i < windows.length; ++i) {
            (,,,, uint256 tradeCount,) = market.getWindow(windows[i]);
            limit += 2 + tradeCount;
        }
        // Half the cycles give each perform little gas (batches cut by the gas meter), half up to 5M.
        uint256 gas = (seed >> 16) % 2 == 0
            ? PERFORM_GAS_FLOOR + (seed >> 24) % 150_001
            : PERFORM_GAS_MAX / (1 + (seed >> 24) % 4);
        uint256 performs;
        while (_upkeepOnce(gas)) {
            if (++performs > limit) {
                _violation("upkeep cycle did not end");
                return;
            }
        }
        if (_status(market.currentWindow()) == NONE) {
            _violation("upkeep cycle left the current window unopened");
        }
        for (uint256 i = firstActive; i < windows.length; ++i) {
            uint256 w = windows[i];
            IEnergyMarket.WindowStatus status = _status(w);
            if (status < CLEARED && block.timestamp >= w + duration) {
                _violation("upkeep cycle left a due close");
            }
            if (status == SETTLING || (status == CLEARED && block.timestamp >= market.settleReadyAt(w))) {
                _violation("upkeep cycle left a ready window unsettled");
            }
        }
    }

    /// @return performed whether checkUpkeep said an upkeep was needed (and one was attempted).
    function _upkeepOnce(uint256 gas) internal returns (bool performed) {
        (bool needed, bytes memory data) = market.checkUpkeep("");
        (IEnergyMarket.UpkeepAction action, uint256 w, uint256 maxSteps) =
            abi.decode(data, (IEnergyMarket.UpkeepAction, uint256, uint256));
        (IEnergyMarket.UpkeepAction expectedAction, uint256 expectedWindow) = expectedUpkeep();
        if (action != expectedAction || w != expectedWindow) {
            _violation("checkUpkeep proposed another action");
        }
        if (needed != (action != IEnergyMarket.UpkeepAction.None)) _violation("upkeepNeeded disagrees");
        if (maxSteps != 0) _violation("checkUpkeep capped maxSteps");
        if (!needed) {
            vm.expectRevert(IEnergyMarket.InvalidPerformData.selector);
            market.performUpkeep(data);
            return false;
        }
        Snapshot memory snap;
        if (action == IEnergyMarket.UpkeepAction.Settle) snap = _beforeSettle(w);
        (,,,, uint256 tradesBefore,) = market.getWindow(w);
        (bool ok, bytes memory ret) =
            address(market).call{gas: gas}(abi.encodeCall(market.performUpkeep, (data)));
        if (!ok) {
            if (gas < PERFORM_GAS_FLOOR && ret.length == 0) {
                ++counts["upkeepOutOfGas"];
            } else {
                _violation(string.concat("performUpkeep reverted: ", vm.toString(ret)));
            }
            return true;
        }
        ++counts["upkeepPerforms"];
        (IEnergyMarket.WindowStatus status,,,, uint256 tradesAfter, uint256 settledAfter) =
            market.getWindow(w);
        if (action == IEnergyMarket.UpkeepAction.Open) {
            if (status != OPEN) _violation("upkeep open: window not open");
            windows.push(w);
        } else if (action == IEnergyMarket.UpkeepAction.Close) {
            // Progress is a trade, or skipping tombstones (invisible from outside): at most one tradeless
            // perform per cancelled order of the window.
            if (
                status != CLEARED && tradesAfter == tradesBefore && ++tradelessClosePerforms[w] > cancelsIn[w]
            ) {
                _violation("upkeep close made no progress");
            }
            if (status != CLEARED) ++counts["upkeepBatchesCutByGas"];
        } else {
            if (status != SETTLED && settledAfter == snap.settledBefore) {
                _violation("upkeep settle made no progress");
            }
            if (status != SETTLED) ++counts["upkeepBatchesCutByGas"];
            _afterSettle(w, snap);
        }
        _afterCall();
        return true;
    }

    /// @notice What checkUpkeep must propose now, from the handler's own record of the windows.
    function expectedUpkeep() public view returns (IEnergyMarket.UpkeepAction, uint256) {
        uint256 current = market.currentWindow();
        if (_status(current) == NONE) return (IEnergyMarket.UpkeepAction.Open, current);
        for (uint256 i = firstActive; i < windows.length; ++i) {
            uint256 w = windows[i];
            if (_status(w) < CLEARED) {
                if (block.timestamp >= w + duration) return (IEnergyMarket.UpkeepAction.Close, w);
                break;
            }
        }
        uint256 first = firstActive;
        while (first < windows.length && _status(windows[first]) == SETTLED) {
            ++first;
        }
        uint256 end = windows.length - first > UPKEEP_SCAN ? first + UPKEEP_SCAN : windows.length;
        for (uint256 i = first; i < end; ++i) {
            uint256 w = windows[i];
            IEnergyMarket.WindowStatus status = _status(w);
            if (status == SETTLING || (status == CLEARED && block.timestamp >= expectedReadyAt(w))) {
                return (IEnergyMarket.UpkeepAction.Settle, w);
            }
        }
        return (IEnergyMarket.UpkeepAction.None, 0);
    }

    /// @notice When settlement of a cleared window may start: `max(w + 2d, clearedAt)`, plus the grace unless
    /// every trader (an actor with a filled order) has a reading.
    function expectedReadyAt(uint256 w) public view returns (uint256) {
        uint256 from = w + 2 * duration;
        if (clearedAt[w] > from) from = clearedAt[w];
        for (uint256 i; i < actors.length; ++i) {
            (,,, uint256 filled,) = market.getOrder(w, actors[i]);
            if (filled == 0) continue;
            (bool submitted,,) = market.getReading(w, actors[i]);
            if (!submitted) return from + grace;
        }
        return from;
    }

    // ================================================================ views for the invariants

    function windowCount() external view returns (uint256) {
        return windows.length;
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    /// @notice Every settled window is exactly as it was when it became Settled.
    function settledUnchanged() external view returns (bool) {
        for (uint256 i; i < windows.length; ++i) {
            uint256 w = windows[i];
            if (settledFingerprint[w] != bytes32(0) && settledFingerprint[w] != fingerprint(w)) return false;
        }
        return true;
    }

    /// @notice Everything the market tells about window `w`.
    function fingerprint(uint256 w) public view returns (bytes32 h) {
        {
            (IEnergyMarket.WindowStatus s, uint256 p, uint256 c, uint256 o, uint256 t, uint256 n) =
                market.getWindow(w);
            (uint256 traders, uint256 readings) = market.readingProgress(w);
            h = keccak256(abi.encode(s, p, c, o, t, n, traders, readings));
            for (uint256 k; k < t; ++k) {
                h = keccak256(abi.encode(h, _tradeHash(w, k)));
            }
        }
        for (uint256 i; i < actors.length; ++i) {
            (IEnergyMarket.Side side, uint256 energy, uint256 price, uint256 filled, bool live) =
                market.getOrder(w, actors[i]);
            h = keccak256(abi.encode(h, _readingHash(w, actors[i]), side, energy, price, filled, live));
        }
    }

    // ================================================================ settlement model

    struct Snapshot {
        IEnergyMarket.WindowStatus statusBefore;
        uint256 settledBefore;
        uint256[] balances;
        uint256[] allowances;
    }

    function _beforeSettle(uint256 w) internal returns (Snapshot memory snap) {
        snap.statusBefore = _status(w);
        (,,,,, snap.settledBefore) = market.getWindow(w);
        if (snap.statusBefore == CLEARED) _freezeReadings(w);
        snap.balances = new uint256[](actors.length);
        snap.allowances = new uint256[](actors.length);
        for (uint256 i; i < actors.length; ++i) {
            snap.balances[i] = token.balanceOf(actors[i]);
            snap.allowances[i] = token.allowance(actors[i], address(market));
        }
    }

    /// @dev The batch just settled: a prefix grows, each trade settled once, each outcome exactly the one the
    /// settlement rule gives (readings, cumulative energies, balance and allowance before the trade), tokens
    /// moved exactly as the accepted trades say. MissingReading never before the grace counted from the
    /// clearing.
    function _afterSettle(uint256 w, Snapshot memory snap) internal {
        if (snap.statusBefore == CLEARED) {
            settleStartedAt[w] = block.timestamp;
            if (block.timestamp < w + 2 * duration) _violation("settlement started before w + 2d");
        }
        (, uint256 price,,, uint256 tradeCount, uint256 settledAfter) = market.getWindow(w);
        if (settledAfter > tradeCount || settledAfter < snap.settledBefore) {
            _violation("settled count out of range");
        }
        for (uint256 t; t < tradeCount; ++t) {
            (,,, IEnergyMarket.TradeStatus status,) = market.getTrade(w, t);
            if ((t < settledAfter) != (status != IEnergyMarket.TradeStatus.Pending)) {
                _violation("settled set is not a prefix");
            }
            if (t < snap.settledBefore && uint8(status) != seenTradeStatus[w][t]) {
                _violation("trade settled twice");
            }
            seenTradeStatus[w][t] = uint8(status);
        }
        for (uint256 t = snap.settledBefore; t < settledAfter; ++t) {
            _checkTradeOutcome(w, t, price, snap);
        }
        for (uint256 i; i < actors.length; ++i) {
            if (token.balanceOf(actors[i]) != snap.balances[i]) {
                _violation("token movement differs from accepted trades");
            }
        }
    }

    function _checkTradeOutcome(uint256 w, uint256 t, uint256 price, Snapshot memory snap) internal {
        (
            address buyer,
            address seller,
            uint256 energy,
            IEnergyMarket.TradeStatus status,
            IEnergyMarket.RejectReason reason
        ) = market.getTrade(w, t);
        IEnergyMarket.RejectReason expected = _modelOutcome(w, buyer, seller, energy, price, snap);
        IEnergyMarket.TradeStatus expectedStatus = expected == IEnergyMarket.RejectReason.None
            ? IEnergyMarket.TradeStatus.Accepted
            : IEnergyMarket.TradeStatus.Rejected;
        if (status != expectedStatus || reason != expected) {
            _violation(
                string.concat(
                    "trade ",
                    vm.toString(t),
                    " of window ",
                    vm.toString(w),
                    ": reason ",
                    vm.toString(uint8(reason)),
                    ", settlement rule says ",
                    vm.toString(uint8(expected))
                )
            );
        }
        if (expected == IEnergyMarket.RejectReason.MissingReading) {
            uint256 from = w + 2 * duration;
            if (clearedAt[w] > from) from = clearedAt[w];
            if (settleStartedAt[w] < from + grace) {
                _violation("MissingReading before the grace from the clearing");
            }
        }
        if (!registered[seller] || !registered[buyer]) ++counts["settledWithDeregisteredParty"];
        if (!registered[seller] && expected == IEnergyMarket.RejectReason.None) {
            ++counts["paidDeregisteredSeller"];
        }
        if (expected == IEnergyMarket.RejectReason.None) ++counts["accepted"];
        else if (expected == IEnergyMarket.RejectReason.MissingReading) ++counts["rejectedMissingReading"];
        else if (expected == IEnergyMarket.RejectReason.SellerShortfall) ++counts["rejectedSellerShortfall"];
        else if (expected == IEnergyMarket.RejectReason.BuyerShortfall) ++counts["rejectedBuyerShortfall"];
        else ++counts["rejectedInsufficientFunds"];
    }

    /// @dev The settlement rule, applied to the model's state (which it updates for accepted trades).
    function _modelOutcome(
        uint256 w,
        address buyer,
        address seller,
        uint256 energy,
        uint256 price,
        Snapshot memory snap
    ) internal returns (IEnergyMarket.RejectReason) {
        (bool sellerRead,, uint256 exported) = market.getReading(w, seller);
        (bool buyerRead, uint256 imported,) = market.getReading(w, buyer);
        if (!sellerRead || !buyerRead) return IEnergyMarket.RejectReason.MissingReading;
        if (acceptedSold[w][seller] + energy > exported) return IEnergyMarket.RejectReason.SellerShortfall;
        if (acceptedBought[w][buyer] + energy > imported) return IEnergyMarket.RejectReason.BuyerShortfall;
        uint256 cost = energy * price / 1000;
        uint256 b = _index(buyer);
        if (snap.balances[b] < cost || snap.allowances[b] < cost) {
            return IEnergyMarket.RejectReason.InsufficientFunds;
        }
        acceptedSold[w][seller] += energy;
        acceptedBought[w][buyer] += energy;
        snap.balances[b] -= cost;
        snap.balances[_index(seller)] += cost;
        if (snap.allowances[b] != type(uint256).max) snap.allowances[b] -= cost;
        return IEnergyMarket.RejectReason.None;
    }

    // ================================================================ readings

    function _readingsBatch(uint256 w, uint256 seed)
        internal
        returns (address[] memory who, uint256[] memory imported, uint256[] memory exported)
    {
        uint256 n = actors.length;
        uint256 extra = (seed % 3 == 0 ? 1 : 0) + (seed % 5 == 0 ? 1 : 0);
        who = new address[](n + extra);
        imported = new uint256[](n + extra);
        exported = new uint256[](n + extra);
        uint256 m;
        // A quarter of the batches leave out some actors (traders among them wait for the grace).
        bool someMissing = seed % 4 == 1;
        uint256 badAt = (seed >> 8) % (n + 1);
        for (uint256 i; i <= n; ++i) {
            if (i == badAt && extra != 0) {
                // An account that never registered, and/or a value out of range for an actor.
                if (seed % 3 == 0) {
                    (who[m], imported[m], exported[m]) = (stranger, 1 + (seed >> 16) % KWH, 0);
                    ++m;
                }
                if (seed % 5 == 0) {
                    address a = actors[(seed >> 24) % n];
                    uint256 big = market.MAX_ENERGY_WH() + 1 + (seed >> 32) % 1000;
                    (who[m], imported[m], exported[m]) =
                        (seed & 1 == 0) ? (a, big, uint256(0)) : (a, uint256(0), big);
                    ++m;
                }
            }
            if (i == n) break;
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            if (someMissing && r % 3 == 0) continue;
            (IEnergyMarket.Side side,,, uint256 filled,) = market.getOrder(w, actors[i]);
            // Mostly exactly what was traded, sometimes short, sometimes more.
            uint256 measured = r % 5 == 0 ? filled / 2 : (r % 7 == 0 ? filled + (r >> 8) % KWH : filled);
            who[m] = actors[i];
            (imported[m], exported[m]) =
                side == IEnergyMarket.Side.Buy ? (measured, uint256(0)) : (uint256(0), measured);
            if (!registered[actors[i]] && filled != 0) ++counts["readingsOfDeregisteredTraders"];
            ++m;
        }
        assembly ("memory-safe") {
            mstore(who, m)
            mstore(imported, m)
            mstore(exported, m)
        }
    }

    /// @dev Which error makes the market skip this entry (0: none): a value out of range first, then an account
    /// that never held a prosumer ID.
    function _readingRejection(address who, uint256 imported, uint256 exported)
        internal
        view
        returns (bytes4)
    {
        uint256 max = market.MAX_ENERGY_WH();
        if (imported > max || exported > max) return IEnergyMarket.ReadingOutOfRange.selector;
        if (registry.prosumerIdOf(who) == 0) return IEnergyMarket.NotRegistered.selector;
        return bytes4(0);
    }

    /// @dev Each actor's reading is its last good entry of the batch, or what it was before.
    function _checkReadingsStored(
        uint256 w,
        address[] memory who,
        uint256[] memory imported,
        uint256[] memory exported,
        bytes32[] memory before
    ) internal {
        bytes32[] memory expected = before;
        for (uint256 i; i < who.length; ++i) {
            if (_readingRejection(who[i], imported[i], exported[i]) != bytes4(0)) continue;
            expected[_index(who[i])] = keccak256(abi.encode(true, imported[i], exported[i]));
        }
        for (uint256 i; i < actors.length; ++i) {
            if (_readingHash(w, actors[i]) != expected[i]) {
                _violation("readings batch: entry not stored as given");
            }
        }
        (bool strangerRead,,) = market.getReading(w, stranger);
        if (strangerRead) _violation("readings batch: unregistered account stored");
    }

    // ================================================================ ghost checks after each successful call

    function _afterCall() internal {
        uint256 first = firstActive;
        bool prefixSettled = true;
        for (uint256 i = first; i < windows.length; ++i) {
            uint256 w = windows[i];
            uint8 status = uint8(_status(w));
            uint8 before = maxStatus[w];
            if (status < before) _violation("status went backwards");
            if (status >= uint8(CLEARED) && before < uint8(CLEARED)) {
                clearedAt[w] = block.timestamp;
                (,,,, uint256 tradeCount,) = market.getWindow(w);
                counts["tradesCleared"] += tradeCount;
                ++counts["windowsCleared"];
            }
            if (status >= uint8(SETTLING) && before < uint8(SETTLING) && block.timestamp < w + 2 * duration) {
                _violation("settlement started before w + 2d");
            }
            maxStatus[w] = status;
            if (status == uint8(SETTLING)) _checkFrozenReadings(w);
            if (status == uint8(SETTLED)) {
                if (before < uint8(SETTLED)) {
                    _checkFrozenReadings(w);
                    settledFingerprint[w] = fingerprint(w);
                    ++counts["windowsSettled"];
                    (,,,, uint256 tradeCount,) = market.getWindow(w);
                    counts["tradesSettled"] += tradeCount;
                }
                if (prefixSettled) first = i + 1;
            } else {
                prefixSettled = false;
            }
        }
        firstActive = first;
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

    // ================================================================ helpers

    function _readingHash(uint256 w, address who) internal view returns (bytes32) {
        (bool submitted, uint256 imported, uint256 exported) = market.getReading(w, who);
        return keccak256(abi.encode(submitted, imported, exported));
    }

    function _tradeHash(uint256 w, uint256 t) internal view returns (bytes32) {
        (address b, address s, uint256 e, IEnergyMarket.TradeStatus st, IEnergyMarket.RejectReason r) =
            market.getTrade(w, t);
        return keccak256(abi.encode(b, s, e, st, r));
    }

    function _hint(uint256 w, IEnergyMarket.Side side, uint256 price, uint256 seed)
        internal
        view
        returns (address)
    {
        return seed % 3 == 0 ? market.findHint(w, side, price) : actors[seed % actors.length];
    }

    /// @dev When `mustBeFree`, an actor without a live order in `w` (if there is one), else any actor.
    function _actorWithoutOrder(uint256 w, uint256 seed, bool mustBeFree) internal view returns (address) {
        uint256 n = actors.length;
        if (mustBeFree) {
            for (uint256 k; k < n; ++k) {
                address candidate = actors[(seed % n + k) % n];
                (,,,, bool live) = market.getOrder(w, candidate);
                if (!live) return candidate;
            }
        }
        return actors[seed % n];
    }

    function _freeRegisteredActor(uint256 w, uint256 seed) internal view returns (address) {
        uint256 n = actors.length;
        for (uint256 k; k < n; ++k) {
            address candidate = actors[(seed % n + k) % n];
            if (!registered[candidate]) continue;
            (,,,, bool live) = market.getOrder(w, candidate);
            if (!live) return candidate;
        }
        return address(0);
    }

    function _deregisteredActor(uint256 seed) internal view returns (address) {
        uint256 n = actors.length;
        for (uint256 k; k < n; ++k) {
            address candidate = actors[(seed % n + k) % n];
            if (!registered[candidate]) return candidate;
        }
        return address(0);
    }

    /// @dev A seller of a trade in a window cleared but not settled (address(0) if there is none).
    function _sellerAwaitingSettlement(uint256 seed) internal view returns (address) {
        for (uint256 i = firstActive; i < windows.length; ++i) {
            (IEnergyMarket.WindowStatus status,,,, uint256 tradeCount,) = market.getWindow(windows[i]);
            if ((status == CLEARED || status == SETTLING) && tradeCount != 0) {
                (, address seller,,,) = market.getTrade(windows[i], seed % tradeCount);
                return seller;
            }
        }
        return address(0);
    }

    /// @dev Three times in four the oldest window whose status is at most `upTo` but past the one before it
    /// (the window the action is meant for); otherwise any window, so that the expected reverts happen too.
    function _pick(uint256 seed, IEnergyMarket.WindowStatus upTo) internal view returns (uint256) {
        if (seed % 4 != 0) {
            for (uint256 i = firstActive; i < windows.length; ++i) {
                IEnergyMarket.WindowStatus status = _status(windows[i]);
                if (status <= upTo && uint8(status) + 2 > uint8(upTo)) return windows[i];
            }
        }
        return windows[(seed >> 2) % windows.length];
    }

    /// @dev Three times in four a random window with exactly `status` (if any), otherwise any window.
    function _pickExact(uint256 seed, IEnergyMarket.WindowStatus status) internal view returns (uint256) {
        if (seed % 4 != 0) {
            uint256 matching;
            for (uint256 i = firstActive; i < windows.length; ++i) {
                if (_status(windows[i]) == status) ++matching;
            }
            if (matching != 0) {
                uint256 k = (seed >> 2) % matching;
                for (uint256 i = firstActive; i < windows.length; ++i) {
                    if (_status(windows[i]) != status) continue;
                    if (k == 0) return windows[i];
                    --k;
                }
            }
        }
        return windows[(seed >> 2) % windows.length];
    }

    function _index(address who) internal view returns (uint256) {
        uint256 i = actorIndexPlusOne[who];
        require(i != 0, "unknown actor");
        return i - 1;
    }

    function _status(uint256 w) internal view returns (IEnergyMarket.WindowStatus status) {
        (status,,,,,) = market.getWindow(w);
    }

    function _violation(string memory what) internal {
        ++violations;
        lastViolation = what;
    }
}
