// Runs script/Deploy.s.sol with the native forge against an RPC endpoint and reads the result.
// Every parameter is passed to the script explicitly (the script has no defaults) and validated here first.
import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { readDeployment, type Deployment as MarketDeployment } from '@p2p-energy/sdk';
import { createPublicClient, http, zeroAddress, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { z } from 'zod';
import { foundryBin, repoRoot } from './paths.js';

const run = promisify(execFile);

/** The SDK's deployment plus who got the roles (the script writes both to the file). */
export interface Deployment extends MarketDeployment {
  admin: Address;
  keeper: Address;
}

const seconds = z.number().int('must be a whole number of seconds').positive('must be positive');
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte hex address');
const roles = z.object({ admin: address, keeper: address });

const deployOptionsSchema = z.object({
  rpcUrl: z.url(),
  privateKey: z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'must be a 0x-prefixed 32-byte hex key'),
  windowDuration: seconds,
  settlementGrace: seconds,
  /** Default: the deployer keeps every role. */
  admin: address.optional(),
  /** Gets the oracle role; default: nobody. */
  keeper: address.optional(),
  /** Where `<chainId>.json` is written; default `deployments/` of the repository. Tests use a temporary dir. */
  outDir: z.string().min(1).optional(),
});

export type DeployOptions = z.input<typeof deployOptionsSchema>;

export const DEFAULT_DEPLOYMENTS_DIR = path.join(repoRoot, 'deployments');

export function deploymentPath(chainId: number, dir: string = DEFAULT_DEPLOYMENTS_DIR): string {
  return path.join(dir, `${chainId}.json`);
}

/** `<dir>/<chainId>.json`, validated by the SDK's readDeployment, with the roles. */
export async function readDeploymentFile(chainId: number, dir: string = DEFAULT_DEPLOYMENTS_DIR): Promise<Deployment> {
  const json: unknown = JSON.parse(await readFile(deploymentPath(chainId, dir), 'utf8'));
  const { admin, keeper } = roles.parse(json);
  return { ...readDeployment(json), admin: admin as Address, keeper: keeper as Address };
}

/** Deploys and returns `<outDir>/<chainId>.json`. Throws on invalid options, and with forge's output when it fails. */
export async function deploy(input: DeployOptions): Promise<Deployment> {
  const parsed = deployOptionsSchema.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid deploy parameters:\n${lines.join('\n')}`);
  }
  const options = parsed.data;
  const outDir = path.resolve(options.outDir ?? DEFAULT_DEPLOYMENTS_DIR);
  await mkdir(outDir, { recursive: true }); // forge's vm.writeJson does not create it
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PRIVATE_KEY: options.privateKey,
    WINDOW_DURATION: String(options.windowDuration),
    SETTLEMENT_GRACE: String(options.settlementGrace),
    ADMIN: options.admin ?? privateKeyToAccount(options.privateKey as Hex).address,
    KEEPER: options.keeper ?? zeroAddress,
    DEPLOYMENTS_DIR: outDir,
  };
  try {
    await run(
      foundryBin('forge'),
      ['script', 'script/Deploy.s.sol', '--rpc-url', options.rpcUrl, '--broadcast', '--slow'],
      { cwd: repoRoot, env, maxBuffer: 64 * 1024 * 1024 },
    );
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`forge script failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
  const chainId = await createPublicClient({ transport: http(options.rpcUrl) }).getChainId();
  return readDeploymentFile(chainId, outDir);
}
