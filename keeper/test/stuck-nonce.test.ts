import { createTestClient, createWalletClient, http, type Hash } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANVIL_KEYS } from '../dev/test-keys.js';
import { createKeeperApp, type KeeperApp } from '../src/app.js';
import { makeChain } from '../src/chain.js';
import { metricValue, setupMarket, type Fixture } from './fixture.js';
import { until } from './process.js';

describe('restart after a crash that left a transaction in the mempool', () => {
  let f: Fixture;
  let app: KeeperApp;

  beforeAll(async () => {
    f = await setupMarket({ prosumers: 1 });
  });

  afterAll(async () => {
    await app?.shutdown(0);
    await f?.stop();
  });

  it('replaces the stuck transaction at its nonce (fees bumped) instead of queueing behind it', async () => {
    const chain = makeChain(f.anvil.chainId, f.anvil.url);
    const transport = http(f.anvil.url);
    const test = createTestClient({ chain, transport, mode: 'anvil' });
    const keeperAccount = privateKeyToAccount(ANVIL_KEYS[1]);
    const wallet = createWalletClient({ chain, transport, account: keeperAccount });
    const nonce = await f.publicClient.getTransactionCount({ address: keeperAccount.address });
    const block = await f.publicClient.getBlock();
    await test.setAutomine(false);
    // What the crashed run left behind: a transaction at `nonce`, priced too low to be mined soon.
    const stuck: Hash = await wallet.sendTransaction({
      to: keeperAccount.address,
      value: 1n,
      nonce,
      gas: 21_000n,
      maxFeePerGas: (block.baseFeePerGas ?? 1n) + 1n,
      maxPriorityFeePerGas: 1n,
    });
    expect(await f.publicClient.getTransactionCount({ address: keeperAccount.address, blockTag: 'pending' })).toBe(
      nonce + 1,
    );

    app = await createKeeperApp(f.keeperConfig({ TX_TIMEOUT_MS: '2000' }), { serve: false });
    const checks = app.keeper.startupChecks();
    // The replacement evicts the stuck transaction from the pool.
    await until(
      'stuck transaction replaced',
      async () =>
        f.publicClient.getTransaction({ hash: stuck }).then(
          () => false,
          () => true,
        ),
      20_000,
      100,
    );
    await test.mine({ blocks: 1 });
    await test.setAutomine(true);
    await checks;

    const mined = await f.publicClient.getBlock({ blockTag: 'latest', includeTransactions: true });
    const replacement = mined.transactions.find((t) => t.from.toLowerCase() === keeperAccount.address.toLowerCase());
    expect(replacement?.nonce).toBe(nonce);
    expect(replacement?.hash).not.toBe(stuck);
    expect(replacement!.maxPriorityFeePerGas! * 1000n).toBeGreaterThanOrEqual(1n * 1125n);
    expect(await f.publicClient.getTransactionCount({ address: keeperAccount.address })).toBe(nonce + 1);
    expect(
      metricValue(await app.metrics.registry.metrics(), 'keeper_transactions_replaced_total'),
    ).toBeGreaterThanOrEqual(1);

    // And the keeper goes on at the next nonce.
    await f.setTime(f.start + 5n);
    await app.keeper.tick();
    expect((await app.reader.window(f.start)).status).toBe('Open');
    expect(await f.publicClient.getTransactionCount({ address: keeperAccount.address })).toBeGreaterThanOrEqual(
      nonce + 2,
    );
  });
});
