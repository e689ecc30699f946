// Price strategies: a fixed limit price per household, or a band around the median of the last N clearing
// prices read from the chain (sellers ask median − band, buyers bid median + band).
import type { MarketReader } from '../chain.js';
import { BUY } from './position.js';

export type PriceStrategy =
  | { strategy: 'fixed'; pricePerKWh: bigint }
  | { strategy: 'median'; lastN: number; bandPercent: number; fallbackPricePerKWh: bigint };

/** Median of integers (floor of the mean of the two middle ones for an even count). */
export function median(values: bigint[]): bigint | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as bigint) : ((s[mid - 1] as bigint) + (s[mid] as bigint)) / 2n;
}

/** The limit price for `side`; `history`: the last clearing prices, newest first. */
export function limitPrice(strategy: PriceStrategy, side: number, history: bigint[]): bigint {
  if (strategy.strategy === 'fixed') return strategy.pricePerKWh;
  const m = median(history.slice(0, strategy.lastN)) ?? strategy.fallbackPricePerKWh;
  const band = BigInt(Math.round(strategy.bandPercent * 100)); // basis points
  const price = side === BUY ? (m * (10_000n + band)) / 10_000n : (m * (10_000n - band)) / 10_000n;
  return price > 0n ? price : 1n;
}

/** Clearing prices (> 0) of the windows before `windowId`, newest first: at most `count`, within `scan` windows. */
export async function recentClearingPrices(
  reader: MarketReader,
  windowId: bigint,
  windowDuration: bigint,
  count: number,
  scan: number,
): Promise<bigint[]> {
  const ids: bigint[] = [];
  for (let k = 1n; k <= BigInt(scan) && windowId - k * windowDuration >= 0n; k++)
    ids.push(windowId - k * windowDuration);
  const states = await Promise.all(ids.map((w) => reader.window(w)));
  const done = new Set(['Cleared', 'Settling', 'Settled']);
  return states
    .filter((s) => done.has(s.status) && s.clearingPrice > 0n)
    .map((s) => s.clearingPrice)
    .slice(0, count);
}
