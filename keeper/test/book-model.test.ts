// The relayer's book model (keeper/bench/book-model.ts): exact hints in book order, equal prices in placement
// order. (On chain it is checked by the gas bench, which compares the model with getBook after every batch.)
import type { Address } from 'viem';
import { describe, expect, it } from 'vitest';
import { SideModel } from '../bench/book-model.js';

const ZERO = '0x0000000000000000000000000000000000000000';
const a = (n: number) => `0x${n.toString(16).padStart(40, '0')}` as Address;

describe('SideModel (relayer hints)', () => {
  it('bids: best (highest) first; a hint is the order just before the place, address(0) at the head', () => {
    const bids = new SideModel(0);
    expect(bids.insert(a(1), 20n)).toBe(ZERO);
    expect(bids.insert(a(2), 25n)).toBe(ZERO); // new head
    expect(bids.insert(a(3), 20n)).toBe(a(1)); // equal price: after the earlier one
    expect(bids.insert(a(4), 22n)).toBe(a(2));
    expect(bids.insert(a(5), 10n)).toBe(a(3)); // tail
    expect(bids.owners()).toEqual([a(2), a(4), a(1), a(3), a(5)]);
    expect(bids.hint(21n)).toBe(a(4));
    expect(bids.hint(30n)).toBe(ZERO);
  });

  it('asks: best (lowest) first; a cancel leaves the model', () => {
    const asks = new SideModel(1, [
      { owner: a(1), price: 10n },
      { owner: a(2), price: 12n },
    ]);
    expect(asks.insert(a(3), 12n)).toBe(a(2));
    expect(asks.insert(a(4), 11n)).toBe(a(1));
    asks.remove(a(4));
    expect(asks.hint(11n)).toBe(a(1));
    expect(asks.owners()).toEqual([a(1), a(2), a(3)]);
    expect(() => asks.remove(a(9))).toThrow(/no live order/);
  });
});
