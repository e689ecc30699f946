// `hintPrev` for every order of a batch: exact for the book as the earlier orders of the batch leave it.
//
// The book of a side is sorted by price (bids descending, asks ascending), equal prices in placement order.
// An order's exact predecessor is the last node that precedes its place. Before the batch that is the
// market's own `findHint(w, side, price)` (it also knows tombstones that are a good start). Each earlier
// order of the batch on the same side at a price as good or better (bids: >=, asks: <=) is placed before
// this one and lands after every older node at its price, so the predecessor is whichever of the two comes
// later in the book: the batch's last such order (the worst such price, the latest among equals) unless
// findHint's node has a strictly worse price. One `findHint` per distinct (side, price) and one `getOrder`
// per distinct findHint answer, all at one block.
import { zeroAddress, type Address, type PublicClient } from 'viem';
import { energyMarketAbi } from './abi.js';
import { findHint } from './market.js';

/** An order to hint: who places it, where, and at what price (side: 0 buy, 1 sell). */
export interface HintedOrder {
  prosumer: Address;
  windowId: bigint;
  side: 0 | 1;
  pricePerKWh: bigint;
}

/** True when price `a` comes before price `b` on `side` (strictly better). */
const better = (side: 0 | 1, a: bigint, b: bigint) => (side === 0 ? a > b : a < b);

export interface BookNode {
  prosumer: Address;
  price: bigint;
}

/**
 * Pure part: the hint of each order given each order's on-chain predecessor (`base`, from findHint, with its
 * price; undefined for the head).
 */
export function batchHints(
  orders: readonly Pick<HintedOrder, 'prosumer' | 'side' | 'pricePerKWh'>[],
  base: readonly (BookNode | undefined)[],
): Address[] {
  return orders.map((o, k) => {
    let inBatch: BookNode | undefined;
    for (let j = 0; j < k; j++) {
      const e = orders[j]!;
      if (e.side !== o.side || better(o.side, o.pricePerKWh, e.pricePerKWh)) continue; // after our place
      // e precedes o; keep the one latest in book order (worst price; later among equals).
      if (!inBatch || !better(o.side, e.pricePerKWh, inBatch.price))
        inBatch = { prosumer: e.prosumer, price: e.pricePerKWh };
    }
    const onChain = base[k];
    if (!inBatch) return onChain?.prosumer ?? zeroAddress;
    if (!onChain) return inBatch.prosumer;
    return better(o.side, inBatch.price, onChain.price) ? onChain.prosumer : inBatch.prosumer;
  });
}

/** Reads the on-chain predecessors and computes the hints of a batch (all orders of one window). */
export async function computeHints(
  client: PublicClient,
  market: Address,
  orders: readonly HintedOrder[],
  blockNumber: bigint,
): Promise<Address[]> {
  const hints = new Map<string, Promise<Address>>();
  const priceOf = new Map<string, Promise<bigint>>();
  const base = await Promise.all(
    orders.map(async (o) => {
      const key = `${o.windowId}:${o.side}:${o.pricePerKWh}`;
      let hint = hints.get(key);
      if (!hint) {
        hint = findHint(client, market, { ...o, blockNumber });
        hints.set(key, hint);
      }
      const prosumer = await hint;
      if (prosumer === zeroAddress) return undefined;
      const priceKey = `${o.windowId}:${prosumer}`;
      let price = priceOf.get(priceKey);
      if (!price) {
        price = client
          .readContract({
            address: market,
            abi: energyMarketAbi,
            functionName: 'getOrder',
            args: [o.windowId, prosumer],
            blockNumber,
          })
          .then((r) => r[2]);
        priceOf.set(priceKey, price);
      }
      return { prosumer, price: await price };
    }),
  );
  return batchHints(orders, base);
}
