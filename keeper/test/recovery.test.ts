// Market hardening, keeper side: readings right after a late close and before settling; open first in a tick;
// readings validated against the assets in force during the delivery hour (not those left after a membership change).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createWalletClient, http, type Address, type ContractEventName, type Hex } from 'viem';
import { afterEach, describe, expect, it } from 'vitest';
import { type energyMarketAbi, energyTokenAbi, prosumerRegistryAbi } from '@p2p-energy/sdk';
import { createKeeperApp, type KeeperApp } from '../src/app.js';
import { makeChain } from '../src/chain.js';
import type { MeterSource, RawReading } from '../src/meters/types.js';
import { HOUR, marketEvents, metricValue, setupMarket, type Fixture } from './fixture.js';
import { TOKEN_UNIT as TOKEN } from '../src/constants.js';

const GRACE = 1800n;

/** Fixed readings per prosumer index (the same for every window). */
function fixedMeters(f: Fixture, byIndex: Record<number, [bigint, bigint]>): MeterSource {
  return {
    name: 'fixed',
    async fetch(_windowId, _duration, prosumers): Promise<RawReading[]> {
      return prosumers.flatMap((p) => {
        const i = f.prosumers.findIndex((x) => x.address === p.account);
        const r = byIndex[i];
        return r ? [{ prosumer: p.account, importWh: r[0], exportWh: r[1] }] : [];
      });
    },
  };
}

/** An HTTP JSON-RPC proxy in front of anvil that answers like a pruned node: no state for past blocks. */
async function prunedNode(target: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', async () => {
      const parsed = JSON.parse(body) as
        | { id: number; method: string; params?: unknown[] }
        | { id: number; method: string; params?: unknown[] }[];
      const calls = Array.isArray(parsed) ? parsed : [parsed];
      const historical = (c: (typeof calls)[number]) =>
        c.method === 'eth_call' && /^0x[0-9a-f]+$/i.test(String(c.params?.[1] ?? ''));
      const answers = await Promise.all(
        calls.map(async (c) => {
          if (historical(c))
            return { jsonrpc: '2.0', id: c.id, error: { code: -32000, message: 'missing trie node 0000 (path )' } };
          const r = await fetch(target, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(c),
          });
          return r.json();
        }),
      );
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(Array.isArray(parsed) ? answers : answers[0]));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

type Log = { blockNumber: bigint; logIndex: number; args: Record<string, unknown> };
const events = async (f: Fixture, name: ContractEventName<typeof energyMarketAbi>): Promise<Log[]> =>
  (await marketEvents(f, name)).map((l) => ({ blockNumber: l.blockNumber, logIndex: l.logIndex, args: { ...l.args } }));
const forWindow = (logs: Log[], w: bigint) => logs.filter((l) => l.args.windowId === w);
const position = (l: Log) => l.blockNumber * 1_000_000n + BigInt(l.logIndex);

describe('market hardening: keeper recovery and membership changes', () => {
  let f: Fixture | undefined;
  let app: KeeperApp | undefined;

  afterEach(async () => {
    await app?.shutdown(0);
    await f?.stop();
    app = undefined;
    f = undefined;
  });

  const balanceOf = (a: Address) =>
    f!.publicClient.readContract({
      address: f!.deployment.token,
      abi: energyTokenAbi,
      functionName: 'balanceOf',
      args: [a],
    }) as Promise<bigint>;

  it('after d + grace away: opens, submits the readings after the late close, then settles; sellers paid', async () => {
    // Prosumers 0, 1 buy; 2, 3 sell. w0 is closed on time, w1 is closed late (the keeper was away).
    f = await setupMarket({ prosumers: 4, grace: GRACE });
    app = await createKeeperApp(f.keeperConfig({ LOG_LEVEL: process.env.DEBUG_KEEPER ? 'info' : 'silent' }), {
      serve: false,
      meters: fixedMeters(f, { 0: [500n, 0n], 1: [500n, 0n], 2: [0n, 3000n], 3: [0n, 3000n] }),
    });
    const [b0, b1, s2, s3] = f.prosumers;
    const w0 = f.start;
    const w1 = w0 + HOUR;
    const w3 = w0 + 3n * HOUR;
    const orders = async (w: bigint) => {
      await f!.placeOrder(b0!, w, 0, 100n, 30n * TOKEN);
      await f!.placeOrder(b1!, w, 0, 100n, 30n * TOKEN);
      await f!.placeOrder(s2!, w, 1, 100n, 20n * TOKEN);
      await f!.placeOrder(s3!, w, 1, 100n, 20n * TOKEN);
    };
    await f.setTime(w0 + 5n);
    await app.keeper.tick();
    await orders(w0);
    await f.setTime(w1 + 5n);
    await app.keeper.tick(); // closes w0, opens w1
    await orders(w1);
    const before = new Map<Address, bigint>();
    for (const p of f.prosumers) before.set(p.address, await balanceOf(p.address));

    // Away for d + grace after w1's delivery hour: at recovery w0 wants readings and settlement, w1 a
    // close (late: its delivery hour and grace are over), readings and settlement, and w3 is not open.
    await f.setTime(w1 + 2n * HOUR + GRACE + 60n);
    const head = await f.publicClient.getBlockNumber({ cacheTime: 0 });
    await app.keeper.tick(); // one tick

    for (const w of [w0, w1]) {
      const window = await app.reader.window(w);
      expect(window.status).toBe('Settled');
      expect(window.tradeCount).toBe(2n);
      for (const i of [0n, 1n]) expect((await app.reader.trade(w, i)).status).toBe('Accepted');
    }
    // Cost 100 Wh at 25 tokens/kWh = 2.5 tokens per trade, one trade per prosumer in each of w0 and w1.
    const cost = 2n * ((100n * 25n * TOKEN) / 1000n);
    expect(await balanceOf(s2!.address)).toBe(before.get(s2!.address)! + cost);
    expect(await balanceOf(s3!.address)).toBe(before.get(s3!.address)! + cost);
    expect(await balanceOf(b0!.address)).toBe(before.get(b0!.address)! - cost);

    // Order of the recovery tick: open w3 first, then w1's readings after its close and before its settlement.
    const inTick = (logs: Log[]) => logs.filter((l) => l.blockNumber > head);
    const opened = inTick(forWindow(await events(f, 'WindowOpened'), w3));
    expect(opened).toHaveLength(1);
    const others = inTick([
      ...(await events(f, 'MeterReadingSubmitted')),
      ...(await events(f, 'WindowCleared')),
      ...(await events(f, 'TradeSettled')),
    ]);
    expect(others.length).toBeGreaterThan(0);
    for (const l of others) expect(position(opened[0]!)).toBeLessThan(position(l));
    const cleared = forWindow(await events(f, 'WindowCleared'), w1)[0]!;
    const readings = forWindow(await events(f, 'MeterReadingSubmitted'), w1);
    expect(new Set(readings.map((r) => r.args.prosumer))).toEqual(new Set(f.prosumers.map((p) => p.address)));
    const settled = forWindow(await events(f, 'TradeSettled'), w1);
    for (const r of readings) {
      expect(position(r)).toBeGreaterThan(position(cleared));
      for (const s of settled) expect(position(r)).toBeLessThan(position(s));
    }
  });

  it('pays sellers deregistered or stripped of assets after clearing, or assetless, by their readings', async () => {
    // 0, 1, 2 buy 100 Wh each; 3 sells and is deregistered after clearing (assets removed too); 4 sells
    // and its PV system is removed after clearing (battery 3 kW stays, reading 5 kWh); 5 never had assets.
    f = await setupMarket({ prosumers: 6, grace: GRACE });
    app = await createKeeperApp(f.keeperConfig(), {
      serve: false,
      meters: fixedMeters(f, {
        0: [400n, 0n],
        1: [400n, 0n],
        2: [400n, 0n],
        3: [0n, 6000n],
        4: [0n, 5000n],
        5: [0n, 100n],
      }),
    });
    const chain = makeChain(f.anvil.chainId, f.anvil.url);
    const admin = createWalletClient({ chain, transport: http(f.anvil.url), account: f.admin });
    const reg = { address: f.deployment.registry, abi: prosumerRegistryAbi } as const;
    const confirm = async (sent: Promise<Hex>) => {
      expect((await f!.publicClient.waitForTransactionReceipt({ hash: await sent })).status).toBe('success');
    };
    const p = f.prosumers.map((x) => x.address) as [Address, Address, Address, Address, Address, Address];
    const w0 = f.start;
    await confirm(admin.writeContract({ ...reg, functionName: 'removePvSystem', args: [p[5], 0n] }));
    await confirm(admin.writeContract({ ...reg, functionName: 'removeBattery', args: [p[5], 0n] }));

    await f.setTime(w0 + 5n);
    await app.keeper.tick();
    for (const i of [0, 1, 2]) await f.placeOrder(f.prosumers[i]!, w0, 0, 100n, 30n * TOKEN);
    for (const i of [3, 4, 5]) await f.placeOrder(f.prosumers[i]!, w0, 1, 100n, 20n * TOKEN);
    await f.setTime(w0 + HOUR + 5n);
    await app.keeper.tick();
    expect((await app.reader.window(w0)).status).toBe('Cleared');

    // Membership changes during the delivery hour, after the clearing.
    await f.setTime(w0 + HOUR + 600n);
    await confirm(admin.writeContract({ ...reg, functionName: 'deregister', args: [p[3]] }));
    await confirm(admin.writeContract({ ...reg, functionName: 'removePvSystem', args: [p[3], 0n] }));
    await confirm(admin.writeContract({ ...reg, functionName: 'removeBattery', args: [p[3], 0n] }));
    await confirm(admin.writeContract({ ...reg, functionName: 'removePvSystem', args: [p[4], 0n] }));
    const before = new Map<Address, bigint>();
    for (const a of p) before.set(a, await balanceOf(a));

    await f.setTime(w0 + 2n * HOUR + 5n);
    await app.keeper.tick();
    for (const i of [3, 4, 5]) expect((await app.reader.reading(w0, p[i] as Address)).submitted).toBe(true);
    expect(await app.reader.reading(w0, p[3] as Address)).toEqual({ submitted: true, importWh: 0n, exportWh: 6000n });
    const window = await app.reader.window(w0);
    expect(window.status).toBe('Settled');
    const cost = (100n * 25n * TOKEN) / 1000n;
    for (let i = 0n; i < window.tradeCount; i++) {
      const t = await app.reader.trade(w0, i);
      expect([t.status, t.reason]).toEqual(['Accepted', 'None']);
    }
    for (const i of [3, 4, 5]) expect(await balanceOf(p[i] as Address)).toBe(before.get(p[i] as Address)! + cost);
    const body = await app.metrics.registry.metrics();
    expect(metricValue(body, 'keeper_readings_trade_bounded_total')).toBe(1); // prosumer 5
    expect(body).not.toContain('keeper_readings_rejected_total{reason=');
    expect(metricValue(body, 'keeper_readings_submitted_total')).toBe(6);
  });

  it('on a node without historical state: falls back to the current assets with a warning and a metric', async () => {
    // 0 buys from 1; 1's PV system is removed after clearing, so on the current assets its reading is implausible.
    f = await setupMarket({ prosumers: 3, grace: GRACE });
    const node = await prunedNode(f.anvil.url);
    try {
      app = await createKeeperApp(f.keeperConfig({ RPC_URL: node.url }), {
        serve: false,
        meters: fixedMeters(f, { 0: [400n, 0n], 1: [0n, 5000n], 2: [400n, 0n] }),
      });
      const chain = makeChain(f.anvil.chainId, f.anvil.url);
      const admin = createWalletClient({ chain, transport: http(f.anvil.url), account: f.admin });
      const w0 = f.start;
      await f.setTime(w0 + 5n);
      await app.keeper.tick();
      await f.placeOrder(f.prosumers[0]!, w0, 0, 100n, 30n * TOKEN);
      await f.placeOrder(f.prosumers[1]!, w0, 1, 100n, 20n * TOKEN);
      await f.setTime(w0 + HOUR + 5n);
      await app.keeper.tick();
      const hash = await admin.writeContract({
        address: f.deployment.registry,
        abi: prosumerRegistryAbi,
        functionName: 'removePvSystem',
        args: [f.prosumers[1]!.address, 0n],
      });
      await f.publicClient.waitForTransactionReceipt({ hash });
      await f.setTime(w0 + 2n * HOUR + 5n);
      await app.keeper.tick();
      expect((await app.reader.reading(w0, f.prosumers[0]!.address)).submitted).toBe(true);
      expect((await app.reader.reading(w0, f.prosumers[1]!.address)).submitted).toBe(false);
      const body = await app.metrics.registry.metrics();
      // the clearing block and the end of delivery
      expect(metricValue(body, 'keeper_asset_history_unavailable_total')).toBe(2);
      expect(metricValue(body, 'keeper_readings_rejected_total{reason="implausible_export"}')).toBe(1);
    } finally {
      await new Promise<void>((r) => node.server.close(() => r()));
    }
  });
});
