// Before the demo starts anything on a chain: is its window length workable there? Measures the chain's block
// time (the timestamps of two consecutive blocks) and refuses, with the fix, a chain that mines no blocks by
// itself (an anvil without --block-time: chain time stands still, no window would ever close) or a window too
// short to open and still take orders.
import type { PublicClient } from 'viem';

/** Seconds the orders need before a window closes, besides the block that places them: the agent signs,
 * the relayer batches (1 s interval) and refuses orders within 2 s of the close. */
export const ORDER_LEAD_S = 5;

/** The shortest even window that opens (one block), still has ORDER_LEAD_S + a block for the orders, and a spare s. */
export function minWindowSeconds(blockTimeS: number): number {
  const s = 2 * blockTimeS + ORDER_LEAD_S + 1;
  return s % 2 === 0 ? s : s + 1;
}

/** Seconds between the head and the next block, or undefined when none came within `maxWaitS`. */
export async function measureBlockTime(
  client: PublicClient,
  maxWaitS: number,
  pollMs = 200,
): Promise<number | undefined> {
  const head = await client.getBlock({ blockTag: 'latest' });
  const deadline = Date.now() + maxWaitS * 1000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, pollMs));
    const next = await client.getBlock({ blockTag: 'latest' });
    if (next.number > head.number) {
      const blocks = Number(next.number - head.number);
      return Math.max(1, Math.ceil(Number(next.timestamp - head.timestamp) / blocks));
    }
  }
  return undefined;
}

/** Why windows of `windowS` seconds cannot work on this chain, or undefined when they can. */
export function windowProblem(windowS: number, blockTimeS: number | undefined, waitedS: number): string | undefined {
  if (blockTimeS === undefined) {
    return (
      `no new block in ${waitedS} s: the chain mines no blocks by itself (an anvil without --block-time mines ` +
      'only when a transaction arrives, so chain time stands still and no window would ever close), or its ' +
      'blocks are more than a window apart. Start anvil with --block-time 1 (or leave RPC_URL unset for the ' +
      'embedded anvil, which mines every second), or raise DEMO_WINDOW_SECONDS'
    );
  }
  const min = minWindowSeconds(blockTimeS);
  if (windowS >= min) return undefined;
  return (
    `DEMO_WINDOW_SECONDS=${windowS} is too short for this chain's ${blockTimeS} s blocks: opening a window takes ` +
    `a block, and its orders need ${ORDER_LEAD_S} s and another block before it closes, so no order would be ` +
    `placed. Use DEMO_WINDOW_SECONDS=${min} or more`
  );
}
