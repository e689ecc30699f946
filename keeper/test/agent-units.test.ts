// The agent's pure parts: net position and order, price strategies, input validation, config and households.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Address } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { loadAgentConfig, loadHouseholds } from '../src/agent/config.js';
import { PlacementStore } from '../src/agent/placements.js';
import { netPosition, orderFor } from '../src/agent/position.js';
import { limitPrice, median } from '../src/agent/price.js';
import { HttpForecasts } from '../src/forecasts/http.js';
import { SimulatedForecasts } from '../src/forecasts/simulated.js';
import { validateForecasts } from '../src/forecasts/validate.js';
import { SimulatedMeters } from '../src/meters/simulated.js';
import { HttpPlans } from '../src/plans/http.js';
import { SimulatedPlans } from '../src/plans/simulated.js';
import { validatePlans } from '../src/plans/validate.js';
import { writeKeystoreFile } from './keystore-helper.js';
import { TOKEN_UNIT as TOKEN } from '../src/constants.js';

const A = '0x00000000000000000000000000000000000000a1' as Address;
const ctx = (pvPeakW: bigint, batteryPowerW: bigint) => ({
  account: privateKeyToAccount(`0x${'11'.repeat(32)}`).address,
  pvPeakW,
  batteryPowerW,
  batteryCapacityWh: 10_000n,
});

describe('net position and order', () => {
  const p = ctx(4000n, 2000n);
  const forecast = { prosumer: p.account, windowId: 0n, consumptionWh: 1200n, productionWh: 3000n };
  const plan = (totalWh: bigint) => ({ prosumer: p.account, windowId: 0n, devices: {}, totalWh });

  it('production − consumption + devices; sells a surplus, buys a deficit beyond the threshold', () => {
    expect(netPosition(forecast, plan(-800n))).toBe(1000n);
    expect(orderFor(1000n, 100n, p, 3600)).toEqual({ side: 1, energyWh: 1000n, capped: false });
    expect(orderFor(-101n, 100n, p, 3600)).toEqual({ side: 0, energyWh: 101n, capped: false });
    expect(orderFor(100n, 100n, p, 3600)).toBeUndefined();
    expect(orderFor(-100n, 100n, p, 3600)).toBeUndefined();
  });

  it('caps by PV + battery power (sell) and household load + battery charging (buy), over the window', () => {
    expect(orderFor(9000n, 0n, p, 3600)).toEqual({ side: 1, energyWh: 6000n, capped: true });
    expect(orderFor(9000n, 0n, p, 1800)).toEqual({ side: 1, energyWh: 3000n, capped: true });
    expect(orderFor(-40_000n, 0n, p, 3600)).toEqual({ side: 0, energyWh: 27_000n, capped: true });
  });
});

describe('price strategies', () => {
  it('median of the last N clearing prices, with a band; a fixed price as given', () => {
    expect(median([5n, 1n, 3n])).toBe(3n);
    expect(median([4n, 1n, 3n, 10n])).toBe(3n);
    expect(median([])).toBeUndefined();
    const band = { strategy: 'median' as const, lastN: 3, bandPercent: 10, fallbackPricePerKWh: 15n * TOKEN };
    const history = [20n * TOKEN, 24n * TOKEN, 22n * TOKEN, 99n * TOKEN]; // newest first; the 4th is out of N
    expect(limitPrice(band, 0, history)).toBe(242n * 10n ** 17n); // buy at 22 + 10 %
    expect(limitPrice(band, 1, history)).toBe(198n * 10n ** 17n); // sell at 22 − 10 %
    expect(limitPrice(band, 0, [])).toBe(165n * 10n ** 17n); // no history: the fallback
    expect(limitPrice({ strategy: 'fixed', pricePerKWh: 7n }, 1, history)).toBe(7n);
  });
});

describe('input validation', () => {
  const p = ctx(4000n, 2000n);
  it('forecasts: one per prosumer and hour, within PV peak and household load', () => {
    const { valid, rejected } = validateForecasts(
      [
        { prosumer: p.account, window: '3600', consumptionWh: '100', productionWh: 4000 },
        { prosumer: p.account, window: 7200n, consumptionWh: 25_001, productionWh: 0 },
        { prosumer: p.account, window: 0, consumptionWh: 1.5, productionWh: 0 },
      ],
      [p],
      [0n, 3600n, 7200n, 10_800n],
      3600,
    );
    expect([...valid.values()]).toEqual([
      { prosumer: p.account, windowId: 3600n, consumptionWh: 100n, productionWh: 4000n },
    ]);
    expect(rejected.map((r) => [r.windowId, r.reason])).toEqual([
      [7200n, 'implausible_consumption'],
      [0n, 'not_integer'],
      [10_800n, 'missing'],
    ]);
  });

  it('plans: known devices, battery within its power, heat pump and EV only consuming', () => {
    const { valid, rejected } = validatePlans(
      [
        { prosumer: p.account, window: 0, device: 'battery', energyWh: 2000 },
        { prosumer: p.account, window: 0, device: 'heat_pump', energyWh: -3000 },
        { prosumer: p.account, window: 3600, device: 'battery', energyWh: -2001 },
        { prosumer: p.account, window: 7200, device: 'ev_charger', energyWh: 10 },
        { prosumer: A, window: 0, device: 'battery', energyWh: 0 },
      ],
      [p],
      [0n, 3600n, 7200n],
      3600,
    );
    expect([...valid.values()]).toEqual([
      { prosumer: p.account, windowId: 0n, devices: { battery: 2000n, heat_pump: -3000n }, totalWh: -1000n },
    ]);
    expect(rejected.map((r) => r.reason)).toEqual(['implausible_device', 'implausible_device', 'unknown_prosumer']);
  });

  it("the simulated forecasts and plans give the simulated meters' expected balance", async () => {
    const q = ctx(8000n, 3000n);
    for (const w of [6n * 3600n, 12n * 3600n, 19n * 3600n]) {
      const [f] = await new SimulatedForecasts(1).fetch([w], 3600, [q]);
      const [pl] = await new SimulatedPlans(1).fetch([w], 3600, [q]);
      const net =
        BigInt(f!.productionWh as bigint) - BigInt(f!.consumptionWh as bigint) + BigInt(pl!.energyWh as bigint);
      const meters = new SimulatedMeters(1).forecast(w, 3600, q);
      expect(Number(net - (meters.exportWh - meters.importWh))).toBeLessThanOrEqual(2);
      expect(Number(net - (meters.exportWh - meters.importWh))).toBeGreaterThanOrEqual(-2);
    }
  });
});

describe('agent config, households, placement record', () => {
  const env = {
    RPC_URL: 'http://127.0.0.1:8545',
    CHAIN_ID: '31337',
    MARKET_ADDRESS: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
    RELAYER_URL: 'http://127.0.0.1:9465',
    AGENT_HOUSEHOLDS_PATH: 'households.json',
  };
  it('defaults, and clear messages by variable name', () => {
    const c = loadAgentConfig(env);
    expect([c.forecastSource, c.planSource, c.thresholdWh, c.statePath]).toEqual([
      'simulated',
      'simulated',
      50n,
      'agent-placements.jsonl',
    ]);
    expect(() => loadAgentConfig({ ...env, FORECAST_SOURCE: 'csv', RELAYER_URL: 'x' })).toThrow(
      /RELAYER_URL: .*\n.*FORECAST_CSV_PATH: FORECAST_SOURCE=csv needs FORECAST_CSV_PATH/,
    );
  });

  it('decrypts one keystore per household; a wrong password is refused without echoing it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'households-'));
    const key = `0x${'42'.repeat(32)}` as const;
    await writeKeystoreFile(path.join(dir, 'k.json'), key, 'right-pw');
    const file = path.join(dir, 'h.json');
    const price = { strategy: 'fixed', pricePerKWh: '20000000000000000000' };
    await writeFile(file, JSON.stringify({ households: [{ keystore: 'k.json', passwordEnv: 'PW', price }] }));
    const [h] = await loadHouseholds(file, { PW: 'right-pw' });
    expect(h?.account.address).toBe(privateKeyToAccount(key).address);
    expect(h?.mode).toBe('auto');
    expect(h?.price).toEqual({ strategy: 'fixed', pricePerKWh: 20n * TOKEN });
    const wrong = loadHouseholds(file, { PW: 'wrong-pw' });
    await expect(wrong).rejects.toThrow(/households.0: keystore k.json: keystore password is wrong/);
    await expect(loadHouseholds(file, { PW: 'wrong-pw' }).catch((e: unknown) => String(e))).resolves.not.toMatch(
      /wrong-pw/,
    );
    await writeFile(file, JSON.stringify({ households: [{ keystore: 'k.json', price }] }));
    await expect(loadHouseholds(file, {})).rejects.toThrow(/set exactly one of passwordEnv, passwordFile/);
  });

  it('the record survives a restart and ignores a torn last line', async () => {
    const file = path.join(await mkdtemp(path.join(tmpdir(), 'placements-')), 'p.jsonl');
    const a = await PlacementStore.open(file);
    await a.record({ windowId: '3600', prosumer: A, requestId: '0x01', at: 'now' });
    await writeFile(file, '{"windowId":"7200","pros', { flag: 'a' });
    const b = await PlacementStore.open(file);
    expect(b.has(3600n, A)).toBe(true);
    expect(b.has(7200n, A)).toBe(false);
  });
});

describe('http input sources', () => {
  it('ask for the hours by query and read the named array; a bad answer fails the source', async () => {
    const asked: string[] = [];
    const server = createServer((req, res) => {
      asked.push(req.url ?? '');
      const body = req.url?.startsWith('/f')
        ? { forecasts: [{ prosumer: A, window: '3600', consumptionWh: 900, productionWh: 2400 }] }
        : req.url?.startsWith('/p')
          ? { plans: [{ prosumer: A, window: 3600, device: 'battery', energyWh: -1200 }] }
          : { nothing: [] };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect(await new HttpForecasts(`${base}/f`).fetch([3600n, 7200n])).toEqual([
        { prosumer: A, window: '3600', consumptionWh: 900, productionWh: 2400 },
      ]);
      expect(await new HttpPlans(`${base}/p`).fetch([3600n])).toEqual([
        { prosumer: A, window: 3600, device: 'battery', energyWh: -1200 },
      ]);
      await expect(new HttpPlans(`${base}/x`).fetch([3600n])).rejects.toThrow(/no "plans" array/);
      expect(asked.slice(0, 2)).toEqual(['/f?from=3600&hours=2', '/p?from=3600&hours=1']);
    } finally {
      server.close();
    }
  });
});
