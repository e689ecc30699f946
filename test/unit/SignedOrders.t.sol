// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EnergyMarket} from "../../src/EnergyMarket.sol";
import {IEnergyMarket} from "../../src/interfaces/IEnergyMarket.sol";
import {MarketFixture} from "../utils/MarketFixture.sol";
import {
    MockERC1271Wallet,
    RefusingERC1271Wallet,
    RevertingERC1271Wallet
} from "../utils/MockERC1271Wallet.sol";
import {SignedOrderLib} from "../utils/SignedOrderFixture.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

/// @notice Signed orders and cancels (EIP-712, ECDSA and ERC-1271): every rule and every rejection reason.
contract SignedOrdersTest is MarketFixture {
    /// @dev secp256k1 order: a high-s signature is (r, n - s, v ^ 1).
    uint256 internal constant SECP256K1_N =
        0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    address internal relayer = makeAddr("relayer");
    uint256 internal w;
    address internal alice;
    uint256 internal aliceKey;
    address internal bob;
    uint256 internal bobKey;

    function setUp() public override {
        super.setUp();
        w = _open();
        (alice, aliceKey) = _signer("alice");
        (bob, bobKey) = _signer("bob");
    }

    // ---------------------------------------------------------------- helpers

    /// @dev A new registered prosumer and its private key.
    function _signer(string memory name) internal returns (address account, uint256 key) {
        (account, key) = makeAddrAndKey(name);
        vm.prank(admin);
        registry.register(account, nextProsumerId++);
    }

    function _order(address prosumer, IEnergyMarket.Side side, uint256 energyWh, uint256 price, uint256 nonce)
        internal
        view
        returns (IEnergyMarket.SignedOrder memory o)
    {
        o = IEnergyMarket.SignedOrder({
            prosumer: prosumer,
            windowId: w,
            side: side,
            energyWh: energyWh,
            pricePerKWh: price,
            nonce: nonce,
            hintPrev: address(0),
            signature: ""
        });
    }

    function _sign(IEnergyMarket.SignedOrder memory o, uint256 key)
        internal
        view
        returns (IEnergyMarket.SignedOrder memory)
    {
        o.signature = SignedOrderLib.sign(key, SignedOrderLib.orderDigest(address(market), block.chainid, o));
        return o;
    }

    function _signed(address prosumer, uint256 key, IEnergyMarket.Side side, uint256 price, uint256 nonce)
        internal
        view
        returns (IEnergyMarket.SignedOrder memory)
    {
        return _sign(_order(prosumer, side, KWH, price, nonce), key);
    }

    function _one(IEnergyMarket.SignedOrder memory o)
        internal
        pure
        returns (IEnergyMarket.SignedOrder[] memory orders)
    {
        orders = new IEnergyMarket.SignedOrder[](1);
        orders[0] = o;
    }

    function _submit(IEnergyMarket.SignedOrder memory o) internal returns (uint256) {
        vm.prank(relayer);
        return market.placeOrdersBySig(_one(o));
    }

    /// @dev Submits `o` alone and expects it skipped with `reason`.
    function _assertRejected(IEnergyMarket.SignedOrder memory o, bytes4 reason) internal {
        vm.expectEmit(address(market));
        emit IEnergyMarket.SignedOrderRejected(o.windowId, o.prosumer, o.nonce, reason);
        assertEq(_submit(o), 0, "skipped");
    }

    /// @dev `placeOrder` by the prosumer itself with the same fields reverts with `reason` (state unchanged).
    function _assertPlaceOrderReverts(IEnergyMarket.SignedOrder memory o, bytes4 reason) internal {
        vm.prank(o.prosumer);
        (bool ok, bytes memory data) = address(market)
            .call(
                abi.encodeCall(market.placeOrder, (o.windowId, o.side, o.energyWh, o.pricePerKWh, o.hintPrev))
            );
        assertFalse(ok, "placeOrder reverts too");
        assertEq(bytes4(data), reason, "same error as placeOrder");
    }

    function _cancelSig(address prosumer, uint256 key, uint256 nonce) internal view returns (bytes memory) {
        return SignedOrderLib.sign(
            key, SignedOrderLib.cancelDigest(address(market), block.chainid, prosumer, w, nonce)
        );
    }

    function _live(address prosumer) internal view returns (bool live) {
        (,,,, live) = market.getOrder(w, prosumer);
    }

    // ---------------------------------------------------------------- domain

    function test_eip712Domain_namesMarketVersionChainAndAddress() public view {
        (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifying,
            bytes32 salt,
            uint256[] memory ext
        ) = market.eip712Domain();
        assertEq(fields, hex"0f");
        assertEq(name, "EnergyMarket");
        assertEq(version, "1");
        assertEq(chainId, block.chainid);
        assertEq(verifying, address(market));
        assertEq(salt, bytes32(0));
        assertEq(ext.length, 0);
    }

    // ---------------------------------------------------------------- placing

    function test_placeOrdersBySig_validBatch_placesInArrayOrder() public {
        (address carol, uint256 carolKey) = _signer("carol");
        IEnergyMarket.SignedOrder[] memory orders = new IEnergyMarket.SignedOrder[](3);
        orders[0] = _signed(alice, aliceKey, BUY, 10 * TOKEN, 0);
        orders[1] = _signed(bob, bobKey, BUY, 10 * TOKEN, 0); // same price: after alice (time priority)
        orders[2] = _signed(carol, carolKey, SELL, 8 * TOKEN, 0);
        orders[1].hintPrev = alice; // computed from the book as order 0 leaves it
        for (uint256 i; i < 3; ++i) {
            vm.expectEmit(address(market));
            emit IEnergyMarket.OrderPlaced(w, orders[i].prosumer, orders[i].side, KWH, orders[i].pricePerKWh);
        }
        vm.prank(relayer);
        assertEq(market.placeOrdersBySig(orders), 3);
        address[] memory bids = _book(w, BUY);
        assertEq(bids.length, 2);
        assertEq(bids[0], alice);
        assertEq(bids[1], bob);
        assertEq(_book(w, SELL)[0], carol);
        assertEq(market.orderNonce(w, alice), 1);
        (,,,, uint256 tradeCount,) = market.getWindow(w);
        assertEq(tradeCount, 0);
        (,,, uint256 orderCount,,) = market.getWindow(w);
        assertEq(orderCount, 3);
    }

    function test_placeOrdersBySig_badOrderInBatch_othersPlaced() public {
        IEnergyMarket.SignedOrder[] memory orders = new IEnergyMarket.SignedOrder[](3);
        orders[0] = _signed(alice, aliceKey, BUY, 10 * TOKEN, 0);
        orders[1] = _signed(bob, bobKey, BUY, 11 * TOKEN, 0);
        orders[1].signature = hex"1234";
        orders[2] = _signed(bob, bobKey, SELL, 12 * TOKEN, 0);
        vm.expectEmit(address(market));
        emit IEnergyMarket.SignedOrderRejected(w, bob, 0, IEnergyMarket.InvalidSignature.selector);
        vm.prank(relayer);
        assertEq(market.placeOrdersBySig(orders), 2);
        assertTrue(_live(alice));
        (IEnergyMarket.Side side,,,, bool live) = market.getOrder(w, bob);
        assertTrue(live);
        assertEq(uint8(side), uint8(SELL));
    }

    function test_placeOrdersBySig_emptyBatch_placesNothing() public {
        assertEq(market.placeOrdersBySig(new IEnergyMarket.SignedOrder[](0)), 0);
    }

    function test_placeOrdersBySig_otherWindow_InvalidSignature() public {
        IEnergyMarket.SignedOrder memory o = _signed(alice, aliceKey, BUY, TOKEN, 0); // signed for w
        vm.warp(w + DURATION);
        uint256 next = _open();
        o.windowId = next;
        _assertRejected(o, IEnergyMarket.InvalidSignature.selector);
    }

    function test_placeOrdersBySig_otherChainId_InvalidSignature() public {
        IEnergyMarket.SignedOrder memory o = _order(alice, BUY, KWH, TOKEN, 0);
        o.signature = SignedOrderLib.sign(aliceKey, SignedOrderLib.orderDigest(address(market), 1, o));
        _assertRejected(o, IEnergyMarket.InvalidSignature.selector);
        // Signed on this chain, submitted after a fork to another chain id.
        _sign(o, aliceKey);
        vm.chainId(block.chainid + 1);
        _assertRejected(o, IEnergyMarket.InvalidSignature.selector);
    }

    function test_placeOrdersBySig_otherMarket_InvalidSignature() public {
        EnergyMarket other = new EnergyMarket(token, registry, DURATION, GRACE, admin);
        IEnergyMarket.SignedOrder memory o = _order(alice, BUY, KWH, TOKEN, 0);
        o.signature =
            SignedOrderLib.sign(aliceKey, SignedOrderLib.orderDigest(address(other), block.chainid, o));
        _assertRejected(o, IEnergyMarket.InvalidSignature.selector);
        // The same signature is good at the market it was made for.
        other.openWindow();
        assertEq(other.placeOrdersBySig(_one(o)), 1);
    }

    function test_placeOrdersBySig_changedEnergy_InvalidSignature() public {
        IEnergyMarket.SignedOrder memory o = _signed(alice, aliceKey, BUY, TOKEN, 0);
        o.energyWh += 1;
        _assertRejected(o, IEnergyMarket.InvalidSignature.selector);
    }

    function test_placeOrdersBySig_changedPrice_InvalidSignature() public {
        IEnergyMarket.SignedOrder memory o = _signed(alice, aliceKey, BUY, TOKEN, 0);
        o.pricePerKWh += 1;
        _assertRejected(o, IEnergyMarket.InvalidSignature.selector);
    }

    function test_placeOrdersBySig_changedSide_InvalidSignature() public {
        IEnergyMarket.SignedOrder memory o = _signed(alice, aliceKey, BUY, TOKEN, 0);
        o.side = SELL;
        _assertRejected(o, IEnergyMarket.InvalidSignature.selector);
    }

    function test_placeOrdersBySig_otherProsumersSignature_InvalidSignature() public {
        IEnergyMarket.SignedOrder memory o = _signed(alice, bobKey, BUY, TOKEN, 0);
        _assertRejected(o, IEnergyMarket.InvalidSignature.selector);
    }

    function test_placeOrdersBySig_hintNotSigned_anyHintAccepted() public {
        _place(w, bob, BUY, KWH, 2 * TOKEN);
        IEnergyMarket.SignedOrder memory o = _signed(alice, aliceKey, BUY, TOKEN, 0);
        o.hintPrev = bob;
        assertEq(_submit(o), 1);
        assertEq(_book(w, BUY)[1], alice);
    }

    function test_placeOrdersBySig_replayAfterCancel_InvalidNonce() public {
        IEnergyMarket.SignedOrder memory o = _signed(alice, aliceKey, BUY, TOKEN, 0);
        assertEq(_submit(o), 1);
        vm.prank(alice);
        market.cancelOrder(w);
        _assertRejected(o, IEnergyMarket.InvalidNonce.selector);
        assertFalse(_live(alice));
    }

    function test_placeOrdersBySig_replayWhileLive_AlreadyHasOrder() public {
        IEnergyMarket.SignedOrder memory o = _signed(alice, aliceKey, BUY, TOKEN, 0);
        assertEq(_submit(o), 1);
        _assertRejected(o, IEnergyMarket.AlreadyHasOrder.selector);
    }

    function test_placeOrdersBySig_sameOrderTwiceInBatch_secondSkipped() public {
        IEnergyMarket.SignedOrder memory o = _signed(alice, aliceKey, BUY, TOKEN, 0);
        IEnergyMarket.SignedOrder[] memory orders = new IEnergyMarket.SignedOrder[](2);
        (orders[0], orders[1]) = (o, o);
        vm.expectEmit(address(market));
        emit IEnergyMarket.SignedOrderRejected(w, alice, 0, IEnergyMarket.AlreadyHasOrder.selector);
        assertEq(market.placeOrdersBySig(orders), 1);
    }

    function test_placeOrdersBySig_wrongNonce_InvalidNonce() public {
        _assertRejected(_signed(alice, aliceKey, BUY, TOKEN, 1), IEnergyMarket.InvalidNonce.selector);
        _assertRejected(
            _signed(alice, aliceKey, BUY, TOKEN, type(uint256).max), IEnergyMarket.InvalidNonce.selector
        );
    }

    function test_placeOrdersBySig_secondOrderAfterCancel_nonceOne() public {
        assertEq(_submit(_signed(alice, aliceKey, BUY, TOKEN, 0)), 1);
        vm.prank(alice);
        market.cancelOrder(w);
        assertEq(market.orderNonce(w, alice), 1);
        assertEq(_submit(_signed(alice, aliceKey, SELL, 2 * TOKEN, 1)), 1);
        (IEnergyMarket.Side side,, uint256 price,, bool live) = market.getOrder(w, alice);
        assertTrue(live);
        assertEq(uint8(side), uint8(SELL));
        assertEq(price, 2 * TOKEN);
        assertEq(market.orderNonce(w, alice), 2);
    }

    function test_placeOrdersBySig_malformedSignatureLength_InvalidSignature() public {
        IEnergyMarket.SignedOrder memory o = _signed(alice, aliceKey, BUY, TOKEN, 0);
        bytes memory good = o.signature;
        o.signature = "";
        _assertRejected(o, IEnergyMarket.InvalidSignature.selector);
        o.signature = abi.encodePacked(good, uint8(0));
        _assertRejected(o, IEnergyMarket.InvalidSignature.selector);
        bytes memory short = new bytes(64);
        for (uint256 i; i < 64; ++i) {
            short[i] = good[i];
        }
        o.signature = short;
        _assertRejected(o, IEnergyMarket.InvalidSignature.selector);
        // A 65-byte signature with v neither 27 nor 28 and one of zeros.
        o.signature = abi.encodePacked(good);
        o.signature[64] = bytes1(uint8(5));
        _assertRejected(o, IEnergyMarket.InvalidSignature.selector);
        o.signature = new bytes(65);
        _assertRejected(o, IEnergyMarket.InvalidSignature.selector);
        o.signature = good;
        assertEq(_submit(o), 1, "the untouched signature is still good");
    }

    function test_placeOrdersBySig_highS_InvalidSignature() public {
        IEnergyMarket.SignedOrder memory o = _order(alice, BUY, KWH, TOKEN, 0);
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(aliceKey, SignedOrderLib.orderDigest(address(market), block.chainid, o));
        // The same point, high s: ecrecover would accept it, the market must not.
        o.signature = abi.encodePacked(r, bytes32(SECP256K1_N - uint256(s)), v == 27 ? uint8(28) : uint8(27));
        assertEq(
            ecrecover(
                SignedOrderLib.orderDigest(address(market), block.chainid, o),
                v == 27 ? 28 : 27,
                r,
                bytes32(SECP256K1_N - uint256(s))
            ),
            alice,
            "malleable twin recovers"
        );
        _assertRejected(o, IEnergyMarket.InvalidSignature.selector);
    }

    function test_placeOrdersBySig_invalidSide_rejectedWithZeroReason() public {
        IEnergyMarket.SignedOrder memory o = _signed(alice, aliceKey, BUY, TOKEN, 0);
        IEnergyMarket.SignedOrder[] memory orders = _one(o);
        bytes memory data = abi.encodeCall(market.placeOrdersBySig, (orders));
        // Word layout: selector, array offset, length, element offset, then the struct: side is its third word.
        uint256 sideAt = 4 + 32 * 3 + 32 * 2;
        assembly {
            mstore(add(add(data, 32), sideAt), 2)
        }
        vm.expectEmit(address(market));
        emit IEnergyMarket.SignedOrderRejected(w, alice, 0, bytes4(0));
        (bool ok, bytes memory ret) = address(market).call(data);
        assertTrue(ok, "the batch does not revert");
        assertEq(abi.decode(ret, (uint256)), 0);
    }

    // ---------------------------------------------------------------- ERC-1271

    function test_placeOrdersBySig_erc1271WalletAccepts_placed() public {
        (address owner, uint256 ownerKey) = makeAddrAndKey("owner");
        MockERC1271Wallet wallet = new MockERC1271Wallet(owner);
        vm.prank(admin);
        registry.register(address(wallet), nextProsumerId++);
        IEnergyMarket.SignedOrder memory o = _signed(address(wallet), ownerKey, SELL, TOKEN, 0);
        assertEq(_submit(o), 1);
        assertTrue(_live(address(wallet)));
        // Cancel by the wallet's signature too.
        market.cancelOrderBySig(address(wallet), w, 0, _cancelSig(address(wallet), ownerKey, 0));
        assertFalse(_live(address(wallet)));
    }

    function test_placeOrdersBySig_erc1271WalletWrongOwner_InvalidSignature() public {
        (address owner,) = makeAddrAndKey("owner");
        MockERC1271Wallet wallet = new MockERC1271Wallet(owner);
        vm.prank(admin);
        registry.register(address(wallet), nextProsumerId++);
        _assertRejected(
            _signed(address(wallet), aliceKey, SELL, TOKEN, 0), IEnergyMarket.InvalidSignature.selector
        );
    }

    function test_placeOrdersBySig_erc1271WalletRefuses_InvalidSignature() public {
        RefusingERC1271Wallet wallet = new RefusingERC1271Wallet();
        vm.prank(admin);
        registry.register(address(wallet), nextProsumerId++);
        _assertRejected(
            _signed(address(wallet), aliceKey, SELL, TOKEN, 0), IEnergyMarket.InvalidSignature.selector
        );
    }

    function test_placeOrdersBySig_erc1271WalletReverts_InvalidSignature() public {
        RevertingERC1271Wallet wallet = new RevertingERC1271Wallet();
        vm.prank(admin);
        registry.register(address(wallet), nextProsumerId++);
        _assertRejected(
            _signed(address(wallet), aliceKey, SELL, TOKEN, 0), IEnergyMarket.InvalidSignature.selector
        );
    }

    // ---------------------------------------------------------------- front-running and pause

    /// @dev Check order: `placeOrder`'s checks come first, so a prosumer who placed directly (order live) makes its
    /// signed order fail `AlreadyHasOrder` before the nonce is looked at.
    function test_placeOrdersBySig_prosumerPlacedDirectlyFirst_AlreadyHasOrder() public {
        IEnergyMarket.SignedOrder memory o = _signed(alice, aliceKey, BUY, TOKEN, 0);
        vm.prank(alice);
        market.placeOrder(w, SELL, KWH, 3 * TOKEN, address(0));
        _assertRejected(o, IEnergyMarket.AlreadyHasOrder.selector);
    }

    /// @dev ... and one who placed and cancelled directly moved the nonce: `InvalidNonce`.
    function test_placeOrdersBySig_prosumerPlacedAndCancelledDirectly_InvalidNonce() public {
        IEnergyMarket.SignedOrder memory o = _signed(alice, aliceKey, BUY, TOKEN, 0);
        vm.startPrank(alice);
        market.placeOrder(w, SELL, KWH, 3 * TOKEN, address(0));
        market.cancelOrder(w);
        vm.stopPrank();
        _assertRejected(o, IEnergyMarket.InvalidNonce.selector);
    }

    function test_placeOrdersBySig_paused_EnforcedPause() public {
        IEnergyMarket.SignedOrder memory o = _signed(alice, aliceKey, BUY, TOKEN, 0);
        vm.prank(admin);
        market.pause();
        _assertRejected(o, Pausable.EnforcedPause.selector);
        vm.prank(admin);
        market.unpause();
        assertEq(_submit(o), 1);
    }

    // ---------------------------------------------------------------- every placeOrder error

    function test_placeOrdersBySig_zeroEnergy_ZeroEnergy() public {
        IEnergyMarket.SignedOrder memory o = _sign(_order(alice, BUY, 0, TOKEN, 0), aliceKey);
        _assertRejected(o, IEnergyMarket.ZeroEnergy.selector);
        _assertPlaceOrderReverts(o, IEnergyMarket.ZeroEnergy.selector);
    }

    function test_placeOrdersBySig_energyTooLarge_EnergyOutOfRange() public {
        IEnergyMarket.SignedOrder memory o =
            _sign(_order(alice, BUY, uint256(type(uint32).max) + 1, TOKEN, 0), aliceKey);
        _assertRejected(o, IEnergyMarket.EnergyOutOfRange.selector);
        _assertPlaceOrderReverts(o, IEnergyMarket.EnergyOutOfRange.selector);
    }

    function test_placeOrdersBySig_zeroPrice_ZeroPrice() public {
        IEnergyMarket.SignedOrder memory o = _sign(_order(alice, BUY, KWH, 0, 0), aliceKey);
        _assertRejected(o, IEnergyMarket.ZeroPrice.selector);
        _assertPlaceOrderReverts(o, IEnergyMarket.ZeroPrice.selector);
    }

    function test_placeOrdersBySig_priceTooLarge_PriceOutOfRange() public {
        IEnergyMarket.SignedOrder memory o =
            _sign(_order(alice, BUY, KWH, uint256(type(uint80).max) + 1, 0), aliceKey);
        _assertRejected(o, IEnergyMarket.PriceOutOfRange.selector);
        _assertPlaceOrderReverts(o, IEnergyMarket.PriceOutOfRange.selector);
    }

    function test_placeOrdersBySig_windowNotOpened_WindowNotOpen() public {
        IEnergyMarket.SignedOrder memory o = _order(alice, BUY, KWH, TOKEN, 0);
        o.windowId = w + DURATION;
        _sign(o, aliceKey);
        _assertRejected(o, IEnergyMarket.WindowNotOpen.selector);
        _assertPlaceOrderReverts(o, IEnergyMarket.WindowNotOpen.selector);
    }

    function test_placeOrdersBySig_hourOver_OrderingClosed() public {
        IEnergyMarket.SignedOrder memory o = _signed(alice, aliceKey, BUY, TOKEN, 0);
        vm.warp(w + DURATION);
        _assertRejected(o, IEnergyMarket.OrderingClosed.selector);
        _assertPlaceOrderReverts(o, IEnergyMarket.OrderingClosed.selector);
    }

    function test_placeOrdersBySig_paused_sameErrorAsPlaceOrder() public {
        IEnergyMarket.SignedOrder memory o = _signed(alice, aliceKey, BUY, TOKEN, 0);
        vm.prank(admin);
        market.pause();
        _assertPlaceOrderReverts(o, Pausable.EnforcedPause.selector);
    }

    function test_placeOrdersBySig_unregistered_NotRegistered() public {
        (address dave, uint256 daveKey) = makeAddrAndKey("dave");
        IEnergyMarket.SignedOrder memory o = _signed(dave, daveKey, BUY, TOKEN, 0);
        _assertRejected(o, IEnergyMarket.NotRegistered.selector);
        _assertPlaceOrderReverts(o, IEnergyMarket.NotRegistered.selector);
    }

    function test_placeOrdersBySig_deregistered_NotRegistered() public {
        vm.prank(admin);
        registry.deregister(alice);
        IEnergyMarket.SignedOrder memory o = _signed(alice, aliceKey, BUY, TOKEN, 0);
        _assertRejected(o, IEnergyMarket.NotRegistered.selector);
        _assertPlaceOrderReverts(o, IEnergyMarket.NotRegistered.selector);
    }

    function test_placeOrdersBySig_liveOrder_AlreadyHasOrder() public {
        _place(w, alice, BUY, KWH, TOKEN);
        IEnergyMarket.SignedOrder memory o = _signed(alice, aliceKey, BUY, 2 * TOKEN, 1);
        _assertRejected(o, IEnergyMarket.AlreadyHasOrder.selector);
        _assertPlaceOrderReverts(o, IEnergyMarket.AlreadyHasOrder.selector);
    }

    function test_placeOrdersBySig_placementLimit_PlacementLimitReached() public {
        uint256 limit = market.MAX_PLACEMENTS_PER_WINDOW();
        vm.startPrank(alice);
        for (uint256 i; i < limit; ++i) {
            market.placeOrder(w, BUY, KWH, TOKEN, address(0));
            market.cancelOrder(w);
        }
        vm.stopPrank();
        IEnergyMarket.SignedOrder memory o = _signed(alice, aliceKey, BUY, TOKEN, limit);
        _assertRejected(o, IEnergyMarket.PlacementLimitReached.selector);
        _assertPlaceOrderReverts(o, IEnergyMarket.PlacementLimitReached.selector);
    }

    /// @dev Check order between `placeOrder`'s checks and the signed ones: an unsigned order with a field error
    /// names the field error (the signature is checked last).
    function test_placeOrdersBySig_fieldErrorAndBadSignature_fieldErrorFirst() public {
        IEnergyMarket.SignedOrder memory o = _order(alice, BUY, 0, TOKEN, 7);
        o.signature = hex"00";
        _assertRejected(o, IEnergyMarket.ZeroEnergy.selector);
        o.energyWh = KWH;
        _assertRejected(o, IEnergyMarket.InvalidNonce.selector);
        o.nonce = 0;
        _assertRejected(o, IEnergyMarket.InvalidSignature.selector);
    }

    // ---------------------------------------------------------------- cancel by signature

    function test_cancelOrderBySig_valid_cancels() public {
        assertEq(_submit(_signed(alice, aliceKey, BUY, TOKEN, 0)), 1);
        vm.expectEmit(address(market));
        emit IEnergyMarket.OrderCancelled(w, alice);
        vm.prank(relayer);
        market.cancelOrderBySig(alice, w, 0, _cancelSig(alice, aliceKey, 0));
        assertFalse(_live(alice));
        (,,, uint256 orderCount,,) = market.getWindow(w);
        assertEq(orderCount, 0);
        assertEq(market.orderNonce(w, alice), 1, "a cancel does not move the nonce");
    }

    function test_cancelOrderBySig_whilePaused_cancels() public {
        _place(w, alice, BUY, KWH, TOKEN);
        vm.prank(admin);
        market.pause();
        market.cancelOrderBySig(alice, w, 0, _cancelSig(alice, aliceKey, 0));
        assertFalse(_live(alice));
    }

    function test_cancelOrderBySig_deregisteredProsumer_cancels() public {
        _place(w, alice, BUY, KWH, TOKEN);
        vm.prank(admin);
        registry.deregister(alice);
        market.cancelOrderBySig(alice, w, 0, _cancelSig(alice, aliceKey, 0));
        assertFalse(_live(alice));
    }

    function test_cancelOrderBySig_thenSignedReplacement_placed() public {
        _place(w, alice, BUY, KWH, TOKEN);
        IEnergyMarket.SignedOrder memory o = _signed(alice, aliceKey, SELL, 2 * TOKEN, 1);
        _assertRejected(o, IEnergyMarket.AlreadyHasOrder.selector);
        market.cancelOrderBySig(alice, w, 0, _cancelSig(alice, aliceKey, 0));
        assertEq(_submit(o), 1);
        assertTrue(_live(alice));
    }

    function test_cancelOrderBySig_otherSigner_InvalidSignature() public {
        _place(w, alice, BUY, KWH, TOKEN);
        bytes memory sig = _cancelSig(alice, bobKey, 0);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.InvalidSignature.selector, alice));
        market.cancelOrderBySig(alice, w, 0, sig);
    }

    function test_cancelOrderBySig_malformedSignature_InvalidSignature() public {
        _place(w, alice, BUY, KWH, TOKEN);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.InvalidSignature.selector, alice));
        market.cancelOrderBySig(alice, w, 0, hex"abcd");
    }

    function test_cancelOrderBySig_otherMarket_InvalidSignature() public {
        _place(w, alice, BUY, KWH, TOKEN);
        EnergyMarket other = new EnergyMarket(token, registry, DURATION, GRACE, admin);
        bytes memory sig = SignedOrderLib.sign(
            aliceKey, SignedOrderLib.cancelDigest(address(other), block.chainid, alice, w, 0)
        );
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.InvalidSignature.selector, alice));
        market.cancelOrderBySig(alice, w, 0, sig);
    }

    function test_cancelOrderBySig_replayedAfterReplacing_InvalidNonce() public {
        _place(w, alice, BUY, KWH, TOKEN);
        bytes memory sig = _cancelSig(alice, aliceKey, 0);
        market.cancelOrderBySig(alice, w, 0, sig);
        _place(w, alice, BUY, KWH, 2 * TOKEN);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.InvalidNonce.selector, alice, 1, 0));
        market.cancelOrderBySig(alice, w, 0, sig);
        assertTrue(_live(alice), "the new order stays");
    }

    function test_cancelOrderBySig_replayedRightAway_NoLiveOrder() public {
        _place(w, alice, BUY, KWH, TOKEN);
        bytes memory sig = _cancelSig(alice, aliceKey, 0);
        market.cancelOrderBySig(alice, w, 0, sig);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.NoLiveOrder.selector, w, alice));
        market.cancelOrderBySig(alice, w, 0, sig);
    }

    function test_cancelOrderBySig_prosumerCancelledDirectly_NoLiveOrder() public {
        _place(w, alice, BUY, KWH, TOKEN);
        bytes memory sig = _cancelSig(alice, aliceKey, 0);
        vm.prank(alice);
        market.cancelOrder(w);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.NoLiveOrder.selector, w, alice));
        market.cancelOrderBySig(alice, w, 0, sig);
    }

    function test_cancelOrderBySig_wrongNonce_InvalidNonce() public {
        _place(w, alice, BUY, KWH, TOKEN);
        bytes memory sig = _cancelSig(alice, aliceKey, 1);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.InvalidNonce.selector, alice, 0, 1));
        market.cancelOrderBySig(alice, w, 1, sig);
    }

    function test_cancelOrderBySig_noOrder_NoLiveOrder() public {
        bytes memory sig = _cancelSig(alice, aliceKey, 0);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.NoLiveOrder.selector, w, alice));
        market.cancelOrderBySig(alice, w, 0, sig);
        (address dave, uint256 daveKey) = makeAddrAndKey("dave");
        sig = _cancelSig(dave, daveKey, 0);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.NoLiveOrder.selector, w, dave));
        market.cancelOrderBySig(dave, w, 0, sig);
    }

    function test_cancelOrderBySig_windowNotOpen_WindowNotOpen() public {
        uint256 next = w + DURATION;
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.WindowNotOpen.selector, next));
        market.cancelOrderBySig(alice, next, 0, "");
    }

    function test_cancelOrderBySig_hourOver_OrderingClosed() public {
        _place(w, alice, BUY, KWH, TOKEN);
        bytes memory sig = _cancelSig(alice, aliceKey, 0);
        vm.warp(w + DURATION);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.OrderingClosed.selector, w, w + DURATION));
        market.cancelOrderBySig(alice, w, 0, sig);
    }

    function test_cancelOrderBySig_orderSignatureAsCancel_InvalidSignature() public {
        IEnergyMarket.SignedOrder memory o = _signed(alice, aliceKey, BUY, TOKEN, 0);
        assertEq(_submit(o), 1);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.InvalidSignature.selector, alice));
        market.cancelOrderBySig(alice, w, 0, o.signature);
    }
}
