// Batches that do not fit are halved until they go through; a window whose action always fails is skipped for
// the tick and does not stop the other windows.
import { createTestClient, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterEach, describe, expect, it } from 'vitest';
import { ANVIL_KEYS } from '../dev/test-keys.js';
import { createKeeperApp, type KeeperApp } from '../src/app.js';
import { MarketReader, makeChain, makeClients } from '../src/chain.js';
import { Keeper } from '../src/keeper.js';
import { createLogger } from '../src/log.js';
import { SimulatedMeters } from '../src/meters/simulated.js';
import { KeeperMetrics } from '../src/metrics.js';
import { DeterministicError, TxSender, type SendResult, type WriteRequest } from '../src/tx.js';
import { HOUR, metricValue, setupMarket, type Fixture } from './fixture.js';
import { TOKEN_UNIT as TOKEN } from '../src/constants.js';

describe('batch sizes and failing windows', () => {
  let f: Fixture | undefined;
  let app: KeeperApp | undefined;

  afterEach(async () => {
    await app?.shutdown(0);
    await f?.stop();
    app = undefined;
    f = undefined;
  });

  it('halves close, readings and settle batches that do not fit in a block until they go through', async () => {
    const pairs = 10;
    f = await setupMarket({
      prosumers: 2 * pairs,
      assets: (i) => (i < pairs ? { pvPeakW: 300n, batteryPowerW: 200n } : { pvPeakW: 8000n, batteryPowerW: 3000n }),
    });
    const w0 = f.start;
    // Batches far too large for a block of 300,000 gas (close ~32k, readings ~31k, settle ~57k per item).
    app = await createKeeperApp(
      f.keeperConfig({ CLOSE_BATCH: '100000', SETTLE_BATCH: '100000', READINGS_BATCH: '1000' }),
      { serve: false },
    );
    await f.setTime(w0 + 5n);
    await app.keeper.tick();
    for (let i = 0; i < pairs; i++) {
      await f.placeOrder(f.prosumers[i]!, w0, 0, 50n, BigInt(40 - i) * TOKEN);
      await f.placeOrder(f.prosumers[pairs + i]!, w0, 1, 50n, BigInt(10 + i) * TOKEN);
    }
    const chain = makeChain(f.anvil.chainId, f.anvil.url);
    const testClient = createTestClient({ chain, transport: http(f.anvil.url), mode: 'anvil' });
    const limit = 300_000n;
    await testClient.setBlockGasLimit({ gasLimit: limit });

    await f.setTime(w0 + HOUR + 5n);
    await app.keeper.tick();
    const cleared = await app.reader.window(w0);
    expect(cleared.status).toBe('Cleared');
    expect(cleared.tradeCount).toBe(BigInt(pairs));
    await f.setTime(w0 + 2n * HOUR + 5n);
    await app.keeper.tick();
    expect((await app.reader.readingProgress(w0)).readings).toBe(BigInt(2 * pairs));
    expect((await app.reader.window(w0)).status).toBe('Settled');

    const body = await app.metrics.registry.metrics();
    if (process.env.DEBUG_KEEPER)
      console.log(
        body
          .split('\n')
          .filter((l) => /halvings|actions_total/.test(l))
          .join('\n'),
      );
    for (const action of ['close', 'readings', 'settle']) {
      expect(metricValue(body, `keeper_batch_halvings_total{action="${action}"}`)).toBeGreaterThan(0);
      expect(metricValue(body, `keeper_actions_total{action="${action}",result="success"}`)).toBeGreaterThan(1);
    }
    expect(body).not.toContain('keeper_windows_skipped_total{');
    expect(metricValue(body, 'keeper_oldest_due_action_overdue_seconds')).toBe(0);
    // Every block stayed within the limit (the keeper never sent more gas than a block holds).
    const head = await f.publicClient.getBlockNumber({ cacheTime: 0 });
    const block = await f.publicClient.getBlock({ blockNumber: head });
    expect(block.gasUsed).toBeLessThanOrEqual(limit);
  });

  it('skips a window whose settlement always fails for the tick; the others are still closed and settled', async () => {
    f = await setupMarket({ prosumers: 4 });
    const config = f.keeperConfig({ SETTLE_BATCH: '4' });
    const w0 = f.start;
    const metrics = new KeeperMetrics();
    const log = createLogger('silent', config.chainId);
    const clients = makeClients(config, privateKeyToAccount(ANVIL_KEYS[1]));
    const reader = new MarketReader(clients.public, f.deployment.market);
    /** Settling w0 always reverts (as if one of its trades could never be settled). */
    class FailingSender extends TxSender {
      override async send(request: WriteRequest): Promise<SendResult> {
        if (request.functionName === 'settleWindow' && request.windowId === w0)
          throw new DeterministicError('injected revert', undefined);
        return super.send(request);
      }
    }
    const sender = new FailingSender(clients, config, metrics, log);
    const keeper = new Keeper(config, clients, reader, sender, new SimulatedMeters(1), metrics, log);
    const orders = async (w: bigint) => {
      await f!.placeOrder(f!.prosumers[0]!, w, 0, 100n, 30n * TOKEN);
      await f!.placeOrder(f!.prosumers[2]!, w, 1, 100n, 20n * TOKEN);
    };

    await f.setTime(w0 + 5n);
    await keeper.tick();
    await orders(w0);
    await f.setTime(w0 + HOUR + 5n);
    await keeper.tick();
    await orders(w0 + HOUR);
    await f.setTime(w0 + 2n * HOUR + 5n);
    await keeper.tick(); // w0: readings, settle fails
    await orders(w0 + 2n * HOUR);
    // Now due: w0 settle (fails again), w1 readings + settle, w2 close, w3 open.
    await f.setTime(w0 + 3n * HOUR + 5n);
    await keeper.tick();

    expect((await reader.window(w0)).status).toBe('Cleared');
    expect((await reader.window(w0 + HOUR)).status).toBe('Settled');
    expect((await reader.window(w0 + 2n * HOUR)).status).toBe('Cleared');
    expect((await reader.window(w0 + 3n * HOUR)).status).toBe('Open');
    const body = await metrics.registry.metrics();
    expect(metricValue(body, 'keeper_windows_skipped_total{action="settle"}')).toBe(2); // once per tick
    expect(metricValue(body, 'keeper_batch_halvings_total{action="settle"}')).toBe(4); // 4 → 2 → 1, twice
    expect(metricValue(body, 'keeper_oldest_due_action_overdue_seconds')).toBeGreaterThan(3600);
  });
});
