// The bidding agent on anvil, through the keeper's relayer: a window with known forecasts and device plans gives
// the expected orders (sides, energies, prices, the PV/battery cap), the market clears them as the model says;
// bad forecast/plan files give no order and a clear log line; a restart does not place twice.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { toHex, type Address } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { energyMarketAbi } from '@p2p-energy/sdk';
import type { BiddingAgent } from '../src/agent/agent.js';
import { loadHouseholds } from '../src/agent/config.js';
import { runAgentFor } from '../src/agent/index.js';
import { AgentMetrics } from '../src/agent/metrics.js';
import { createKeeperApp, type KeeperApp } from '../src/app.js';
import { MarketReader } from '../src/chain.js';
import { chainClient } from './chain-client.js';
import { CsvForecasts } from '../src/forecasts/csv.js';
import { CsvPlans } from '../src/plans/csv.js';
import { clearModel, type ModelOrder } from './clearing-model.js';
import { HOUR, metricValue, setupMarket, type Fixture } from './fixture.js';
import { writeKeystoreFile } from './keystore-helper.js';
import { until } from './process.js';
import { TOKEN_UNIT as TOKEN } from '../src/constants.js';
import { TEST_MNEMONIC as MNEMONIC } from '../dev/test-keys.js';

const N = 6;

describe('bidding agent', () => {
  let f: Fixture;
  let app: KeeperApp;
  let dir: string;
  let base: string;
  let reader: MarketReader;
  const lines: string[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
  const addr = (i: number): Address => f.prosumers[i]!.address;
  const nonce = (w: bigint, i: number) =>
    f.publicClient.readContract({
      address: f.deployment.market,
      abi: energyMarketAbi,
      functionName: 'orderNonce',
      args: [w, addr(i)],
    });
  const order = async (w: bigint, i: number) => {
    const [side, energyWh, pricePerKWh, , live] = await f.publicClient.readContract({
      address: f.deployment.market,
      abi: energyMarketAbi,
      functionName: 'getOrder',
      args: [w, addr(i)],
    });
    return { side, energyWh, pricePerKWh, live };
  };
  const csv = async (name: string, header: string, rows: (string | bigint | number)[][]) => {
    const file = path.join(dir, name);
    await writeFile(file, [header, ...rows.map((r) => r.join(','))].join('\n'));
    return file;
  };

  beforeAll(async () => {
    f = await setupMarket({
      prosumers: N,
      startHour: 11,
      assets: (i) => (i === 3 ? { pvPeakW: 2000n, batteryPowerW: 1000n } : { pvPeakW: 8000n, batteryPowerW: 3000n }),
    });
    reader = new MarketReader(chainClient(f), f.deployment.market);
    dir = await mkdtemp(path.join(tmpdir(), 'agent-'));
    app = await createKeeperApp(
      f.keeperConfig({
        RELAYER: 'true',
        RELAYER_PORT: '0',
        RELAY_INTERVAL_MS: '200',
        RELAY_JOURNAL_PATH: path.join(dir, 'journal.jsonl'),
      }),
      { serve: false },
    );
    await app.keeper.startupChecks();
    const relayer = await app.startRelayer();
    base = `http://127.0.0.1:${relayer?.port}`;
  });

  afterAll(async () => {
    await app?.shutdown(0);
    await f?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** One keystore per household; p0's password from the environment, the others' from files. */
  async function households() {
    const entries = [];
    const env: Record<string, string> = { P0_PASSWORD: 'pw-zero' };
    const prices = [
      { strategy: 'fixed', pricePerKWh: (25n * TOKEN).toString() },
      { strategy: 'median', lastN: 3, bandPercent: 5, fallbackPricePerKWh: (22n * TOKEN).toString() },
      { strategy: 'fixed', pricePerKWh: (18n * TOKEN).toString() },
      { strategy: 'fixed', pricePerKWh: (20n * TOKEN).toString() },
      { strategy: 'fixed', pricePerKWh: (30n * TOKEN).toString() },
      { strategy: 'fixed', pricePerKWh: (20n * TOKEN).toString() },
    ];
    for (let i = 0; i < N; i++) {
      const key = toHex(mnemonicToAccount(MNEMONIC, { addressIndex: 100 + i }).getHdKey().privateKey as Uint8Array);
      const password = i === 0 ? 'pw-zero' : `pw-${i}`;
      await writeKeystoreFile(path.join(dir, `h${i}.json`), key, password);
      if (i > 0) await writeFile(path.join(dir, `h${i}.pw`), `${password}\n`);
      entries.push({
        keystore: `h${i}.json`,
        ...(i === 0 ? { passwordEnv: 'P0_PASSWORD' } : { passwordFile: `h${i}.pw` }),
        mode: i === 5 ? 'manual' : 'auto',
        price: prices[i],
      });
    }
    const file = path.join(dir, 'households.json');
    await writeFile(file, JSON.stringify({ households: entries }));
    return loadHouseholds(file, env);
  }

  async function agentFor(forecastFile: string, planFile: string, statePath: string, metrics?: AgentMetrics) {
    return runAgentFor(await households(), {
      client: chainClient(f),
      market: f.deployment.market,
      relayerUrl: base,
      forecasts: new CsvForecasts(forecastFile),
      plans: new CsvPlans(planFile),
      statePath,
      settings: { thresholdWh: 100n },
      log,
      metrics,
    });
  }

  it('places the expected orders, the market clears them as the model predicts, a restart places nothing', async () => {
    const w = f.start;
    await f.setTime(w + 5n);
    await app.keeper.tick();
    expect((await reader.window(w)).status).toBe('Open');
    const fc = await csv('forecasts.csv', 'prosumer,window,consumptionWh,productionWh', [
      [addr(0), w, 3000, 500],
      [addr(1), w, 1000, 0],
      [addr(2), w, 500, 6000],
      [addr(3), w, 0, 2000],
      [addr(4), w, 20000, 0],
      [addr(5), w, 0, 7000],
      [addr(0), w + HOUR, 99, 99], // another hour: ignored
    ]);
    const pl = await csv('plans.csv', 'prosumer,window,device,energyWh', [
      [addr(0), w, 'battery', 500],
      [addr(1), w, 'heat_pump', -1500],
      [addr(1), w, 'battery', 0],
      [addr(2), w, 'battery', -1000],
      [addr(3), w, 'battery', 1000],
      [addr(4), w, 'ev_charger', -11000],
      [addr(4), w, 'battery', 0],
      [addr(5), w, 'battery', 0],
    ]);
    const state = path.join(dir, 'placements.jsonl');
    const metrics = new AgentMetrics();
    const agent = await agentFor(fc, pl, state, metrics);
    const decisions = await agent.actOn(w);
    expect([...decisions.entries()]).toEqual([
      [addr(5), 'manual'],
      [addr(0), 'placed'],
      [addr(1), 'placed'],
      [addr(2), 'placed'],
      [addr(3), 'placed'],
      [addr(4), 'placed'],
    ]);
    expect(agent.submitted(w).map((o) => [o.prosumer, o.side, o.energyWh])).toEqual(
      [0, 1, 2, 3, 4].map((i) => [addr(i), i === 2 || i === 3 ? 1 : 0, [2000n, 2500n, 4500n, 3000n, 28_000n][i]]),
    );
    // Restarted before the relayer placed them: the record (or, without it, the relayer's queue) says "placed".
    for (const statePath of [state, path.join(dir, 'lost-before.jsonl')]) {
      const d = await (await agentFor(fc, pl, statePath)).actOn(w);
      expect([...d.values()]).toEqual([...Array(5).fill('already_placed'), 'manual']);
    }
    // net = production − consumption + devices; buy the deficit, sell the surplus; p4's 31 kWh deficit is
    // capped at household load + battery charging (25 kW + 3 kW over the hour); p1 bids the fallback + 5 %.
    const expected: ModelOrder[] = [
      { prosumer: addr(0), side: 0, energyWh: 2000n, price: 25n * TOKEN },
      { prosumer: addr(1), side: 0, energyWh: 2500n, price: (22n * TOKEN * 105n) / 100n },
      { prosumer: addr(2), side: 1, energyWh: 4500n, price: 18n * TOKEN },
      { prosumer: addr(3), side: 1, energyWh: 3000n, price: 20n * TOKEN },
      { prosumer: addr(4), side: 0, energyWh: 28_000n, price: 30n * TOKEN },
    ];
    await until(
      'all placed',
      async () => (await Promise.all([0, 1, 2, 3, 4].map((i) => nonce(w, i)))).every((n) => n === 1n),
      30_000,
    );
    for (const [i, o] of expected.entries()) {
      expect(await order(w, i)).toEqual({ side: o.side, energyWh: o.energyWh, pricePerKWh: o.price, live: true });
    }
    expect(await nonce(w, 5)).toBe(0n);
    const body = await metrics.registry.metrics();
    expect(metricValue(body, 'agent_decisions_total{decision="placed"}')).toBe(5);
    expect(metricValue(body, 'agent_orders_capped_total')).toBe(1);

    // Restarted after placement, with the record and with a lost one: the chain's orderNonce says "placed".
    for (const statePath of [state, path.join(dir, 'lost-after.jsonl')]) {
      const again: BiddingAgent = await agentFor(fc, pl, statePath);
      const d = await again.actOn(w);
      expect([...d.values()]).toEqual([...Array(5).fill('already_placed'), 'manual']);
    }
    expect((await Promise.all([0, 1, 2, 3, 4].map((i) => nonce(w, i)))).every((n) => n === 1n)).toBe(true);

    await f.setTime(w + HOUR + 5n);
    await app.keeper.tick();
    const window = await reader.window(w);
    expect(window.status).toBe('Cleared');
    const model = clearModel(expected);
    expect(model.price).toBe(30n * TOKEN); // p4's bid is only partly filled by the two asks
    expect(window.clearingPrice).toBe(model.price);
    expect(window.clearedEnergyWh).toBe(model.energy);
    expect(window.tradeCount).toBe(BigInt(model.trades.length));
    for (const [i, t] of model.trades.entries()) {
      const onChain = await reader.trade(w, BigInt(i));
      expect({ buyer: onChain.buyer, seller: onChain.seller, energyWh: onChain.energyWh }).toEqual(t);
    }
  });

  it('refuses bad forecasts and plans: no order, a clear log line and a metric', async () => {
    const w = f.start + HOUR; // opened by the keeper's last tick
    expect((await reader.window(w)).status).toBe('Open');
    const fc = await csv('bad-forecasts.csv', 'prosumer,window,consumptionWh,productionWh', [
      [addr(0), w, 1000, 0],
      [addr(0), w, 1000, 0], // duplicate
      [addr(1), w, -5, 0], // negative
      // addr(2): missing
      [addr(3), w, 0, 2500], // above the 2 kW PV peak over the hour
      [addr(4), w, 500, 0],
      ['0x00000000000000000000000000000000000000aa', w, 1, 1], // unknown prosumer
    ]);
    const pl = await csv('bad-plans.csv', 'prosumer,window,device,energyWh', [
      [addr(0), w, 'battery', 0],
      [addr(1), w, 'battery', 0],
      [addr(2), w, 'battery', 0],
      [addr(3), w, 'battery', 0],
      [addr(4), w, 'sauna', -3000], // unknown device
    ]);
    const metrics = new AgentMetrics();
    lines.length = 0;
    const agent = await agentFor(fc, pl, path.join(dir, 'bad.jsonl'), metrics);
    const d = await agent.actOn(w);
    expect([...d.values()]).toEqual(['manual', ...Array(5).fill('refused_input')]);
    const refusals = lines.map((l) => JSON.parse(l) as Record<string, string>).filter((l) => l.reason);
    const reasons = refusals.map((l) => `${l.input}:${l.reason}:${l.prosumer}`);
    expect(reasons.sort()).toEqual(
      [
        `forecast:duplicate:${addr(0)}`,
        `forecast:negative:${addr(1)}`,
        `forecast:missing:${addr(2)}`,
        `forecast:implausible_production:${addr(3)}`,
        'forecast:unknown_prosumer:0x00000000000000000000000000000000000000AA', // checksummed
        `plan:unknown_device:${addr(4)}`,
      ].sort(),
    );
    expect(refusals.find((l) => l.reason === 'implausible_production')?.detail).toBe(
      'productionWh=2500 > 2000 (PV peak over the window)',
    );
    expect(refusals.every((l) => l.msg === `${l.input} refused; no order from it`)).toBe(true);
    const body = await metrics.registry.metrics();
    expect(metricValue(body, 'agent_inputs_rejected_total{input="forecast",reason="duplicate"}')).toBe(1);
    expect(metricValue(body, 'agent_inputs_rejected_total{input="plan",reason="unknown_device"}')).toBe(1);
    expect(metricValue(body, 'agent_decisions_total{decision="refused_input"}')).toBe(5);

    // A file with the wrong header: the source fails, nothing is decided, the agent tries again later.
    const broken = await csv('broken.csv', 'who,when,what', [[addr(0), w, 1]]);
    const again = await agentFor(fc, broken, path.join(dir, 'broken.jsonl'));
    expect([...(await again.actOn(w)).values()]).toEqual(['manual', ...Array(5).fill('source_failed')]);
    expect(lines.some((l) => l.includes('input source failed; will retry') && l.includes('header must be'))).toBe(true);
    await new Promise((r) => setTimeout(r, 600)); // a few relayer batches
    expect(await Promise.all([0, 1, 2, 3, 4, 5].map((i) => nonce(w, i)))).toEqual(Array(6).fill(0n));
    // No secret in any log line.
    expect(lines.join('\n')).not.toMatch(/pw-zero|pw-1|privateKey/);
  });
  it('median strategy: a band around the clearing prices read from the chain', async () => {
    const w = f.start + 2n * HOUR;
    await f.setTime(w + 5n);
    await app.keeper.tick(); // closes w − 1 h (no orders: price 0, not counted) and opens w
    expect((await reader.window(w)).status).toBe('Open');
    const fc = await csv('median-forecasts.csv', 'prosumer,window,consumptionWh,productionWh', [
      [addr(1), w, 1800, 0],
      [addr(2), w, 0, 900],
    ]);
    const pl = await csv('median-plans.csv', 'prosumer,window,device,energyWh', [
      [addr(1), w, 'battery', 0],
      [addr(2), w, 'battery', 0],
    ]);
    const agent = await agentFor(fc, pl, path.join(dir, 'median.jsonl'));
    const d = await agent.actOn(w);
    expect([addr(1), addr(2)].map((a) => d.get(a))).toEqual(['placed', 'placed']);
    // The relayer may put the two orders in different batches: wait for both.
    await until('placed', async () => (await nonce(w, 1)) === 1n && (await nonce(w, 2)) === 1n, 30_000);
    // History: the first window cleared at 30 tokens/kWh; p1 bids median + 5 %, p2 (fixed) asks 18.
    expect(await order(w, 1)).toEqual({
      side: 0,
      energyWh: 1800n,
      pricePerKWh: (30n * TOKEN * 105n) / 100n,
      live: true,
    });
    expect(await order(w, 2)).toEqual({ side: 1, energyWh: 900n, pricePerKWh: 18n * TOKEN, live: true });
  });
});
