import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANVIL_KEYS } from '../dev/test-keys.js';
import { createKeeperApp } from '../src/app.js';
import { setupMarket, type Fixture } from './fixture.js';
import { spawnKeeper } from './process.js';

describe('keeper CLI start-up', () => {
  let f: Fixture;

  beforeAll(async () => {
    f = await setupMarket({ prosumers: 1 });
  });

  afterAll(async () => {
    await f?.stop();
  });

  const run = async (env: Record<string, string>, args: string[] = []) => {
    const k = spawnKeeper(env, args);
    const code = await k.exited;
    return { code, output: k.output() };
  };

  it('fails with a clear message and a non-zero exit when a check fails', async () => {
    // 1337: another local chain id, so the simulated meters pass the config and the RPC check is reached.
    const wrongChain = await run(f.keeperEnv({ CHAIN_ID: '1337' }));
    expect(wrongChain.code).toBe(1);
    expect(wrongChain.output).toContain(`RPC is chain ${f.anvil.chainId}, config says CHAIN_ID=1337`);

    const noCode = await run(f.keeperEnv({ MARKET_ADDRESS: '0x000000000000000000000000000000000000bEEF' }));
    expect(noCode.code).toBe(1);
    expect(noCode.output).toContain('no contract at MARKET_ADDRESS');

    const notOracle = await run(f.keeperEnv({ PRIVATE_KEY: ANVIL_KEYS[3] }));
    expect(notOracle.code).toBe(1);
    expect(notOracle.output).toContain('lacks ORACLE_ROLE');

    const poor = await run(f.keeperEnv({ MIN_BALANCE_WEI: (10n ** 30n).toString() }));
    expect(poor.code).toBe(1);
    expect(poor.output).toContain('below MIN_BALANCE_WEI');

    const badConfig = await run(f.keeperEnv({ CONFIRMATIONS: '0' }));
    expect(badConfig.code).toBe(2);
    expect(badConfig.output).toContain('CONFIRMATIONS (--confirmations)');
    expect(badConfig.output).not.toContain(ANVIL_KEYS[1].slice(2));
  });

  it('refuses to start without a meter source, or with simulated meters on a chain not known for tests', async () => {
    const { METER_SOURCE: _chosen, ...unset } = f.keeperEnv();
    const none = await run(unset);
    expect(none.code).toBe(2);
    expect(none.output).toContain('METER_SOURCE (--meter-source): required while READINGS=true');
    // The config is checked before any RPC: CHAIN_ID 100 (Gnosis) with simulated meters never gets that far.
    const real = await run(f.keeperEnv({ CHAIN_ID: '100' }));
    expect(real.code).toBe(2);
    expect(real.output).toContain('chain 100 is not a known local or test chain');
    for (const out of [none.output, real.output]) expect(out).not.toContain(ANVIL_KEYS[1].slice(2));
  });

  it('warns in its log that the readings are simulated when it runs with them', async () => {
    const ran = await run(f.keeperEnv({ LOG_LEVEL: 'info', MAX_TICKS: '1' }));
    expect(ran.code).toBe(0);
    expect(ran.output).toMatch(/"level":"warn".*METER_SOURCE=simulated: the readings are invented/);
    expect(ran.output).not.toContain(ANVIL_KEYS[1].slice(2));
  });

  it('--dry-run simulates and logs without sending', async () => {
    await f.setTime(f.start + 5n);
    const app = await createKeeperApp(f.keeperConfig({ DRY_RUN: 'true' }), { serve: false });
    await app.keeper.startupChecks();
    const nonce = await f.publicClient.getTransactionCount({ address: app.sender.address });
    await app.keeper.tick();
    expect((await app.reader.window(f.start)).status).toBe('None');
    expect(await f.publicClient.getTransactionCount({ address: app.sender.address })).toBe(nonce);
    expect(await app.metrics.registry.metrics()).toContain('keeper_actions_total{action="open",result="dry_run"} 1');
    await app.shutdown(0);
  });
});
