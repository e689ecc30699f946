import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../dev/paths.js';
import type { ExportFile } from '../src/export.js';
import type { Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { energyTokenAbi } from '@p2p-energy/sdk';
import { createKeeperApp, type KeeperApp } from '../src/app.js';
import { SimulatedMeters } from '../src/meters/simulated.js';
import { HOUR, marketEvents, metricValue, setupMarket, type Fixture, type Prosumer } from './fixture.js';
import { runReplay } from './replay-run.js';
import { settleModel, type ModelTrade } from './model.js';
import { TOKEN_UNIT as TOKEN } from '../src/constants.js';

describe('keeper drives several windows end to end', () => {
  let f: Fixture;
  let app: KeeperApp;
  const balancesBefore = new Map<Address, bigint>();

  const balanceOf = (a: Address) =>
    f.publicClient.readContract({
      address: f.deployment.token,
      abi: energyTokenAbi,
      functionName: 'balanceOf',
      args: [a],
    }) as Promise<bigint>;

  beforeAll(async () => {
    // Five small households (buyers) and six with large PV (sellers), around noon.
    f = await setupMarket({
      prosumers: 11,
      startHour: 11,
      assets: (i) => (i < 5 ? { pvPeakW: 300n, batteryPowerW: 200n } : { pvPeakW: 8000n, batteryPowerW: 3000n }),
    });
    for (const p of f.prosumers) balancesBefore.set(p.address, await balanceOf(p.address));
    app = await createKeeperApp(f.keeperConfig({ METER_SEED: '7' }));
    await app.keeper.startupChecks();
  });

  afterAll(async () => {
    await app?.shutdown(0);
    await f?.stop();
  });

  it('opens, closes, submits simulated readings and settles with the expected results', async () => {
    const [A, B, C, D, E, S1, S2, S3, S4, S5, S6] = f.prosumers as [
      Prosumer,
      Prosumer,
      Prosumer,
      Prosumer,
      Prosumer,
      Prosumer,
      Prosumer,
      Prosumer,
      Prosumer,
      Prosumer,
      Prosumer,
    ];
    const w0 = f.start;
    const w1 = w0 + HOUR;
    const w2 = w0 + 2n * HOUR;

    await f.setTime(w0 + 5n);
    await app.keeper.tick();
    // The spec's worked example in tens of Wh: price 20, 140 Wh, A<-1 70, B<-1 30, B<-2 40.
    const bids: [Prosumer, bigint, bigint][] = [
      [A, 70n, 25n],
      [B, 70n, 23n],
      [C, 100n, 18n],
      [D, 60n, 16n],
      [E, 50n, 14n],
    ];
    const asks: [Prosumer, bigint, bigint][] = [
      [S1, 100n, 18n],
      [S2, 70n, 20n],
      [S3, 80n, 22n],
      [S4, 30n, 24n],
      [S5, 40n, 29n],
      [S6, 30n, 32n],
    ];
    for (const [p, e, price] of bids) await f.placeOrder(p, w0, 0, e, price * TOKEN);
    for (const [p, e, price] of asks) await f.placeOrder(p, w0, 1, e, price * TOKEN);

    await f.setTime(w0 + HOUR + 5n);
    await app.keeper.tick();
    const cleared = await app.reader.window(w0);
    expect(cleared.status).toBe('Cleared');
    expect(cleared.clearingPrice).toBe(20n * TOKEN);
    expect(cleared.clearedEnergyWh).toBe(140n);
    const trades0: ModelTrade[] = [];
    for (let i = 0n; i < cleared.tradeCount; i++) trades0.push(await app.reader.trade(w0, i));
    expect(trades0.map((t) => [t.buyer, t.seller, t.energyWh])).toEqual([
      [A.address, S1.address, 70n],
      [B.address, S1.address, 30n],
      [B.address, S2.address, 40n],
    ]);
    // Window 1: C buys 500 Wh from S3 and 400 of S4's 600: the marginal ask is partly filled, price 24.
    await f.placeOrder(C, w1, 0, 900n, 30n * TOKEN);
    await f.placeOrder(S3, w1, 1, 500n, 21n * TOKEN);
    await f.placeOrder(S4, w1, 1, 600n, 24n * TOKEN);

    await f.setTime(w0 + 2n * HOUR + 5n);
    await app.keeper.tick();
    await f.setTime(w0 + 3n * HOUR + 5n);
    await app.keeper.tick();
    await f.setTime(w0 + 4n * HOUR + 5n);
    await app.keeper.tick();

    for (const w of [w0, w1, w2]) expect((await app.reader.window(w)).status).toBe('Settled');
    const win1 = await app.reader.window(w1);
    expect(win1.clearingPrice).toBe(24n * TOKEN); // marginal ask S4 partly filled (400 of 600)
    expect(win1.clearedEnergyWh).toBe(900n);

    // Expected outcomes from the independent settlement model and the same simulated meters.
    const meters = new SimulatedMeters(7);
    const balances = new Map(balancesBefore);
    for (const w of [w0, w1]) {
      const window = await app.reader.window(w);
      const trades: ModelTrade[] = [];
      for (let i = 0n; i < window.tradeCount; i++) trades.push(await app.reader.trade(w, i));
      const traders = [...new Set(trades.flatMap((t) => [t.buyer, t.seller]))];
      const contexts = await Promise.all(
        traders.map(async (account) => ({
          account,
          ...(await app.reader.assetTotals(f.deployment.registry, account)),
        })),
      );
      const raw = await meters.fetch(w, 3600, contexts);
      const readings = new Map(
        raw.map((r) => [r.prosumer as Address, { importWh: r.importWh as bigint, exportWh: r.exportWh as bigint }]),
      );
      for (const [account, r] of readings) {
        const onChain = await app.reader.reading(w, account);
        expect(onChain).toEqual({ submitted: true, importWh: r.importWh, exportWh: r.exportWh });
      }
      const expected = settleModel(trades, window.clearingPrice, readings, balances);
      for (let i = 0; i < trades.length; i++) {
        const t = await app.reader.trade(w, BigInt(i));
        expect([t.status, t.reason]).toEqual([expected[i]!.status, expected[i]!.reason]);
      }
    }
    for (const p of f.prosumers) expect(await balanceOf(p.address)).toBe(balances.get(p.address));
    // Something was accepted and something rejected, so both paths were exercised.
    const settled = await marketEvents(f, 'TradeSettled');
    const statuses = new Set(settled.map((e) => (e as unknown as { args: { status: number } }).args.status));
    expect(statuses).toEqual(new Set([1, 2]));

    // Each window settled exactly once, each trade exactly once.
    const windowSettled = await marketEvents(f, 'WindowSettled');
    expect(windowSettled.map((e) => (e as unknown as { args: { windowId: bigint } }).args.windowId)).toEqual([
      w0,
      w1,
      w2,
    ]);
    expect(settled.length).toBe(3 + Number(win1.tradeCount));
  });

  it('exposes /metrics, /healthz and /readyz', async () => {
    const port = (app.server?.address() as AddressInfo).port;
    const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const value = (series: string) => metricValue(body, series);
    expect(value('keeper_actions_total{action="open",result="success"}')).toBe(5);
    expect(value('keeper_actions_total{action="close",result="success"}')).toBe(4);
    expect(value('keeper_actions_total{action="settle",result="success"}')).toBe(3);
    expect(value('keeper_actions_total{action="readings",result="success"}')).toBe(2);
    expect(value('keeper_readings_submitted_total')).toBe(7); // A, B, S1, S2 and C, S3, S4
    expect(value('keeper_transactions_sent_total')).toBe(14);
    expect(value('keeper_transactions_replaced_total')).toBe(0);
    expect(value('keeper_oldest_due_action_overdue_seconds')).toBe(0);
    expect(value('keeper_signer_balance_wei')).toBeGreaterThan(0);
    expect(body).toContain('keeper_last_success_timestamp_seconds{action="settle"}');
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    // Liveness: alive until stopped, whether or not the loop runs (ticks are driven by the test here).
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });

  it('exports the windows, and the forge replay reproduces them; a tampered export fails', async () => {
    const run = promisify(execFile);
    const dir = path.join(repoRoot, 'exports');
    await mkdir(dir, { recursive: true });
    const out = path.join(dir, `e2e-${f.anvil.chainId}.json`);
    const env = {
      ...process.env,
      RPC_URL: f.anvil.url,
      CHAIN_ID: String(f.anvil.chainId),
      MARKET_ADDRESS: f.deployment.market,
    };
    const exported = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        'keeper/src/cli.ts',
        'export',
        '--from',
        String(f.start),
        '--to',
        String(f.start + 2n * HOUR),
        '--out',
        out,
      ],
      { cwd: repoRoot, env },
    );
    expect(exported.stdout).toContain('exported 3 windows');
    const file = JSON.parse(await readFile(out, 'utf8')) as ExportFile;
    expect(file.windows.map((w) => BigInt(w.windowId))).toEqual([f.start, f.start + HOUR, f.start + 2n * HOUR]);

    const ok = await runReplay(out);
    expect(ok.stdout).toContain('[PASS] test_replay_export()');
    expect(ok.code).toBe(0);

    // One changed amount: the cost of the first accepted trade.
    const tampered = structuredClone(file);
    const accepted = tampered.windows[0]!.events.find((e) => e.name === 'TradeSettled' && Number(e.args.status) === 1);
    expect(accepted).toBeDefined();
    accepted!.args.cost = (BigInt(accepted!.args.cost as string) + 1n).toString();
    const bad = out.replace(/\.json$/, '-tampered.json');
    await writeFile(bad, JSON.stringify(tampered));
    const failure = await runReplay(bad);
    expect(failure.code).not.toBe(0);
    expect(failure.stdout).toContain('token movement');
  });
});
