// The relayer's hints for a batch of signed orders: an off-chain model of one side of a window's book, in book
// order, updated with every order of the batch, so that each order's `hintPrev` is exact for the book as the
// earlier orders of the batch leave it (docs/protocol.md, "Signed orders": `hintPrev` is not signed).
import type { Address } from 'viem';

const ZERO: Address = '0x0000000000000000000000000000000000000000';

export interface BookEntry {
  owner: Address;
  price: bigint;
}

/** One side of a book: bids (side 0) best = highest price first, asks (side 1) lowest first. */
export class SideModel {
  readonly entries: BookEntry[];

  constructor(
    readonly side: 0 | 1,
    entries: readonly BookEntry[] = [],
  ) {
    this.entries = [...entries];
  }

  /** Where an order at `price` lands: after every live order at least as good (equal prices keep placement
   * order, earlier first). */
  private index(price: bigint): number {
    const worse = (e: BookEntry) => (this.side === 0 ? e.price < price : e.price > price);
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const entry = this.entries[mid];
      if (entry !== undefined && worse(entry)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** The exact hint for an order at `price`: the owner of the live order just before its place, or address(0). */
  hint(price: bigint): Address {
    const i = this.index(price);
    return i === 0 ? ZERO : (this.entries[i - 1]?.owner ?? ZERO);
  }

  /** Adds an order and returns its exact hint (for the book before it). */
  insert(owner: Address, price: bigint): Address {
    const i = this.index(price);
    const hint = i === 0 ? ZERO : (this.entries[i - 1]?.owner ?? ZERO);
    this.entries.splice(i, 0, { owner, price });
    return hint;
  }

  /** Removes the live order of `owner` (a cancel). */
  remove(owner: Address): void {
    const i = this.entries.findIndex((e) => e.owner.toLowerCase() === owner.toLowerCase());
    if (i < 0) throw new Error(`no live order of ${owner} in the model`);
    this.entries.splice(i, 1);
  }

  owners(): Address[] {
    return this.entries.map((e) => e.owner);
  }
}
