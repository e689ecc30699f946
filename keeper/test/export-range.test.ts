import type { PublicClient } from 'viem';
import { describe, expect, it } from 'vitest';
import { logsInRange } from '../src/export.js';

const market = '0x5FbDB2315678afecb367f032d93F642f64180aa3';

/** A client whose getLogs fails with `message` for ranges wider than `maxSpan` blocks (always, if undefined). */
function fakeClient(message: string, maxSpan?: bigint) {
  const calls: [bigint, bigint][] = [];
  const client = {
    async getLogs({ fromBlock, toBlock }: { fromBlock: bigint; toBlock: bigint }) {
      calls.push([fromBlock, toBlock]);
      if (maxSpan === undefined || toBlock - fromBlock + 1n > maxSpan) throw new Error(message);
      return [];
    },
  };
  return { client: client as unknown as PublicClient, calls };
}

describe('export: log range bisection', () => {
  it('splits a range the node refuses as too large', async () => {
    const { client, calls } = fakeClient('query returned more than 10000 results; block range too large', 2_500n);
    expect(await logsInRange(client, market, 0n, 9_999n)).toEqual([]);
    // 10,000 -> 5,000 -> 2,500: 1 + 2 + 4 calls
    expect(calls).toHaveLength(7);
  });

  it('does not bisect an outage down to single blocks', async () => {
    const { client, calls } = fakeClient('fetch failed: ECONNREFUSED');
    await expect(logsInRange(client, market, 0n, 9_999n, { minBlocks: 100n })).rejects.toThrow(/ECONNREFUSED/);
    expect(calls.length).toBe(1);
  });

  it('stops bisecting at the minimum range size', async () => {
    const { client, calls } = fakeClient('block range too large');
    await expect(logsInRange(client, market, 0n, 9_999n, { minBlocks: 1_000n })).rejects.toThrow(/too large/);
    // 10,000 -> 5,000 -> 2,500 -> 1,250 (not split again): at most 1 + 2 + 4 + 8 calls, never 19,999
    expect(calls.length).toBeLessThanOrEqual(15);
    expect(calls.every(([from, to]) => to - from + 1n >= 1_000n)).toBe(true);
  });
});
