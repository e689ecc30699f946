import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeeperApp } from '../src/app.js';
import { HOUR, setupMarket, type Fixture } from './fixture.js';
import { TOKEN_UNIT as TOKEN } from '../src/constants.js';

const OUTSIDER = '0x000000000000000000000000000000000000dEaD';

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

describe('bad meter readings are refused with the reason and never reach the chain', () => {
  let f: Fixture;
  let dir: string;
  let server: Server | undefined;

  // Prosumers 0..3 buy, 4..7 sell; two windows cleared with four trades each, delivery hours over
  // (the csv test uses the first, the http test the second).
  beforeAll(async () => {
    f = await setupMarket({ prosumers: 8 });
    dir = await mkdtemp(path.join(tmpdir(), 'readings-'));
    const boot = await createKeeperApp(f.keeperConfig({ READINGS: 'false' }), { serve: false });
    for (const w of [f.start, f.start + HOUR]) {
      await f.setTime(w + 5n);
      await boot.keeper.tick();
      for (let i = 0; i < 4; i++) {
        await f.placeOrder(f.prosumers[i]!, w, 0, 100n, 30n * TOKEN);
        await f.placeOrder(f.prosumers[4 + i]!, w, 1, 100n, 20n * TOKEN);
      }
    }
    await f.setTime(f.start + 2n * HOUR + 5n);
    await boot.keeper.tick();
    await f.setTime(f.start + 3n * HOUR + 5n);
    await boot.shutdown(0);
  });

  afterAll(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await f?.stop();
  });

  /** One good reading (prosumer 0) and one bad reading of each kind. */
  function rows(): [string, unknown, unknown][] {
    const p = f.prosumers.map((x) => x.address);
    return [
      [p[0]!, 100, 0],
      [p[1]!, -5, 0],
      [p[2]!, '12.5', 0],
      [p[4]!, 0, 10_000_000],
      [p[5]!, 999_999_999, 0],
      [OUTSIDER, 100, 0],
      [p[0]!, 100, 0],
      [p[6]!, 'abc', 0],
      [p[7]!, 2n ** 40n, 0],
    ].map(([a, i, e]) => [a as string, i, e]) as [string, unknown, unknown][];
  }

  async function runWith(env: Record<string, string>) {
    const { logger, lines } = capturingLogger();
    const app = await createKeeperApp(f.keeperConfig({ ...env, READINGS_BATCH: '50' }), { serve: false, logger });
    await app.keeper.tick();
    await app.shutdown(0);
    return { app, lines };
  }

  it('csv source', async () => {
    const file = path.join(dir, 'readings.csv');
    const other = f.start + HOUR;
    // The last row belongs to another window and is ignored for this one.
    const body = [
      'prosumer,window,importWh,exportWh',
      ...rows().map((r) => `${r[0]},${f.start},${String(r[1])},${String(r[2])}`),
      `${f.prosumers[3]!.address},${other + 7n * HOUR},100,0`,
    ].join('\n');
    await writeFile(file, body);
    const { app, lines } = await runWith({ METER_SOURCE: 'csv', METER_CSV_PATH: file });
    await assertOutcome(app, lines, f.start);
  });

  it('http source', async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      res.writeHead(200, { 'content-type': 'application/json' });
      const readings =
        url.searchParams.get('window') === String(f.start + HOUR)
          ? rows().map(([prosumer, importWh, exportWh]) => ({
              prosumer,
              importWh: typeof importWh === 'bigint' ? Number(importWh) : importWh,
              exportWh,
            }))
          : [];
      res.end(JSON.stringify({ window: url.searchParams.get('window'), readings }));
    });
    await new Promise<void>((r) => server?.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    const { app, lines } = await runWith({ METER_SOURCE: 'http', METER_HTTP_URL: `http://127.0.0.1:${port}/readings` });
    await assertOutcome(app, lines, f.start + HOUR);
  });

  async function assertOutcome(
    app: Awaited<ReturnType<typeof createKeeperApp>>,
    lines: Record<string, unknown>[],
    w: bigint,
  ) {
    const reading = (i: number) => app.reader.reading(w, f.prosumers[i]!.address);
    expect(await reading(0)).toEqual({ submitted: true, importWh: 100n, exportWh: 0n });
    for (const i of [1, 2, 3, 4, 5, 6, 7]) expect((await reading(i)).submitted).toBe(false);
    const refused = lines
      .filter((l) => l.msg === 'reading refused; not submitted' && l.windowId === w.toString())
      .map((l) => [l.prosumer, l.reason]);
    const p = f.prosumers.map((x) => x.address);
    expect(refused).toEqual(
      expect.arrayContaining([
        [p[1], 'negative'],
        [p[2], 'not_integer'],
        [p[4], 'implausible_export'],
        [p[5], 'implausible_import'],
        [OUTSIDER, 'unknown_prosumer'],
        [p[0], 'duplicate'],
        [p[6], 'not_integer'],
        [p[7], 'out_of_range'],
      ]),
    );
    const body = await app.metrics.registry.metrics();
    expect(body).toContain('keeper_readings_rejected_total{reason="negative"} 1');
    expect(body).toContain('keeper_readings_rejected_total{reason="duplicate"} 1');
    expect(body).toContain('keeper_readings_submitted_total 1');
  }
});
