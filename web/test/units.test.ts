// Pure parts: the clearing rule on the spec's example, order validation, the config, the household sources.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseEther, type Address } from 'viem';
import { describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CsvHouseholdData, parseHouseholdCsv } from '../server/data/csv.js';
import { HttpHouseholdData } from '../server/data/http.js';
import { SimulatedHouseholdData } from '../server/data/simulated.js';
import { WebConfigError, webConfigFromEnv } from '../server/config.js';
import { clear, stepCurve, type BookEntry } from '../src/clearing.js';
import { validateOrder } from '../src/orders.js';

const kwh = (n: number) => BigInt(n * 1000);
const entry = (prosumer: string, k: number, p: number): BookEntry => ({
  prosumer,
  energyWh: kwh(k),
  pricePerKWh: parseEther(String(p)),
});

describe('clearing (docs/protocol.md)', () => {
  it('clears the reference case at 20 for 14 kWh: A←1 7, B←1 3, B←2 4', () => {
    const bids = [entry('A', 7, 25), entry('B', 7, 23), entry('C', 10, 18), entry('D', 6, 16), entry('E', 5, 14)];
    const asks = [
      entry('1', 10, 18),
      entry('2', 7, 20),
      entry('3', 8, 22),
      entry('4', 3, 24),
      entry('5', 4, 29),
      entry('6', 3, 32),
    ];
    const c = clear(bids, asks);
    expect(c.pricePerKWh).toBe(parseEther('20'));
    expect(c.energyWh).toBe(kwh(14));
    expect(c.trades).toEqual([
      { buyer: 'A', seller: '1', energyWh: kwh(7) },
      { buyer: 'B', seller: '1', energyWh: kwh(3) },
      { buyer: 'B', seller: '2', energyWh: kwh(4) },
    ]);
  });

  it('takes the partly filled bid, the midpoint when both are exactly filled, and 0 without a cross', () => {
    expect(clear([entry('A', 5, 25)], [entry('1', 2, 20)]).pricePerKWh).toBe(parseEther('25'));
    expect(clear([entry('B', 2, 25), entry('C', 2, 24)], [entry('A', 4, 20)]).pricePerKWh).toBe(parseEther('22'));
    // Both exactly filled: between max(15, next bid 17) and min(18, next ask 21).
    expect(clear([entry('A', 2, 18), entry('B', 1, 17)], [entry('1', 2, 15), entry('2', 1, 21)]).pricePerKWh).toBe(
      parseEther('17.5'),
    );
    expect(clear([entry('A', 2, 10)], [entry('1', 2, 20)])).toEqual({ pricePerKWh: 0n, energyWh: 0n, trades: [] });
  });

  it('draws step curves with two points per order', () => {
    expect(stepCurve([entry('A', 2, 25), entry('B', 1, 20)])).toEqual([
      { x: 0, y: 25 },
      { x: 2, y: 25 },
      { x: 2, y: 20 },
      { x: 3, y: 20 },
    ]);
  });
});

describe('order form validation', () => {
  const max = parseEther('1000000');
  it('accepts kWh with up to 3 decimals and prices with up to 6', () => {
    expect(validateOrder('sell', '2.5', '19,5', max)).toEqual({
      ok: true,
      order: { side: 1, energyWh: 2500n, pricePerKWh: parseEther('19.5') },
    });
  });
  it('says what is wrong with each field', () => {
    const r = validateOrder('hold', '0', '-3', max);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual({
      side: 'Choose buy or sell.',
      energy: 'The energy must be more than 0 kWh.',
      price: 'Enter the price in tokens per kWh, e.g. 20 or 19.5 (at most 6 decimals).',
    });
    expect(validateOrder('buy', '1.0001', '20', max)).toMatchObject({
      ok: false,
      errors: { energy: expect.stringContaining('3 decimals') },
    });
    expect(validateOrder('buy', '5000000', '20', max)).toMatchObject({
      ok: false,
      errors: { energy: 'At most 4294967 kWh.' },
    });
    expect(validateOrder('buy', '1', '2000000', max)).toMatchObject({
      ok: false,
      errors: { price: 'At most 1000000 tokens per kWh.' },
    });
  });
});

describe('web config', () => {
  it('names every bad variable and never echoes the session secret', () => {
    try {
      webConfigFromEnv({ RPC_URL: 'nope', MARKET_ADDRESS: '0x12', SESSION_SECRET: 'short-secret', DATA_SOURCE: 'csv' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(WebConfigError);
      const text = (error as Error).message;
      for (const name of ['RPC_URL', 'MARKET_ADDRESS', 'SESSION_SECRET']) expect(text).toContain(name);
      expect(text).toContain('RELAYER_URL: is required');
      expect(text).not.toContain('short-secret');
    }
    const base = {
      RPC_URL: 'http://127.0.0.1:8545',
      MARKET_ADDRESS: `0x${'ab'.repeat(20)}`,
      RELAYER_URL: 'http://127.0.0.1:9',
    };
    expect(() => webConfigFromEnv({ ...base, DATA_SOURCE: 'csv' })).toThrow(
      /DATA_CSV_PATH: DATA_SOURCE=csv needs DATA_CSV_PATH/,
    );
  });
  it('takes defaults and booleans as words', () => {
    const c = webConfigFromEnv({
      RPC_URL: 'http://127.0.0.1:8545',
      MARKET_ADDRESS: `0x${'ab'.repeat(20)}`,
      RELAYER_URL: 'http://127.0.0.1:9465',
      DEMO_WALLETS: 'false',
    });
    expect(c).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      dataSource: 'simulated',
      demoWallets: false,
      sessionTtlS: 3600,
    });
  });
});

describe('household data sources', () => {
  const home = {
    account: `0x${'11'.repeat(20)}` as Address,
    pvPeakW: 8000n,
    batteryPowerW: 3000n,
    batteryCapacityWh: 10_000n,
  };
  const noon = 1_780_012_800 + 12 * 3600;

  it('simulated: consumption all day, production only by day, a battery within its capacity', async () => {
    const s = SimulatedHouseholdData.fromSeed(7);
    const day = await s.history(home, noon - 12 * 3600, 24);
    expect(day).toHaveLength(24);
    expect(day.every((x) => x.consumptionWh > 0)).toBe(true);
    expect(day[0]!.productionWh).toBe(0); // midnight
    expect(day[12]!.productionWh).toBeGreaterThan(5000); // noon, 8 kW peak
    const f = await s.forecast(home, noon, 2);
    expect(f.map((x) => x.start)).toEqual([noon, noon + 3600]);
    const b = await s.battery(home, noon + 60);
    expect(b!.chargeWh).toBeGreaterThanOrEqual(0);
    expect(b!.chargeWh).toBeLessThanOrEqual(10_000);
    expect(await s.battery({ ...home, batteryCapacityWh: 0n }, noon)).toBeNull();
  });

  it('csv: rows of the prosumer in range, the last battery reading, clear errors for bad rows', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'web-csv-'));
    const file = path.join(dir, 'homes.csv');
    const other = `0x${'22'.repeat(20)}`;
    await writeFile(
      file,
      [
        'prosumer,hour,consumptionWh,productionWh,batteryWh',
        `${home.account},${noon - 3600},400,2500,6000`,
        `${home.account},${noon},450,2600,`,
        `${other},${noon},1,1,1`,
      ].join('\n'),
    );
    const s = new CsvHouseholdData(file);
    expect(await s.history(home, noon - 3600, 1)).toEqual([
      { start: noon - 3600, consumptionWh: 400, productionWh: 2500 },
    ]);
    expect(await s.forecast(home, noon, 12)).toEqual([{ start: noon, consumptionWh: 450, productionWh: 2600 }]);
    expect(await s.battery(home, noon + 10)).toEqual({ chargeWh: 6000, at: noon });
    expect(() => parseHouseholdCsv('prosumer,hour,consumptionWh,productionWh\n0x12,0,1,1')).toThrow(/not an address/);
    expect(() => parseHouseholdCsv(`prosumer,hour,consumptionWh,productionWh\n${other},100,1,1`)).toThrow(
      /start of an hour/,
    );
    expect(() => parseHouseholdCsv('a,b\n')).toThrow(/header/);
    await rm(dir, { recursive: true, force: true });
  });

  it('http: asks the back end with prosumer, from and hours; refuses a malformed answer', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(req.url ?? '');
      const url = new URL(req.url ?? '/', 'http://x');
      const body =
        url.pathname === '/meters/battery'
          ? { chargeWh: 4200, at: noon }
          : url.pathname === '/meters/history'
            ? { hours: [{ start: noon - 3600, consumptionWh: 300, productionWh: 1200 }] }
            : { hours: [{ start: noon, consumptionWh: -1, productionWh: 0 }] };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const s = new HttpHouseholdData(`http://127.0.0.1:${(server.address() as AddressInfo).port}/meters/`);
    try {
      expect(await s.history(home, noon - 3600, 1)).toEqual([
        { start: noon - 3600, consumptionWh: 300, productionWh: 1200 },
      ]);
      expect(await s.battery(home, noon)).toEqual({ chargeWh: 4200, at: noon });
      await expect(s.forecast(home, noon, 12)).rejects.toThrow(/malformed forecast answer/);
      expect(seen[0]).toBe(`/meters/history?prosumer=${home.account}&from=${noon - 3600}&hours=1`);
    } finally {
      server.close();
    }
  });
});
