// Independent model of the clearing rule (protocol.md), for expected results in keeper tests.
import type { Address } from 'viem';
import type { ModelTrade } from './model.js';

export interface ModelOrder {
  prosumer: Address;
  side: 0 | 1;
  energyWh: bigint;
  price: bigint;
}

/** `orders` in placement order. */
export function clearModel(orders: ModelOrder[]): { price: bigint; energy: bigint; trades: ModelTrade[] } {
  const bids = orders.filter((o) => o.side === 0).map((o) => ({ ...o, left: o.energyWh }));
  const asks = orders.filter((o) => o.side === 1).map((o) => ({ ...o, left: o.energyWh }));
  bids.sort((a, b) => (a.price === b.price ? 0 : a.price > b.price ? -1 : 1)); // stable: placement order on ties
  asks.sort((a, b) => (a.price === b.price ? 0 : a.price < b.price ? -1 : 1));
  const trades: ModelTrade[] = [];
  let i = 0;
  let j = 0;
  let last: { b: number; a: number } | undefined;
  while (i < bids.length && j < asks.length && bids[i]!.price >= asks[j]!.price) {
    const b = bids[i]!;
    const a = asks[j]!;
    const q = b.left < a.left ? b.left : a.left;
    trades.push({ buyer: b.prosumer, seller: a.prosumer, energyWh: q });
    b.left -= q;
    a.left -= q;
    last = { b: i, a: j };
    if (b.left === 0n) i++;
    if (a.left === 0n) j++;
  }
  if (!last) return { price: 0n, energy: 0n, trades };
  const b = bids[last.b]!;
  const a = asks[last.a]!;
  let price: bigint;
  if (a.left > 0n) price = a.price;
  else if (b.left > 0n) price = b.price;
  else {
    const nb = bids[last.b + 1]?.price ?? a.price;
    const na = asks[last.a + 1]?.price ?? b.price;
    const hi = a.price > nb ? a.price : nb;
    const lo = b.price < na ? b.price : na;
    price = (hi + lo) / 2n;
  }
  return { price, energy: trades.reduce((s, t) => s + t.energyWh, 0n), trades };
}
