import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MarketReader } from '../src/chain.js';
import { HOUR, marketEvents, setupMarket, type Fixture } from './fixture.js';
import { spawnKeeper, until, type KeeperProcess } from './process.js';
import { TOKEN_UNIT as TOKEN } from '../src/constants.js';

const PAIRS = 14;

describe('keeper killed at any moment and restarted', () => {
  let f: Fixture;
  let reader: MarketReader;
  let running: KeeperProcess | undefined;
  const env = () => f.keeperEnv({ CLOSE_BATCH: '1', SETTLE_BATCH: '2', READINGS_BATCH: '3', LOG_LEVEL: 'info' });

  beforeAll(async () => {
    f = await setupMarket({
      prosumers: 2 * PAIRS,
      startHour: 11,
      assets: (i) => (i < PAIRS ? { pvPeakW: 300n, batteryPowerW: 200n } : { pvPeakW: 8000n, batteryPowerW: 3000n }),
    });
    reader = new MarketReader(f.publicClient, f.deployment.market);
  });

  afterAll(async () => {
    running?.child.kill('SIGKILL');
    await f?.stop();
  });

  it('neither repeats nor misses an action', async () => {
    const w0 = f.start;
    await f.setTime(w0 + 5n);
    running = spawnKeeper(env());
    await until('window opened', async () => (await reader.window(w0)).status === 'Open', 60_000);
    for (let i = 0; i < PAIRS; i++) {
      await f.placeOrder(f.prosumers[i]!, w0, 0, 50n, BigInt(40 - i) * TOKEN);
      await f.placeOrder(f.prosumers[PAIRS + i]!, w0, 1, 50n, BigInt(10 + i) * TOKEN);
    }

    // Kill it between batches of the close.
    await f.setTime(w0 + HOUR + 5n);
    await until('close in progress', async () => {
      const w = await reader.window(w0);
      return w.status === 'Closing' && w.tradeCount >= 2n;
    });
    running.child.kill('SIGKILL');
    await running.exited;
    expect((await reader.window(w0)).status).toBe('Closing');

    running = spawnKeeper(env());
    await until('cleared', async () => (await reader.window(w0)).status === 'Cleared');

    // Kill it between readings and settlement.
    await f.setTime(w0 + 2n * HOUR + 5n);
    await until('readings in progress', async () => (await reader.readingProgress(w0)).readings > 0n);
    running.child.kill('SIGKILL');
    await running.exited;

    running = spawnKeeper(env());
    await until('settled', async () => (await reader.window(w0)).status === 'Settled', 60_000);

    // A clean stop: SIGTERM, exit code 0.
    running.child.kill('SIGTERM');
    expect(await running.exited).toBe(0);
    running = undefined;

    const window = await reader.window(w0);
    expect(window.tradeCount).toBe(BigInt(PAIRS));
    const forW0 = <T extends { args: { windowId?: bigint } }>(events: T[]) =>
      events.filter((e) => e.args.windowId === w0);
    expect(forW0(await marketEvents(f, 'WindowOpened'))).toHaveLength(1);
    expect(forW0(await marketEvents(f, 'WindowCleared'))).toHaveLength(1);
    expect(forW0(await marketEvents(f, 'WindowSettled'))).toHaveLength(1);
    const matched = forW0(await marketEvents(f, 'TradeMatched')).map((e) => e.args.tradeIndex);
    expect(matched).toEqual(Array.from({ length: PAIRS }, (_, i) => BigInt(i)));
    const settled = forW0(await marketEvents(f, 'TradeSettled')).map((e) => e.args.tradeIndex);
    expect(settled).toEqual(Array.from({ length: PAIRS }, (_, i) => BigInt(i)));
    const readings = forW0(await marketEvents(f, 'MeterReadingSubmitted')).map((e) => e.args.prosumer);
    expect(readings).toHaveLength(2 * PAIRS);
    expect(new Set(readings).size).toBe(2 * PAIRS);
  });
});
