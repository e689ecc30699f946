// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EnergyMarket} from "../../src/EnergyMarket.sol";
import {IEnergyMarket} from "../../src/interfaces/IEnergyMarket.sol";
import {MarketFixture} from "../utils/MarketFixture.sol";

/// @notice A gas-metered perform must be monotone in the gas it is given: once some gas limit succeeds, every
/// larger one succeeds too (else a registry with a fixed perform gas can fail on the same state forever). The
/// hard case is finishing a window after many later windows were finished out of order (cursor advance).
contract UpkeepGasFloorTest is MarketFixture {
    uint256 internal constant LATER_WINDOWS = 48;
    uint256 internal constant GAS_FROM = 100_000;
    uint256 internal constant GAS_TO = 600_000;
    uint256 internal constant GAS_STEP = 4000;

    EnergyMarket internal m;
    address internal buyer;
    address internal seller;
    address internal silentSeller;
    address internal otherSeller;

    function setUp() public override {
        super.setUp();
        m = new EnergyMarket(token, registry, DURATION, _maxGrace(), admin);
        buyer = _prosumer("buyer");
        seller = _prosumer("seller");
        silentSeller = _prosumer("silentSeller");
        otherSeller = _prosumer("otherSeller");
        vm.prank(admin);
        token.mint(buyer, 1_000_000 * TOKEN);
        vm.prank(buyer);
        token.approve(address(m), type(uint256).max);
    }

    function _maxGrace() internal view returns (uint256) {
        return market.MAX_GRACE_WINDOWS() * DURATION;
    }

    /// @dev W0: trade 0 with a seller who never reports (so W0 waits for its grace), trades 1 and 2 with reporting
    /// sellers; then `LATER_WINDOWS` windows with one trade each.
    function _windows() internal {
        vm.warp(START);
        m.openWindow();
        vm.prank(buyer);
        m.placeOrder(START, BUY, 3 * KWH, 30 * TOKEN, address(0));
        vm.prank(silentSeller);
        m.placeOrder(START, SELL, KWH, 20 * TOKEN, address(0));
        vm.prank(seller);
        m.placeOrder(START, SELL, KWH, 20 * TOKEN, silentSeller);
        vm.prank(otherSeller);
        m.placeOrder(START, SELL, KWH, 20 * TOKEN, seller);
        for (uint256 h = 1; h <= LATER_WINDOWS; ++h) {
            uint256 w = START + h * DURATION;
            vm.warp(w);
            m.openWindow();
            vm.prank(buyer);
            m.placeOrder(w, BUY, KWH, 30 * TOKEN, address(0));
            vm.prank(seller);
            m.placeOrder(w, SELL, KWH, 20 * TOKEN, address(0));
        }
        vm.warp(START + (LATER_WINDOWS + 2) * DURATION);
        m.openWindow();
    }

    function _readings(uint256 w) internal {
        address[] memory p = new address[](3);
        uint256[] memory imp = new uint256[](3);
        uint256[] memory exp = new uint256[](3);
        (p[0], p[1], p[2], imp[0], exp[1], exp[2]) = (buyer, seller, otherSeller, 3 * KWH, KWH, KWH);
        vm.prank(admin);
        m.submitMeterReadings(w, p, imp, exp);
    }

    /// @dev The performData `checkUpkeep` proposes, asserted to be `action` on W0.
    function _proposedForW0(IEnergyMarket.UpkeepAction action) internal view returns (bytes memory data) {
        bool needed;
        (needed, data) = m.checkUpkeep("");
        assertTrue(needed, "upkeep due");
        (IEnergyMarket.UpkeepAction proposed, uint256 w,) =
            abi.decode(data, (IEnergyMarket.UpkeepAction, uint256, uint256));
        assertEq(uint8(proposed), uint8(action), "action");
        assertEq(w, START, "W0");
    }

    /// @dev Sweeps the perform's gas; fails if a limit reverts after a smaller one succeeded.
    function _assertMonotone(bytes memory performData) internal {
        uint256 firstSuccess;
        for (uint256 gas = GAS_FROM; gas <= GAS_TO; gas += GAS_STEP) {
            uint256 snapshot = vm.snapshotState();
            vm.cool(address(m));
            vm.cool(address(registry));
            vm.cool(address(token));
            (bool ok,) = address(m).call{gas: gas}(abi.encodeCall(m.performUpkeep, (performData)));
            vm.revertToState(snapshot);
            if (ok && firstSuccess == 0) firstSuccess = gas;
            if (!ok && firstSuccess != 0) {
                assertTrue(
                    false,
                    string.concat(
                        "reverts with ", vm.toString(gas), " after success with ", vm.toString(firstSuccess)
                    )
                );
            }
        }
        assertGt(firstSuccess, 0, "some gas limit succeeds");
    }

    function test_performUpkeep_settleAfterLaterWindowsSettled_moreGasNeverFails() public {
        _windows();
        for (uint256 h; h <= LATER_WINDOWS; ++h) {
            m.closeWindow(START + h * DURATION, 10);
        }
        for (uint256 h = 1; h <= LATER_WINDOWS; ++h) {
            _readings(START + h * DURATION);
            assertTrue(m.settleWindow(START + h * DURATION, 10), "later window settled first");
        }
        _readings(START); // the silent seller's reading stays missing
        vm.warp(m.settleReadyAt(START));
        m.closeWindow(START + (LATER_WINDOWS + 2) * DURATION, 10); // the window open since the setup
        m.openWindow();
        _assertMonotone(_proposedForW0(IEnergyMarket.UpkeepAction.Settle));
    }

    function test_performUpkeep_closeAfterLaterWindowsClosed_moreGasNeverFails() public {
        _windows();
        for (uint256 h = 1; h <= LATER_WINDOWS; ++h) {
            m.closeWindow(START + h * DURATION, 10); // closed directly, before W0
        }
        _assertMonotone(_proposedForW0(IEnergyMarket.UpkeepAction.Close));
    }

    function test_settleReadyAt_notClearedYet_isNeverReady() public {
        _windows();
        assertEq(m.settleReadyAt(START), type(uint256).max, "open window: not before it is cleared");
        m.closeWindow(START, 1);
        assertEq(m.settleReadyAt(START), type(uint256).max, "closing window: not before it is cleared");
    }
}
