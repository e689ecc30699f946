// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title TradeRecord
/// @notice Packs a trade into 128 bits so that two trades share one storage slot.
/// Layout (low to high): buyerId 32 | sellerId 32 | energyWh 32 | status 8 | reason 8.
library TradeRecord {
    uint256 internal constant BITS = 128;
    uint256 private constant MASK_32 = 0xffffffff;
    uint256 private constant MASK_8 = 0xff;
    uint256 private constant MASK_128 = (1 << 128) - 1;

    /// @notice A fresh (pending) trade record.
    function encode(uint32 buyerId, uint32 sellerId, uint32 energyWh) internal pure returns (uint256) {
        return uint256(buyerId) | (uint256(sellerId) << 32) | (uint256(energyWh) << 64);
    }

    /// @notice The fields of a record.
    function decode(uint256 record)
        internal
        pure
        returns (uint32 buyerId, uint32 sellerId, uint32 energyWh, uint8 status, uint8 reason)
    {
        buyerId = uint32(record & MASK_32);
        sellerId = uint32((record >> 32) & MASK_32);
        energyWh = uint32((record >> 64) & MASK_32);
        status = uint8((record >> 96) & MASK_8);
        reason = uint8((record >> 104) & MASK_8);
    }

    /// @notice `record` with its outcome set.
    function withOutcome(uint256 record, uint8 status, uint8 reason) internal pure returns (uint256) {
        return (record & ((1 << 96) - 1)) | (uint256(status) << 96) | (uint256(reason) << 104);
    }

    /// @notice The record at `half` (0 low, 1 high) of a slot.
    function read(uint256 slotValue, uint256 half) internal pure returns (uint256) {
        return (slotValue >> (half * BITS)) & MASK_128;
    }

    /// @notice `slotValue` with `record` written at `half`.
    function write(uint256 slotValue, uint256 half, uint256 record) internal pure returns (uint256) {
        uint256 shift = half * BITS;
        return (slotValue & ~(MASK_128 << shift)) | (record << shift);
    }
}
