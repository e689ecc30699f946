// `keeper agent` as a process of its own beside a keeper process with the relayer: it places the households'
// orders from CSV inputs; killed with SIGKILL and restarted, it places nothing again; SIGTERM exits 0.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { toHex, type Address } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { energyMarketAbi } from '@p2p-energy/sdk';
import { TEST_MNEMONIC as MNEMONIC } from '../dev/test-keys.js';
import { TOKEN_UNIT as TOKEN } from '../src/constants.js';
import { MarketReader } from '../src/chain.js';
import { chainClient } from './chain-client.js';
import { setupMarket, type Fixture } from './fixture.js';
import { writeKeystoreFile } from './keystore-helper.js';
import { spawnCli, spawnKeeper, until, type KeeperProcess } from './process.js';

const spawnAgent = (env: Record<string, string>): KeeperProcess => spawnCli('agent', env);

describe('keeper agent (process)', () => {
  let f: Fixture;
  let dir: string;
  let keeper: KeeperProcess | undefined;
  let agent: KeeperProcess | undefined;
  const relayerPort = 20_000 + Math.floor(Math.random() * 20_000);

  beforeAll(async () => {
    f = await setupMarket({ prosumers: 3, startHour: 11, gasless: true });
    dir = await mkdtemp(path.join(tmpdir(), 'agent-process-'));
  });

  afterAll(async () => {
    agent?.child.kill('SIGKILL');
    keeper?.child.kill('SIGKILL');
    await f?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('places once per window across a kill -9', async () => {
    const w = f.start;
    const reader = new MarketReader(chainClient(f), f.deployment.market);
    const addr = (i: number): Address => f.prosumers[i]!.address;
    const nonce = (i: number) =>
      f.publicClient.readContract({
        address: f.deployment.market,
        abi: energyMarketAbi,
        functionName: 'orderNonce',
        args: [w, addr(i)],
      });
    await f.setTime(w + 5n);
    keeper = spawnKeeper(
      f.keeperEnv({
        RELAYER: 'true',
        RELAYER_PORT: String(relayerPort),
        RELAY_INTERVAL_MS: '200',
        RELAY_JOURNAL_PATH: path.join(dir, 'journal.jsonl'),
      }),
    );
    await until('window open', async () => (await reader.window(w)).status === 'Open');

    const households = [];
    for (let i = 0; i < 3; i++) {
      const key = toHex(mnemonicToAccount(MNEMONIC, { addressIndex: 100 + i }).getHdKey().privateKey as Uint8Array);
      await writeKeystoreFile(path.join(dir, `h${i}.json`), key, `secret-pw-${i}`);
      households.push({
        keystore: `h${i}.json`,
        passwordEnv: `H${i}_PASSWORD`,
        mode: i === 2 ? 'manual' : 'auto',
        price: { strategy: 'fixed', pricePerKWh: ((i === 0 ? 24n : 19n) * TOKEN).toString() },
      });
    }
    await writeFile(path.join(dir, 'households.json'), JSON.stringify({ households }));
    await writeFile(
      path.join(dir, 'f.csv'),
      ['prosumer,window,consumptionWh,productionWh', `${addr(0)},${w},2000,0`, `${addr(1)},${w},0,3000`].join('\n'),
    );
    await writeFile(
      path.join(dir, 'p.csv'),
      ['prosumer,window,device,energyWh', `${addr(0)},${w},battery,500`, `${addr(1)},${w},battery,-1000`].join('\n'),
    );
    const env = {
      RPC_URL: f.anvil.url,
      CHAIN_ID: String(f.anvil.chainId),
      MARKET_ADDRESS: f.deployment.market,
      RELAYER_URL: `http://127.0.0.1:${relayerPort}`,
      AGENT_HOUSEHOLDS_PATH: path.join(dir, 'households.json'),
      AGENT_STATE_PATH: path.join(dir, 'placements.jsonl'),
      FORECAST_SOURCE: 'csv',
      FORECAST_CSV_PATH: path.join(dir, 'f.csv'),
      PLAN_SOURCE: 'csv',
      PLAN_CSV_PATH: path.join(dir, 'p.csv'),
      AGENT_POLL_INTERVAL_MS: '200',
      AGENT_METRICS_PORT: '0',
      H0_PASSWORD: 'secret-pw-0',
      H1_PASSWORD: 'secret-pw-1',
      H2_PASSWORD: 'secret-pw-2',
    };
    agent = spawnAgent(env);
    await until('orders placed', async () => (await nonce(0)) === 1n && (await nonce(1)) === 1n, 60_000);
    agent.child.kill('SIGKILL');
    await agent.exited;
    const first = agent.output();
    expect(first.match(/order signed and submitted/g)).toHaveLength(2);

    agent = spawnAgent(env);
    await until('restarted agent polled', async () => agent?.output().includes('manual household'), 30_000);
    await new Promise((r) => setTimeout(r, 1000));
    agent.child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
    const second = agent.output();
    agent = undefined;
    expect(second).not.toContain('order signed and submitted');
    expect([await nonce(0), await nonce(1), await nonce(2)]).toEqual([1n, 1n, 0n]);
    const order = (i: number) =>
      f.publicClient.readContract({
        address: f.deployment.market,
        abi: energyMarketAbi,
        functionName: 'getOrder',
        args: [w, addr(i)],
      });
    expect((await order(0)).slice(0, 3)).toEqual([0, 1500n, 24n * TOKEN]);
    expect((await order(1)).slice(0, 3)).toEqual([1, 2000n, 19n * TOKEN]);
    expect(`${first}${second}`).not.toMatch(/secret-pw/);
  });
});
