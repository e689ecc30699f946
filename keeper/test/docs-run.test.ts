// Docs that run: every block of README.md and docs/integrators.md marked runnable (```sh runnable, ```ts runnable)
// runs in page order against a fresh anvil. README.md's deploy block runs as the community operator (RPC_URL and
// PRIVATE_KEY); the test then does the rest of the operator's part (register, mint, run the keeper's relayer).
// docs/integrators.md's blocks get only what its "Before you start" says a reader has: RPC_URL, DEPLOYMENT_FILE,
// KEY (registered, tokens, ether for gas), HOUSEHOLD_KEY (registered, tokens, no ether) and RELAYER.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { energyTokenAbi, prosumerRegistryAbi } from '@p2p-energy/sdk';
import { createPublicClient, createWalletClient, http, parseEther, type Address, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnvil, type Anvil } from '../dev/anvil.js';
import { repoRoot } from '../dev/paths.js';
import { ANVIL_KEYS } from '../dev/test-keys.js';
import { createKeeperApp, type KeeperApp } from '../src/app.js';
import { makeChain } from '../src/chain.js';
import { loadConfig } from '../src/config.js';
import { readBlocks, runTs, ShellSession, typecheckTs, type DocBlock } from './doc-blocks.js';

const HOUR = 3600;
const runnable = async (file: string) => (await readBlocks(repoRoot, file)).filter((b) => b.runnable);
const operatorBlocks = await runnable('README.md');
const readerBlocks = await runnable('docs/integrators.md');
const SHELLS = new Set(['sh', 'bash']);

/** The reader's PATH: without node_modules/.bin (npx puts it first; its `cast` is the npm launcher). */
const readerPath = (process.env.PATH ?? '')
  .split(':')
  .filter((p) => !p.includes('node_modules'))
  .join(':');

const name = (b: DocBlock) => `${b.file}:${b.line} (${b.lang})`;

describe('docs that run', () => {
  let anvil: Anvil;
  let dir: string;
  let keeper: KeeperApp | undefined;
  let operator: ShellSession;
  let reader: ShellSession;
  let env: NodeJS.ProcessEnv;
  const deploymentFile = () => path.join('deployments', `${anvil.chainId}.json`);

  /** The community operator registers the account and mints it tokens (docs/integrators.md, "Before you start"). */
  async function registerAndFund(deployment: { registry: Address; token: Address }, key: Hex, prosumerId: bigint) {
    const transport = http(anvil.url);
    const client = createPublicClient({ transport });
    const chain = makeChain(anvil.chainId, anvil.url);
    const admin = createWalletClient({ transport, chain, account: privateKeyToAccount(ANVIL_KEYS[0]) });
    const { address } = privateKeyToAccount(key);
    const registry = { address: deployment.registry, abi: prosumerRegistryAbi } as const;
    const token = { address: deployment.token, abi: energyTokenAbi } as const;
    for (const hash of [
      await admin.writeContract({ ...registry, functionName: 'register', args: [address, prosumerId] }),
      await admin.writeContract({ ...token, functionName: 'mint', args: [address, parseEther('1000')] }),
    ]) {
      expect((await client.waitForTransactionReceipt({ hash })).status).toBe('success');
    }
  }

  beforeAll(async () => {
    const chainId = 60_000 + Math.floor(Math.random() * 10_000);
    // A minute into an hour, so the window that the docs open stays open for the whole run.
    const timestamp = Math.floor(Date.now() / 1000 / HOUR) * HOUR + 60;
    anvil = await startAnvil({ chainId, timestamp, accounts: 3 });
    dir = await mkdtemp(path.join(tmpdir(), 'docs-run-'));
    const base = { PATH: readerPath, HOME: process.env.HOME, RPC_URL: anvil.url };
    operator = new ShellSession({ cwd: repoRoot, env: { ...base, PRIVATE_KEY: ANVIL_KEYS[0] } });
    env = { ...base, DEPLOYMENT_FILE: deploymentFile(), KEY: ANVIL_KEYS[2], HOUSEHOLD_KEY: generatePrivateKey() };
    reader = new ShellSession({ cwd: repoRoot, env });
  });

  afterAll(async () => {
    await keeper?.shutdown(0);
    await Promise.all([operator?.close(), reader?.close(), anvil?.stop()]);
    const broadcast = (top: string) => path.join(repoRoot, top, 'Deploy.s.sol', String(anvil.chainId));
    for (const p of [dir, path.join(repoRoot, deploymentFile()), broadcast('broadcast'), broadcast('cache')]) {
      if (p) await rm(p, { recursive: true, force: true });
    }
  });

  it('marks blocks of both files runnable, in languages it can run', () => {
    expect(operatorBlocks.length).toBeGreaterThan(0);
    expect(readerBlocks.length).toBeGreaterThan(0);
    for (const b of [...operatorBlocks, ...readerBlocks]) {
      expect(SHELLS.has(b.lang) || b.lang === 'ts', name(b)).toBe(true);
    }
  });

  it.each(operatorBlocks.map((b) => [name(b), b] as const))('%s, as the community operator', async (_, block) => {
    await operator.run(block);
  });

  it('the community operator registers KEY and HOUSEHOLD_KEY, mints them tokens and runs a relayer', async () => {
    const json = await readFile(path.join(repoRoot, deploymentFile()), 'utf8');
    const deployment = JSON.parse(json) as { registry: Address; token: Address; market: Address };
    await registerAndFund(deployment, env.KEY as Hex, 1n);
    await registerAndFund(deployment, env.HOUSEHOLD_KEY as Hex, 2n); // no ether: it signs, the relayer sends
    const config = loadConfig({
      RPC_URL: anvil.url,
      CHAIN_ID: String(anvil.chainId),
      MARKET_ADDRESS: deployment.market,
      PRIVATE_KEY: ANVIL_KEYS[1],
      READINGS: 'false', // this keeper only relays; it submits no meter readings
      RELAYER: 'true',
      RELAYER_PORT: '0',
      RELAY_INTERVAL_MS: '500',
      RELAY_JOURNAL_PATH: path.join(dir, 'journal.jsonl'),
      METRICS_PORT: '0',
      LOG_LEVEL: 'silent',
    });
    keeper = await createKeeperApp(config, { serve: false });
    env.RELAYER = `http://127.0.0.1:${(await keeper.startRelayer())?.port}`;
  });

  it('type-checks every TypeScript block (strict, the repository tsconfig)', async () => {
    const ts = readerBlocks.filter((b) => b.lang === 'ts');
    await typecheckTs(ts, { cwd: repoRoot, env: { ...env, PATH: process.env.PATH } });
  });

  it.each(readerBlocks.map((b) => [name(b), b] as const))('%s', async (_, block) => {
    if (SHELLS.has(block.lang)) await reader.run(block);
    else await runTs(block, { cwd: repoRoot, env });
  });
});
