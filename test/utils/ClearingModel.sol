// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice Independent reference model of the spec's clearing rule, written from protocol.md without
/// looking at the contract: plain arrays, a stable insertion sort, a walk and the price rule.
library ClearingModel {
    struct ModelOrder {
        uint256 owner; // index of the prosumer in the test
        bool isBid;
        uint256 energy;
        uint256 price;
        uint256 seq; // placement order
        uint256 filled;
    }

    struct ModelTrade {
        uint256 buyer;
        uint256 seller;
        uint256 energy;
    }

    struct Result {
        uint256 price;
        uint256 cleared;
        ModelTrade[] trades;
        ModelOrder[] bids;
        ModelOrder[] asks;
    }

    function clear(ModelOrder[] memory orders) internal pure returns (Result memory r) {
        r.bids = _sorted(orders, true);
        r.asks = _sorted(orders, false);
        r.trades = new ModelTrade[](r.bids.length + r.asks.length);
        uint256 count;
        uint256 i;
        uint256 j;
        while (i < r.bids.length && j < r.asks.length && r.bids[i].price >= r.asks[j].price) {
            uint256 q = r.bids[i].energy - r.bids[i].filled;
            uint256 askLeft = r.asks[j].energy - r.asks[j].filled;
            if (askLeft < q) q = askLeft;
            r.bids[i].filled += q;
            r.asks[j].filled += q;
            r.trades[count++] = ModelTrade(r.bids[i].owner, r.asks[j].owner, q);
            r.cleared += q;
            bool bidDone = r.bids[i].filled == r.bids[i].energy;
            bool askDone = r.asks[j].filled == r.asks[j].energy;
            if (bidDone) ++i;
            if (askDone) ++j;
        }
        ModelTrade[] memory trades = r.trades;
        assembly ("memory-safe") {
            mstore(trades, count)
        }
        if (count == 0) return r;

        // The marginal pair is the one of the last trade.
        ModelOrder memory b = _byOwner(r.bids, trades[count - 1].buyer);
        ModelOrder memory a = _byOwner(r.asks, trades[count - 1].seller);
        if (a.filled < a.energy) {
            r.price = a.price;
        } else if (b.filled < b.energy) {
            r.price = b.price;
        } else {
            // Both exactly filled: i and j already point past them.
            uint256 nextBidPrice = i < r.bids.length ? r.bids[i].price : a.price;
            uint256 nextAskPrice = j < r.asks.length ? r.asks[j].price : b.price;
            uint256 hi = a.price >= nextBidPrice ? a.price : nextBidPrice;
            uint256 lo = b.price <= nextAskPrice ? b.price : nextAskPrice;
            r.price = (hi + lo) / 2;
        }
    }

    function _sorted(ModelOrder[] memory orders, bool bids) private pure returns (ModelOrder[] memory out) {
        out = new ModelOrder[](orders.length);
        uint256 n;
        for (uint256 k; k < orders.length; ++k) {
            if (orders[k].isBid != bids) continue;
            ModelOrder memory o = orders[k];
            uint256 pos = n;
            // Insert after every order with a better-or-equal price (earlier placement wins ties).
            while (pos > 0 && _better(o, out[pos - 1], bids)) {
                out[pos] = out[pos - 1];
                --pos;
            }
            out[pos] = ModelOrder(o.owner, o.isBid, o.energy, o.price, o.seq, 0);
            ++n;
        }
        assembly ("memory-safe") {
            mstore(out, n)
        }
    }

    /// @dev Strictly better: a better price, or an equal price placed earlier.
    function _better(ModelOrder memory x, ModelOrder memory y, bool bids) private pure returns (bool) {
        if (x.price != y.price) return bids ? x.price > y.price : x.price < y.price;
        return x.seq < y.seq;
    }

    function _byOwner(ModelOrder[] memory list, uint256 owner) private pure returns (ModelOrder memory) {
        for (uint256 k; k < list.length; ++k) {
            if (list[k].owner == owner) return list[k];
        }
        revert("model: owner not found");
    }
}
