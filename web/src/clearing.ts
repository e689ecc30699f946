// The protocol's clearing rule (docs/protocol.md), run on the open book to show where it would clear now,
// and the two step curves of the book.
export interface BookEntry {
  prosumer: string;
  energyWh: bigint;
  pricePerKWh: bigint;
}

export interface Clearing {
  pricePerKWh: bigint;
  energyWh: bigint;
  trades: { buyer: string; seller: string; energyWh: bigint }[];
}

/** `bids` by price descending, `asks` ascending, each in placement order at equal prices (as getBook lists them). */
export function clear(bids: readonly BookEntry[], asks: readonly BookEntry[]): Clearing {
  const trades: Clearing['trades'] = [];
  let i = 0;
  let j = 0;
  let remB = bids[0]?.energyWh ?? 0n;
  let remA = asks[0]?.energyWh ?? 0n;
  let lastB = -1;
  let lastA = -1;
  let energy = 0n;
  while (i < bids.length && j < asks.length && bids[i]!.pricePerKWh >= asks[j]!.pricePerKWh) {
    const q = remB < remA ? remB : remA;
    trades.push({ buyer: bids[i]!.prosumer, seller: asks[j]!.prosumer, energyWh: q });
    energy += q;
    remB -= q;
    remA -= q;
    lastB = i;
    lastA = j;
    if (remB === 0n) remB = bids[++i]?.energyWh ?? 0n;
    if (remA === 0n) remA = asks[++j]?.energyWh ?? 0n;
  }
  if (trades.length === 0) return { pricePerKWh: 0n, energyWh: 0n, trades };
  const b = bids[lastB]!;
  const a = asks[lastA]!;
  const aPartly = j === lastA;
  const bPartly = i === lastB;
  let pricePerKWh: bigint;
  if (aPartly) pricePerKWh = a.pricePerKWh;
  else if (bPartly) pricePerKWh = b.pricePerKWh;
  else {
    const nextBid = bids[lastB + 1]?.pricePerKWh ?? a.pricePerKWh;
    const nextAsk = asks[lastA + 1]?.pricePerKWh ?? b.pricePerKWh;
    const low = a.pricePerKWh > nextBid ? a.pricePerKWh : nextBid;
    const high = b.pricePerKWh < nextAsk ? b.pricePerKWh : nextAsk;
    pricePerKWh = (low + high) / 2n;
  }
  return { pricePerKWh, energyWh: energy, trades };
}

/** A step curve: points (cumulative kWh, tokens/kWh), each price held from its point to the next. */
export function stepCurve(entries: readonly BookEntry[]): { x: number; y: number }[] {
  const points: { x: number; y: number }[] = [];
  let total = 0n;
  for (const e of entries) {
    const y = Number(e.pricePerKWh) / 1e18;
    points.push({ x: Number(total) / 1000, y });
    total += e.energyWh;
    points.push({ x: Number(total) / 1000, y });
  }
  return points;
}
