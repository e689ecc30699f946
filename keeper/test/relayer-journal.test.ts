// The relayer's journal and store on disk: replay, a torn last line, compaction.
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Address, Hex } from 'viem';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Journal } from '../src/relayer/journal.js';
import { RelayStore } from '../src/relayer/store.js';
import type { Item } from '../src/relayer/types.js';

const prosumer = '0x8ba1f109551bD432803012645Ac136ddd64DBA72' as Address;
const order = (n: number, windowId = 3600n): Item => ({
  id: `0x${n.toString(16).padStart(64, '0')}` as Hex,
  kind: 'order',
  acceptedAt: '2026-05-29T11:00:00.000Z',
  acceptedBlock: 12n,
  attempts: 0,
  data: {
    prosumer,
    windowId,
    side: 1,
    energyWh: 2500n,
    pricePerKWh: 2n ** 79n,
    nonce: BigInt(n),
    signature: `0x${'ab'.repeat(65)}`,
  },
});

describe('relayer journal', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'journal-'));
    file = path.join(dir, 'sub', 'journal.jsonl');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('replays accepted items and outcomes, bigints exact; cuts a torn last line', async () => {
    const store = await RelayStore.open(file);
    await Promise.all([store.accept(order(0)), store.accept(order(1)), store.accept(order(2))]);
    await store.resolve(order(1), { status: 'placed', txHash: `0x${'cd'.repeat(32)}`, blockNumber: 99n });
    await store.countAttempt(store.get(order(2).id)!);
    await store.close();
    await appendFile(file, '{"t":"accept","item":{"id":"0x'); // a crash in the middle of a write

    const again = await RelayStore.open(file);
    expect(again.queued().map((i) => i.id)).toEqual([order(0).id, order(2).id]);
    expect(again.get(order(0).id)).toEqual(order(0));
    expect(again.get(order(1).id)?.outcome).toEqual({
      status: 'placed',
      txHash: `0x${'cd'.repeat(32)}`,
      blockNumber: 99n,
    });
    expect(again.get(order(2).id)?.attempts).toBe(1);
    expect(again.forKey(3600n, prosumer).map((i) => i.id)).toEqual([0, 1, 2].map((n) => order(n).id));
    await again.accept(order(3));
    await again.close();
    const lines = (await readFile(file, 'utf8')).split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(6); // 3 accepts, an outcome, an attempt, the new accept: the torn line is gone
  });

  it('compacts to one record per item, dropping finished items of old windows', async () => {
    const store = await RelayStore.open(file);
    await store.accept(order(0, 0n));
    await store.accept(order(1, 0n));
    await store.accept(order(2, 7200n));
    await store.resolve(order(0, 0n), { status: 'rejected', reason: 'OrderingClosed' });
    await store.compact(3600n, '2026-05-29T10:00:00.000Z');
    expect(store.get(order(0).id)).toBeUndefined(); // finished, old window
    expect(store.queued().map((i) => i.id)).toEqual([order(1).id, order(2).id]); // queued items always stay
    await store.close();
    const { journal, records } = await Journal.open(file);
    await journal.close();
    expect(records.map((r) => r.t)).toEqual(['accept', 'accept']);
  });
});
