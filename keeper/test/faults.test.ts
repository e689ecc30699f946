import type { AddressInfo } from 'node:net';
import { createTestClient, http } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeeperApp, type KeeperApp } from '../src/app.js';
import { makeChain } from '../src/chain.js';
import { HOUR, metricValue, setupMarket, type Fixture } from './fixture.js';
import { until } from './process.js';
import { RpcProxy } from './proxy.js';

describe('RPC outage', () => {
  let f: Fixture;
  let app: KeeperApp;
  let proxy: RpcProxy;

  beforeAll(async () => {
    f = await setupMarket({ prosumers: 2 });
    proxy = new RpcProxy(f.anvil.port);
    await proxy.up();
    app = await createKeeperApp(f.keeperConfig({ RPC_URL: proxy.url }));
    await app.keeper.startupChecks();
  });

  afterAll(async () => {
    await app?.shutdown(1000);
    await proxy?.down();
    await f?.stop();
  });

  it('goes unready while the RPC is down, then recovers and catches up', async () => {
    const port = (app.server?.address() as AddressInfo).port;
    const readyz = async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status;
    await f.setTime(f.start + 5n);
    void app.run();
    await until(
      'window opened',
      async () => (await app.reader.window(f.start).catch(() => undefined))?.status === 'Open',
    );
    await until('ready', async () => (await readyz()) === 200);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);

    await proxy.down();
    await f.setTime(f.start + HOUR + 5n); // a close and an open fall due while the keeper cannot see the chain
    await until('unready', async () => (await readyz()) === 503, 30_000);
    await new Promise((r) => setTimeout(r, 500));

    await proxy.up();
    await until('ready again', async () => (await readyz()) === 200, 30_000);
    await until(
      'caught up',
      async () =>
        (await app.reader.window(f.start)).status === 'Cleared' &&
        (await app.reader.window(f.start + HOUR)).status === 'Open',
      30_000,
    );
  });
});

describe('stuck transaction', () => {
  let f: Fixture;
  let app: KeeperApp;

  beforeAll(async () => {
    f = await setupMarket({ prosumers: 1 });
    app = await createKeeperApp(f.keeperConfig({ TX_TIMEOUT_MS: '700' }));
    await app.keeper.startupChecks();
  });

  afterAll(async () => {
    await app?.shutdown(0);
    await f?.stop();
  });

  it('is replaced at the same nonce with both fees raised by at least 12.5%', async () => {
    const chain = makeChain(f.anvil.chainId, f.anvil.url);
    const test = createTestClient({ chain, transport: http(f.anvil.url), mode: 'anvil' });
    await f.setTime(f.start + 5n);
    const signer = app.sender.address;
    const nonce = await f.publicClient.getTransactionCount({ address: signer });
    await test.setAutomine(false);
    const tick = app.keeper.tick();
    await until('first transaction pending', async () => app.sender.inFlight.length >= 1, 10_000);
    const first = await f.publicClient.getTransaction({ hash: app.sender.inFlight[0]! });
    await until('replaced', async () => app.sender.inFlight.length >= 2, 10_000);
    const hashes = [...app.sender.inFlight];
    await test.mine({ blocks: 1 });
    await test.setAutomine(true);
    await tick;

    const mined = await Promise.any(hashes.map((hash) => f.publicClient.getTransactionReceipt({ hash })));
    const tx = await f.publicClient.getTransaction({ hash: mined.transactionHash });
    expect(tx.nonce).toBe(nonce);
    expect(first.nonce).toBe(nonce);
    expect(mined.transactionHash).not.toBe(first.hash);
    expect(tx.maxFeePerGas! * 1000n).toBeGreaterThanOrEqual(first.maxFeePerGas! * 1125n);
    expect(tx.maxPriorityFeePerGas! * 1000n).toBeGreaterThanOrEqual(first.maxPriorityFeePerGas! * 1125n);
    expect((await app.reader.window(f.start)).status).toBe('Open');
    const body = await app.metrics.registry.metrics();
    expect(metricValue(body, 'keeper_transactions_replaced_total')).toBeGreaterThanOrEqual(1);
    expect(metricValue(body, 'keeper_transactions_sent_total')).toBe(1);
  });
});
