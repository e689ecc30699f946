import type { AddressInfo } from 'node:net';
import { createTestClient, http } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeeperApp, type KeeperApp } from '../src/app.js';
import { makeChain } from '../src/chain.js';
import { setupMarket, type Fixture } from './fixture.js';
import { until } from './process.js';

describe('/healthz and /readyz', () => {
  let f: Fixture;
  let app: KeeperApp;
  const status = async (path: string) =>
    (await fetch(`http://127.0.0.1:${(app.server?.address() as AddressInfo).port}${path}`)).status;

  beforeAll(async () => {
    f = await setupMarket({ prosumers: 1 });
    app = await createKeeperApp(f.keeperConfig({ READY_PROGRESS_MS: '1500', TX_TIMEOUT_MS: '30000' }));
  });

  afterAll(async () => {
    await app?.shutdown(0);
    await f?.stop();
  });

  it('is alive during the start-up checks and ready once they passed', async () => {
    expect(await status('/healthz')).toBe(200); // a liveness probe must not kill a slow start
    expect(await status('/readyz')).toBe(503);
    await app.keeper.startupChecks();
    expect(await status('/readyz')).toBe(200);
  });

  it('stays ready through a long action that makes progress, and goes unready when nothing moves', async () => {
    const test = createTestClient({
      chain: makeChain(f.anvil.chainId, f.anvil.url),
      transport: http(f.anvil.url),
      mode: 'anvil',
    });
    await f.setTime(f.start + 5n);
    await test.setAutomine(false);
    const tick = app.keeper.tick(); // sends openWindow, which stays pending: the tick cannot complete
    await until('sent', async () => app.sender.inFlight.length >= 1, 10_000);
    await new Promise((r) => setTimeout(r, 2_500)); // longer than READY_PROGRESS_MS, no tick completed
    expect(await status('/readyz')).toBe(200); // the receipt polls answer: the keeper is making progress
    await test.mine({ blocks: 1 });
    await test.setAutomine(true);
    await tick;
    expect((await app.reader.window(f.start)).status).toBe('Open');
    await new Promise((r) => setTimeout(r, 2_000)); // no loop running: no progress within the bound
    expect(await status('/readyz')).toBe(503);
    expect(await status('/healthz')).toBe(200);
    await app.keeper.tick();
    expect(await status('/readyz')).toBe(200);
  });
});
