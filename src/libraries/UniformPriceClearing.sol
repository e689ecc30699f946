// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title UniformPriceClearing
/// @notice The clearing rule of the market, step by step, as pure functions.
/// 1. Bids are sorted by price descending, asks by price ascending; equal prices keep placement order.
/// 2. Both lists are walked from the top, matching `min(remaining bid, remaining ask)` while
///    `bid.price >= ask.price`. Each match is one trade, in walk order.
/// 3. The price comes from the marginal (last matched) bid `b` and ask `a`:
///    - if `a` is only partly filled: `a.price`;
///    - else if `b` is only partly filled: `b.price`;
///    - else: `floor((max(a.price, b'.price) + min(b.price, a'.price)) / 2)`, where `b'`/`a'` are the next
///      unmatched bid/ask (absent: `a.price` / `b.price`).
/// 4. No crossing: no trade, price 0.
library UniformPriceClearing {
    /// @notice The marginal pair and what follows it when the walk ends.
    struct Marginal {
        uint256 bidPrice;
        bool bidPartlyFilled;
        uint256 askPrice;
        bool askPartlyFilled;
        bool hasNextBid;
        uint256 nextBidPrice;
        bool hasNextAsk;
        uint256 nextAskPrice;
    }

    /// @notice Rule 2: whether a bid at `bidPrice` and an ask at `askPrice` trade.
    function crosses(uint256 bidPrice, uint256 askPrice) internal pure returns (bool) {
        return bidPrice >= askPrice;
    }

    /// @notice Rule 2: the quantity of one match.
    function matchQuantity(uint256 bidRemainingWh, uint256 askRemainingWh) internal pure returns (uint256) {
        return bidRemainingWh < askRemainingWh ? bidRemainingWh : askRemainingWh;
    }

    /// @notice Rule 1: whether an order already in the book at `existingPrice` comes before a new order at
    /// `newPrice` on the same side (equal prices: the earlier order first).
    function precedes(bool isBid, uint256 existingPrice, uint256 newPrice) internal pure returns (bool) {
        return isBid ? existingPrice >= newPrice : existingPrice <= newPrice;
    }

    /// @notice Rule 3: the uniform price from the marginal pair (only called when at least one trade exists).
    function price(Marginal memory m) internal pure returns (uint256) {
        if (m.askPartlyFilled) return m.askPrice;
        if (m.bidPartlyFilled) return m.bidPrice;
        uint256 nextBid = m.hasNextBid ? m.nextBidPrice : m.askPrice;
        uint256 nextAsk = m.hasNextAsk ? m.nextAskPrice : m.bidPrice;
        uint256 upper = m.askPrice > nextBid ? m.askPrice : nextBid;
        uint256 lower = m.bidPrice < nextAsk ? m.bidPrice : nextAsk;
        return (upper + lower) / 2;
    }

    /// @notice Cost in token base units of `energyWh` at `pricePerKWh`, rounded down.
    function cost(uint256 energyWh, uint256 pricePerKWh) internal pure returns (uint256) {
        return energyWh * pricePerKWh / 1000;
    }
}
