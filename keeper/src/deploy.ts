// Runs script/Deploy.s.sol with the native forge against an RPC endpoint and reads the result.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { createPublicClient, http, type Address, type Hex } from 'viem';
import { foundryBin, repoRoot } from './anvil.js';

const run = promisify(execFile);

export interface Deployment {
  chainId: number;
  startBlock: number;
  token: Address;
  registry: Address;
  market: Address;
  admin: Address;
  keeper: Address;
  windowDuration: number;
  settlementGrace: number;
}

export interface DeployOptions {
  rpcUrl: string;
  privateKey: Hex;
  windowDuration?: number;
  settlementGrace?: number;
  admin?: Address;
  keeper?: Address;
}

export function deploymentPath(chainId: number): string {
  return path.join(repoRoot, 'deployments', `${chainId}.json`);
}

export async function readDeployment(chainId: number): Promise<Deployment> {
  return JSON.parse(await readFile(deploymentPath(chainId), 'utf8')) as Deployment;
}

/** Deploys and returns `deployments/<chainId>.json`. Throws with forge's output when it fails. */
export async function deploy(options: DeployOptions): Promise<Deployment> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PRIVATE_KEY: options.privateKey,
    ...(options.windowDuration === undefined ? {} : { WINDOW_DURATION: String(options.windowDuration) }),
    ...(options.settlementGrace === undefined ? {} : { SETTLEMENT_GRACE: String(options.settlementGrace) }),
    ...(options.admin === undefined ? {} : { ADMIN: options.admin }),
    ...(options.keeper === undefined ? {} : { KEEPER: options.keeper }),
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
  return readDeployment(chainId);
}
