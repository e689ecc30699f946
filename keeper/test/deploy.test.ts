import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createPublicClient, getContract, http, keccak256, toHex, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { energyMarketAbi, energyTokenAbi, prosumerRegistryAbi } from '@p2p-energy/sdk';
import { startAnvil, type Anvil } from '../dev/anvil.js';
import { foundryBin, repoRoot } from '../dev/paths.js';
import { ANVIL_KEYS } from '../dev/test-keys.js';
import { deploy, deploymentPath, type Deployment } from '../dev/deploy.js';

const role = (name: string) => keccak256(toHex(name));
const ADMIN_ROLE = `0x${'00'.repeat(32)}` as const;

describe('script/Deploy.s.sol on a local anvil', () => {
  let anvil: Anvil;
  let d: Deployment;
  let outDir: string;
  const deployer = privateKeyToAccount(ANVIL_KEYS[0]).address;
  const admin = privateKeyToAccount(ANVIL_KEYS[1]).address;
  const keeper = privateKeyToAccount(ANVIL_KEYS[2]).address;

  beforeAll(async () => {
    anvil = await startAnvil({ chainId: 40_000 + Math.floor(Math.random() * 10_000) });
    outDir = await mkdtemp(path.join(tmpdir(), 'deploy-test-'));
    d = await deploy({
      rpcUrl: anvil.url,
      privateKey: ANVIL_KEYS[0],
      windowDuration: 900,
      settlementGrace: 300,
      admin,
      keeper,
      outDir,
    });
  });

  afterAll(async () => {
    await anvil?.stop();
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  it('writes the deployment file with the parameters to the directory it is given, not to deployments/', () => {
    expect(existsSync(deploymentPath(anvil.chainId, outDir))).toBe(true);
    expect(existsSync(path.join(repoRoot, 'deployments', `${anvil.chainId}.json`))).toBe(false);
    expect(d.chainId).toBe(anvil.chainId);
    expect(d.windowDuration).toBe(900);
    expect(d.settlementGrace).toBe(300);
    expect(d.admin).toBe(admin);
    expect(d.keeper).toBe(keeper);
  });

  it('deploys wired contracts with the roles handed over', async () => {
    const client = createPublicClient({ transport: http(anvil.url) });
    for (const address of [d.token, d.registry, d.market]) {
      expect((await client.getCode({ address }))?.length ?? 0).toBeGreaterThan(2);
    }
    const market = getContract({ address: d.market, abi: energyMarketAbi, client });
    const token = getContract({ address: d.token, abi: energyTokenAbi, client });
    const registry = getContract({ address: d.registry, abi: prosumerRegistryAbi, client });
    expect(await market.read.token()).toBe(d.token);
    expect(await market.read.registry()).toBe(d.registry);
    expect(await market.read.windowDuration()).toBe(900n);
    expect(await market.read.settlementGrace()).toBe(300n);

    const checks: [{ read: { hasRole: (args: readonly [Hex, Address]) => Promise<boolean> } }, string][] = [
      [token, 'MINTER_ROLE'],
      [registry, 'REGISTRAR_ROLE'],
      [market, 'ORACLE_ROLE'],
      [market, 'PAUSER_ROLE'],
    ];
    for (const [contract, name] of checks) {
      expect(await contract.read.hasRole([role(name), admin])).toBe(true);
      expect(await contract.read.hasRole([role(name), deployer])).toBe(false);
      expect(await contract.read.hasRole([ADMIN_ROLE, admin])).toBe(true);
      expect(await contract.read.hasRole([ADMIN_ROLE, deployer])).toBe(false);
    }
    expect(await market.read.hasRole([role('ORACLE_ROLE'), keeper])).toBe(true);
  });
});

describe('deploy parameters never fall back to a default', () => {
  it('refuses a window duration or grace that is not a positive whole number of seconds', async () => {
    const base = {
      rpcUrl: 'http://127.0.0.1:1',
      privateKey: ANVIL_KEYS[0],
      windowDuration: 20,
      settlementGrace: 10,
    } as const;
    await expect(deploy({ ...base, settlementGrace: 7.5 })).rejects.toThrow(/settlementGrace.*whole number/s);
    await expect(deploy({ ...base, windowDuration: 0 })).rejects.toThrow(/windowDuration/);
  });

  it('script/Deploy.s.sol fails on a missing or unparsable SETTLEMENT_GRACE instead of using 1800', async () => {
    const anvil = await startAnvil({ chainId: 39_000 + Math.floor(Math.random() * 1_000) });
    const outDir = await mkdtemp(path.join(tmpdir(), 'deploy-test-'));
    const forge = (extra: Record<string, string>) =>
      promisify(execFile)(foundryBin('forge'), ['script', 'script/Deploy.s.sol', '--rpc-url', anvil.url], {
        cwd: repoRoot,
        env: {
          ...process.env,
          PRIVATE_KEY: ANVIL_KEYS[0],
          WINDOW_DURATION: '3600',
          ADMIN: privateKeyToAccount(ANVIL_KEYS[0]).address,
          KEEPER: '0x0000000000000000000000000000000000000000',
          DEPLOYMENTS_DIR: outDir,
          ...extra,
        },
      }).then(
        () => 'ok',
        (e: { stdout?: string; stderr?: string }) => `${e.stdout ?? ''}${e.stderr ?? ''}`,
      );
    try {
      // With a 3600 s window the old fallback (1800) deployed without a word.
      expect(await forge({ SETTLEMENT_GRACE: '7.5' })).toMatch(/failed parsing \$SETTLEMENT_GRACE/);
      expect(await forge({})).toMatch(/environment variable "SETTLEMENT_GRACE" not found/);
      expect(await forge({ SETTLEMENT_GRACE: '600' })).toBe('ok');
    } finally {
      await anvil.stop();
      await rm(outDir, { recursive: true, force: true });
    }
  });
});
