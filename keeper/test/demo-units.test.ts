import { afterEach, describe, expect, it, vi } from 'vitest';
import { minWindowSeconds, windowProblem } from '../dev/demo-chain.js';
import { community, DEMO_HOUR_S, MINT_CET } from '../dev/demo-community.js';
import { HonestHomeMeters } from '../dev/demo-meters.js';
import { DemoConsole } from '../dev/demo-say.js';
import { tableRow } from '../dev/demo-table.js';
import { TOKEN_UNIT } from '../src/constants.js';
import { SimulatedForecasts } from '../src/forecasts/simulated.js';
import { SimulatedMeters } from '../src/meters/simulated.js';
import { SimulatedPlans } from '../src/plans/simulated.js';

describe('the demo community and its hours', () => {
  const homes = community(20);
  const contexts = homes.map((m) => ({
    account: m.account.address,
    pvPeakW: m.pvPeakW,
    batteryPowerW: m.batteryPowerW,
    batteryCapacityWh: m.batteryCapacityWh,
  }));
  const hourOf = (w: bigint) => Number((6n + w) % 24n); // window 0 is 06:00, as in the demo
  const nets = async (w: bigint) => {
    const forecasts = await new SimulatedForecasts(7, hourOf).fetch([w], DEMO_HOUR_S, contexts);
    const plans = await new SimulatedPlans(7, hourOf).fetch([w], DEMO_HOUR_S, contexts);
    return forecasts.map(
      (f, i) => Number(f.productionWh) - Number(f.consumptionWh) + Number(plans[i]?.energyWh as bigint),
    );
  };

  it('trades an hour of 20 homes: kWh, not the Wh of a 20-second slice', async () => {
    const at8 = await nets(2n); // 08:00
    const bought = -at8.filter((n) => n < 0).reduce((a, b) => a + b, 0);
    const sold = at8.filter((n) => n > 0).reduce((a, b) => a + b, 0);
    expect(bought / 1000).toBeGreaterThan(2); // kWh
    expect(sold / 1000).toBeGreaterThan(10);
    expect(sold / 1000).toBeLessThan(100);
  });

  it('mints each home enough CET for 48 hours of its import at 40 CET/kWh', async () => {
    const imported = new Array<number>(homes.length).fill(0);
    for (let w = 0n; w < 48n; w++) {
      for (const [i, n] of (await nets(w)).entries()) imported[i] = (imported[i] ?? 0) + (n < 0 ? -n : 0);
    }
    const worstCET = (Math.max(...imported) / 1000) * 40;
    expect(worstCET).toBeGreaterThan(500); // the 500 CET of before would not have lasted
    expect(MINT_CET * TOKEN_UNIT).toBeGreaterThan(BigInt(Math.ceil(worstCET)) * TOKEN_UNIT);
  });
});

describe('the demo checks its window length against the chain', () => {
  it('needs time to open a window, then ORDER_LEAD_S and a block for the orders', () => {
    expect(minWindowSeconds(1)).toBe(8);
    expect(minWindowSeconds(2)).toBe(10);
    expect(minWindowSeconds(3)).toBe(12);
    expect(windowProblem(10, 1, 10)).toBeUndefined();
    expect(windowProblem(20, 2, 20)).toBeUndefined();
    expect(windowProblem(10, 3, 10)).toMatch(/too short for this chain's 3 s blocks.*DEMO_WINDOW_SECONDS=12 or more/);
    expect(windowProblem(20, 30, 20)).toMatch(/DEMO_WINDOW_SECONDS=66 or more/);
    expect(windowProblem(10, undefined, 10)).toMatch(/no new block in 10 s.*--block-time 1/);
  });
});

describe('the demo table', () => {
  it('shows the cleared energy in kWh with two decimals', () => {
    const row = tableRow({
      index: 2,
      hour: '07:00',
      bids: 7,
      asks: 9,
      clearingPrice: 19_800_000_000_000_000_000n,
      clearedEnergyWh: 5584n,
      trades: 14,
      accepted: 12,
      reasons: new Map([['SellerShortfall', 2]]),
    });
    expect(row).toBe(
      '       2  07:00     7     9          19.80         5.58      14        12         2 (2 SellerShortfall)',
    );
  });
});

describe("the demo's meters: homes that keep their word", () => {
  const meters = new SimulatedMeters(7, () => 6);
  const home = (batteryPowerW: bigint) => ({
    account: '0x00000000000000000000000000000000000000aa' as const,
    pvPeakW: 8000n,
    batteryPowerW,
    batteryCapacityWh: 2n * batteryPowerW,
  });

  it('make up a shortfall from the battery, within its spare power over the hour', async () => {
    const measured = meters.flows(0n, DEMO_HOUR_S, home(3000n), true);
    const honest = new HonestHomeMeters(meters);
    const [sold] = await honest.fetch(0n, DEMO_HOUR_S, [{ ...home(3000n), soldWh: measured.exportWh + 500n }]);
    expect(sold?.exportWh).toBe(measured.exportWh + 500n);
    const [oversold] = await honest.fetch(0n, DEMO_HOUR_S, [{ ...home(3000n), soldWh: measured.exportWh + 5000n }]);
    expect(oversold?.exportWh).toBe(measured.exportWh + 2100n); // 70 % of 3 kW for an hour
    const [bought] = await honest.fetch(0n, DEMO_HOUR_S, [{ ...home(3000n), boughtWh: measured.importWh + 800n }]);
    expect(bought?.importWh).toBe(measured.importWh + 800n);
  });

  it('measure a home without a battery as it is', async () => {
    const measured = meters.flows(0n, DEMO_HOUR_S, home(0n), true);
    const [r] = await new HonestHomeMeters(meters).fetch(0n, DEMO_HOUR_S, [
      { ...home(0n), soldWh: measured.exportWh + 500n },
    ]);
    expect(r).toEqual({ prosumer: home(0n).account, importWh: measured.importWh, exportWh: measured.exportWh });
  });
});

describe('the demo console', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('says what it waits for after 5 s of silence, again when that changes or after 30 s', () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => lines.push(line));
    const out = new DemoConsole();
    out.say('window 1 (06:00) open');
    const poll = (what: string, seconds: number) => {
      for (let s = 0; s < seconds * 2; s++) {
        vi.advanceTimersByTime(500);
        out.waiting(what);
      }
    };
    poll('window 1 (06:00) to close', 4);
    expect(lines).toHaveLength(1);
    poll('window 1 (06:00) to close', 2);
    expect(lines.at(-1)).toMatch(/waiting for window 1 \(06:00\) to close…$/);
    poll('window 1 (06:00) to close', 20);
    expect(lines).toHaveLength(2);
    poll('window 1 (06:00) to settle', 6);
    expect(lines.at(-1)).toMatch(/to settle…$/);
    poll('window 1 (06:00) to settle', 31);
    expect(lines).toHaveLength(4);
  });
});
