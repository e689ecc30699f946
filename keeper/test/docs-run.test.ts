// Docs that run: every block of README.md and docs/integrators.md marked runnable (```sh runnable, ```ts runnable)
// runs in order against a fresh anvil with the contracts deployed. The blocks get only what docs/integrators.md's
// "Before you start" says a reader has: RPC_URL, KEY (registered, tokens, ether for gas), HOUSEHOLD_KEY
// (registered, tokens, no ether), DEPLOYMENT (the deploy's deployments/<chainId>.json) and RELAYER (a relayer's
// URL); the community operator's part (deploy, register, mint, run the keeper's relayer) is done here.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPublicClient, createWalletClient, http, parseEther, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnvil, type Anvil } from '../dev/anvil.js';
import { deploy, deploymentPath, type Deployment } from '../dev/deploy.js';
import { repoRoot } from '../dev/paths.js';
import { ANVIL_KEYS } from '../dev/test-keys.js';
import { energyTokenAbi, prosumerRegistryAbi } from '../src/abi.js';
import { createKeeperApp, type KeeperApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { readBlocks, runTs, ShellSession, typecheckTs, type DocBlock } from './doc-blocks.js';

const DOCS = ['README.md', 'docs/integrators.md'];
const HOUR = 3600;
const blocks = (await Promise.all(DOCS.map((f) => readBlocks(repoRoot, f)))).flat().filter((b) => b.runnable);
const SHELLS = new Set(['sh', 'bash']);
const tsBlocks = blocks.filter((b) => b.lang === 'ts');

/** The reader's PATH: without node_modules/.bin (npx puts it first; its `cast` is the npm launcher). */
const readerPath = (process.env.PATH ?? '')
  .split(':')
  .filter((p) => !p.includes('node_modules'))
  .join(':');

describe('docs that run', () => {
  let anvil: Anvil;
  let dir: string;
  let keeper: KeeperApp | undefined;
  let env: NodeJS.ProcessEnv;
  let shell: ShellSession;

  /** The community operator: registers the account and mints it tokens (docs/integrators.md, "Before you start"). */
  async function registerAndFund(deployment: Deployment, key: Hex, prosumerId: bigint) {
    const transport = http(anvil.url);
    const client = createPublicClient({ transport });
    const admin = createWalletClient({ transport, account: privateKeyToAccount(ANVIL_KEYS[0]), chain: null });
    const { address } = privateKeyToAccount(key);
    for (const hash of [
      await admin.writeContract({
        address: deployment.registry,
        abi: prosumerRegistryAbi,
        functionName: 'register',
        args: [address, prosumerId],
      }),
      await admin.writeContract({
        address: deployment.token,
        abi: energyTokenAbi,
        functionName: 'mint',
        args: [address, parseEther('1000')],
      }),
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
    const keeperKey = ANVIL_KEYS[1];
    const deployment = await deploy({
      outDir: dir,
      rpcUrl: anvil.url,
      privateKey: ANVIL_KEYS[0],
      windowDuration: HOUR,
      settlementGrace: HOUR / 2,
      keeper: privateKeyToAccount(keeperKey).address,
    });
    const household = generatePrivateKey(); // no ether: it signs, the relayer sends
    await registerAndFund(deployment, ANVIL_KEYS[2], 1n);
    await registerAndFund(deployment, household, 2n);
    const config = loadConfig({
      RPC_URL: anvil.url,
      CHAIN_ID: String(chainId),
      MARKET_ADDRESS: deployment.market,
      PRIVATE_KEY: keeperKey,
      RELAYER: 'true',
      RELAYER_PORT: '0',
      RELAY_INTERVAL_MS: '500',
      RELAY_JOURNAL_PATH: path.join(dir, 'journal.jsonl'),
      METRICS_PORT: '0',
      LOG_LEVEL: 'silent',
    });
    keeper = await createKeeperApp(config, { serve: false });
    const relayer = await keeper.startRelayer();
    env = {
      PATH: readerPath,
      HOME: process.env.HOME,
      RPC_URL: anvil.url,
      KEY: ANVIL_KEYS[2],
      HOUSEHOLD_KEY: household,
      DEPLOYMENT: deploymentPath(chainId, dir),
      RELAYER: `http://127.0.0.1:${relayer?.port}`,
    };
    shell = new ShellSession({ cwd: repoRoot, env });
  });

  afterAll(async () => {
    await keeper?.shutdown(0);
    await shell?.close();
    await anvil?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('marks blocks of both files runnable, in languages it can run', () => {
    for (const file of DOCS) expect(blocks.some((b) => b.file === file)).toBe(true);
    for (const b of blocks) expect(SHELLS.has(b.lang) || b.lang === 'ts', `${b.file}:${b.line} ${b.lang}`).toBe(true);
  });

  it('type-checks every TypeScript block (strict, the repository tsconfig)', async () => {
    await typecheckTs(tsBlocks, { cwd: repoRoot, env: { ...env, PATH: process.env.PATH } });
  });

  const name = (b: DocBlock) => `${b.file}:${b.line} (${b.lang})`;
  it.each(blocks.map((b) => [name(b), b] as const))('%s', async (_, block) => {
    if (SHELLS.has(block.lang)) await shell.run(block);
    else await runTs(block, { cwd: repoRoot, env });
  });
});
