import { rm } from 'node:fs/promises';
import { createPublicClient, http, keccak256, toHex, type Address } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { energyMarketAbi, energyTokenAbi, prosumerRegistryAbi } from '../src/abi.js';
import { ANVIL_KEYS, startAnvil, type Anvil } from '../src/anvil.js';
import { deploy, deploymentPath, type Deployment } from '../src/deploy.js';

const role = (name: string) => keccak256(toHex(name));
const ADMIN_ROLE = `0x${'00'.repeat(32)}` as const;

describe('script/Deploy.s.sol on a local anvil', () => {
  let anvil: Anvil;
  let d: Deployment;
  const deployer = privateKeyToAccount(ANVIL_KEYS[0]).address;
  const admin = privateKeyToAccount(ANVIL_KEYS[1]).address;
  const keeper = privateKeyToAccount(ANVIL_KEYS[2]).address;

  beforeAll(async () => {
    anvil = await startAnvil({ chainId: 40_000 + Math.floor(Math.random() * 10_000) });
    d = await deploy({ rpcUrl: anvil.url, privateKey: ANVIL_KEYS[0], windowDuration: 900, settlementGrace: 300, admin, keeper });
  });

  afterAll(async () => {
    await anvil?.stop();
    if (anvil) await rm(deploymentPath(anvil.chainId), { force: true });
  });

  it('writes the deployment file with the parameters', () => {
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
    const read = <T>(address: Address, abi: readonly unknown[], functionName: string, args: unknown[] = []) =>
      client.readContract({ address, abi: abi as never, functionName: functionName as never, args: args as never }) as Promise<T>;
    expect(await read<Address>(d.market, energyMarketAbi, 'token')).toBe(d.token);
    expect(await read<Address>(d.market, energyMarketAbi, 'registry')).toBe(d.registry);
    expect(await read<bigint>(d.market, energyMarketAbi, 'windowDuration')).toBe(900n);
    expect(await read<bigint>(d.market, energyMarketAbi, 'settlementGrace')).toBe(300n);

    const checks: [Address, readonly unknown[], string][] = [
      [d.token, energyTokenAbi, 'MINTER_ROLE'],
      [d.registry, prosumerRegistryAbi, 'REGISTRAR_ROLE'],
      [d.market, energyMarketAbi, 'ORACLE_ROLE'],
      [d.market, energyMarketAbi, 'PAUSER_ROLE'],
    ];
    for (const [address, abi, name] of checks) {
      expect(await read<boolean>(address, abi, 'hasRole', [role(name), admin])).toBe(true);
      expect(await read<boolean>(address, abi, 'hasRole', [role(name), deployer])).toBe(false);
      expect(await read<boolean>(address, abi, 'hasRole', [ADMIN_ROLE, admin])).toBe(true);
      expect(await read<boolean>(address, abi, 'hasRole', [ADMIN_ROLE, deployer])).toBe(false);
    }
    expect(await read<boolean>(d.market, energyMarketAbi, 'hasRole', [role('ORACLE_ROLE'), keeper])).toBe(true);
  });
});
