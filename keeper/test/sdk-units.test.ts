// The SDK's input handling without a chain: a side that is neither Buy nor Sell, a block range past the head.
import { prosumerTrades, sideValue, type Side } from '@p2p-energy/sdk';
import type { PublicClient } from 'viem';
import { describe, expect, it } from 'vitest';

describe('SDK inputs', () => {
  it('maps the sides and refuses anything else (a plain-JS caller writing the relayer spelling "buy")', () => {
    expect([sideValue('Buy'), sideValue(0), sideValue('Sell'), sideValue(1)]).toEqual([0, 0, 1, 1]);
    for (const bad of ['buy', 'sell', 2, -1, undefined]) {
      expect(() => sideValue(bad as unknown as Side), String(bad)).toThrow(RangeError);
    }
  });

  it('reads no logs and finds no trades when the range starts past the head', async () => {
    const calls: string[] = [];
    const client = {
      getBlockNumber: async () => {
        calls.push('getBlockNumber');
        return 5n;
      },
      getContractEvents: async () => {
        calls.push('getContractEvents');
        return [];
      },
    } as unknown as PublicClient;
    const market = '0x0000000000000000000000000000000000000001';
    const prosumer = '0x0000000000000000000000000000000000000002';
    expect(await prosumerTrades(client, market, prosumer, { fromBlock: 10n })).toEqual([]);
    expect(calls).toEqual(['getBlockNumber']);
  });
});
