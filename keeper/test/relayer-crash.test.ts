// kill -9 of a keeper process running the relayer: every order answered 202 is placed after the restart, also
// when the keeper died with the batch transaction in flight (the chain, not the journal, says it was placed).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPublicClient, createTestClient, http, parseEventLogs, type Address, type Hash } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { energyMarketAbi } from '@p2p-energy/sdk';
import { freePort } from '../dev/ports.js';
import { ANVIL_KEYS } from '../dev/test-keys.js';
import { MarketReader, makeChain } from '../src/chain.js';
import { HOUR, marketEvents, metricValue, setupMarket, type Fixture } from './fixture.js';
import { spawnKeeper, until, type KeeperProcess } from './process.js';
import { get, orderBody, post } from './relayer-helpers.js';
import { TOKEN_UNIT as TOKEN } from '../src/constants.js';

describe('relayer: kill -9 and restart', () => {
  let f: Fixture;
  let reader: MarketReader;
  let running: KeeperProcess | undefined;
  let dir: string;
  let journal: string;
  let base: string;
  let metricsUrl: string;
  let env: (overrides: Record<string, string>) => Record<string, string>;
  const keeper = privateKeyToAccount(ANVIL_KEYS[1]).address;

  const start = async (overrides: Record<string, string>) => {
    running = spawnKeeper(env(overrides));
    const proc = running;
    await until(
      'relayer listening',
      async () => {
        if (proc.child.exitCode !== null) throw new Error(`keeper exited: ${proc.output()}`);
        return fetch(`${base}/v1/info`).then(
          (r) => r.ok,
          () => false,
        );
      },
      60_000,
      100,
    );
  };
  const kill9 = async () => {
    running?.child.kill('SIGKILL');
    await running?.exited;
    running = undefined;
  };
  const order = (i: number, windowId: bigint) =>
    orderBody(f, f.prosumers[i]!, {
      windowId,
      side: i % 2 === 0 ? 0 : 1,
      energyWh: 100n + BigInt(i),
      pricePerKWh: BigInt(i % 2 === 0 ? 30 - i : 10 + i) * TOKEN,
      nonce: 0n,
    });
  const statusOf = (w: bigint, i: number) => get(base, `/v1/orders/${w}/${f.prosumers[i]!.address}`);

  beforeAll(async () => {
    f = await setupMarket({ prosumers: 12, gasless: true, startHour: 11 });
    const chain = makeChain(f.anvil.chainId, f.anvil.url);
    reader = new MarketReader(createPublicClient({ chain, transport: http(f.anvil.url) }), f.deployment.market);
    dir = await mkdtemp(path.join(tmpdir(), 'relayer-crash-'));
    journal = path.join(dir, 'journal.jsonl');
    const [relayerPort, metricsPort] = [await freePort(), await freePort()];
    base = `http://127.0.0.1:${relayerPort}`;
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    env = (overrides) =>
      f.keeperEnv({
        RELAYER: 'true',
        RELAYER_PORT: String(relayerPort),
        RELAY_JOURNAL_PATH: journal,
        METRICS_PORT: String(metricsPort),
        LOG_LEVEL: 'info',
        ...overrides,
      });
  });

  afterAll(async () => {
    running?.child.kill('SIGKILL');
    await f?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('places every accepted order after a kill -9 with a full queue', async () => {
    const w0 = f.start;
    await f.setTime(w0 + 5n);
    // No batch before the kill: half an hour between batches, a batch size the queue never reaches.
    await start({ RELAY_INTERVAL_MS: '1800000', RELAY_BATCH: '500', RELAY_QUEUE_MAX: '10' });
    await until('window opened', async () => (await reader.window(w0)).status === 'Open');
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const reply = await post(base, '/v1/orders', await order(i, w0));
      expect(reply).toMatchObject({ status: 202 });
      ids.push(reply.body.id!);
    }
    const full = await post(base, '/v1/orders', await order(10, w0));
    expect(full).toMatchObject({ status: 429, body: { code: 'QUEUE_FULL' } });
    const body = await (await fetch(metricsUrl)).text();
    expect(metricValue(body, 'keeper_relay_queue_depth')).toBe(10);
    expect(metricValue(body, 'keeper_relay_orders_total{result="accepted"}')).toBe(10);
    expect(metricValue(body, 'keeper_relay_orders_total{result="refused"}')).toBe(1);

    await kill9();
    expect((await reader.window(w0)).orderCount).toBe(0n);

    await start({ RELAY_INTERVAL_MS: '300', RELAY_BATCH: '4', RELAY_QUEUE_MAX: '10' });
    const statuses = await until('all placed', async () => {
      const all = await Promise.all(ids.map((_, i) => statusOf(w0, i)));
      return all.every((s) => s.body.status === 'placed') && all;
    });
    statuses.forEach((s, i) => {
      expect(s.body).toMatchObject({ id: ids[i], status: 'placed', txHash: expect.stringMatching(/^0x/) });
    });
    // Batches of at most 4 (RELAY_BATCH), each order placed once.
    const perTx = new Map<string, number>();
    for (const s of statuses) perTx.set(s.body.txHash!, (perTx.get(s.body.txHash!) ?? 0) + 1);
    expect([...perTx.values()].every((n) => n <= 4)).toBe(true);
    const placed = (await marketEvents(f, 'OrderPlaced')) as unknown as {
      args: { windowId: bigint; prosumer: Address };
    }[];
    expect(
      placed
        .filter((e) => e.args.windowId === w0)
        .map((e) => e.args.prosumer)
        .sort(),
    ).toEqual(
      f.prosumers
        .slice(0, 10)
        .map((p) => p.address)
        .sort(),
    );
    expect((await reader.window(w0)).orderCount).toBe(10n);
    // The queue has room again.
    const eleventh = await post(base, '/v1/orders', await order(10, w0));
    expect(eleventh.status).toBe(202);
    await until('11th placed', async () => (await statusOf(w0, 10)).body.status === 'placed');
  });

  it('reports as placed a batch mined after the keeper died with it in flight', async () => {
    const w0 = f.start;
    const w1 = w0 + HOUR;
    await f.setTime(w1 + 5n);
    await until('next window opened, last one cleared', async () => {
      const [a, b] = [await reader.window(w0), await reader.window(w1)];
      return a.status === 'Cleared' && b.status === 'Open';
    });
    const test = createTestClient({
      chain: makeChain(f.anvil.chainId, f.anvil.url),
      transport: http(f.anvil.url),
      mode: 'anvil',
    });
    await test.setAutomine(false);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const reply = await post(base, '/v1/orders', await order(i, w1));
      expect(reply).toMatchObject({ status: 202 });
      ids.push(reply.body.id!);
    }
    await until('batch in flight', async () => {
      const [pending, latest] = await Promise.all([
        f.publicClient.getTransactionCount({ address: keeper, blockTag: 'pending' }),
        f.publicClient.getTransactionCount({ address: keeper, blockTag: 'latest' }),
      ]);
      return pending > latest;
    });
    await kill9();
    await test.mine({ blocks: 1 });
    await test.setAutomine(true);
    const block = await f.publicClient.getBlock({ blockTag: 'latest', includeTransactions: true });
    const inFlight = block.transactions.find((t) => t.from.toLowerCase() === keeper.toLowerCase());
    expect(inFlight).toBeDefined();
    const receipt = await f.publicClient.getTransactionReceipt({ hash: inFlight!.hash });
    const minedAfterDeath = parseEventLogs({ abi: energyMarketAbi, logs: receipt.logs, eventName: 'OrderPlaced' }).map(
      (e) => e.args.prosumer,
    );
    expect(minedAfterDeath.length).toBeGreaterThan(0);

    await start({ RELAY_INTERVAL_MS: '300', RELAY_BATCH: '50' });
    const statuses = await until('all placed', async () => {
      const all = await Promise.all(ids.map((_, i) => statusOf(w1, i)));
      return all.every((s) => s.body.status === 'placed') && all;
    });
    for (const [i, s] of statuses.entries()) {
      const p = f.prosumers[i]!.address;
      expect(s.body).toMatchObject({ id: ids[i], status: 'placed' });
      if (minedAfterDeath.includes(p)) expect(s.body.txHash).toBe(inFlight!.hash as Hash);
    }
    const placed = (await marketEvents(f, 'OrderPlaced')) as unknown as { args: { windowId: bigint } }[];
    expect(placed.filter((e) => e.args.windowId === w1)).toHaveLength(5);
    // The journal holds each of them with its outcome (replayed and compacted at start-up).
    const text = await readFile(journal, 'utf8');
    for (const id of ids) expect(text).toContain(id);
    // A clean stop (SIGTERM) closes the API and the journal and exits 0.
    running!.child.kill('SIGTERM');
    expect(await running!.exited).toBe(0);
    running = undefined;
  });
});
