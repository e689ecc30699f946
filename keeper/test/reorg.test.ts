import { createTestClient, http } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { energyMarketAbi } from '@p2p-energy/sdk';
import { createKeeperApp, type KeeperApp } from '../src/app.js';
import { makeChain } from '../src/chain.js';
import { setupMarket, type Fixture } from './fixture.js';
import { until } from './process.js';

describe('CONFIRMATIONS > 1 and a reorg', () => {
  let f: Fixture;
  let app: KeeperApp;
  let miner: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    f = await setupMarket({ prosumers: 1 });
    app = await createKeeperApp(f.keeperConfig({ CONFIRMATIONS: '3', TX_TIMEOUT_MS: '3000' }), { serve: false });
    await app.keeper.startupChecks();
  });

  afterAll(async () => {
    clearInterval(miner);
    await app?.shutdown(0);
    await f?.stop();
  });

  it('re-reads the receipt at the confirmation depth and re-sends a transaction the reorg dropped', async () => {
    const test = createTestClient({
      chain: makeChain(f.anvil.chainId, f.anvil.url),
      transport: http(f.anvil.url),
      mode: 'anvil',
    });
    await f.setTime(f.start + 5n);
    const nonce = await f.publicClient.getTransactionCount({ address: app.sender.address });
    const tick = app.keeper.tick();
    const first = await until(
      'openWindow mined',
      async () => {
        const hash = app.sender.inFlight[0];
        return hash && (await f.publicClient.getTransactionReceipt({ hash }).catch(() => undefined));
      },
      20_000,
    );
    // The block holding openWindow is replaced by an empty one: the transaction is gone.
    const reorg = { jsonrpc: '2.0', id: 1, method: 'anvil_reorg', params: [1, []] };
    const answer = await fetch(f.anvil.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(reorg),
    });
    expect(((await answer.json()) as { error?: unknown }).error).toBeUndefined();
    await expect(f.publicClient.getTransactionReceipt({ hash: first.transactionHash })).rejects.toThrow(
      /could not be found/,
    );
    miner = setInterval(() => void test.mine({ blocks: 1 }).catch(() => undefined), 200);
    await tick;
    clearInterval(miner);

    expect((await app.reader.window(f.start)).status).toBe('Open');
    const opened = await f.publicClient.getContractEvents({
      address: f.deployment.market,
      abi: energyMarketAbi,
      eventName: 'WindowOpened',
      fromBlock: 0n,
    });
    expect(opened).toHaveLength(1);
    const tx = await f.publicClient.getTransaction({ hash: opened[0]!.transactionHash });
    expect(tx.nonce).toBe(nonce); // the same nonce, no gap
    expect(opened[0]!.blockNumber).toBeGreaterThan(first.blockNumber);
  }, 120_000);
});
