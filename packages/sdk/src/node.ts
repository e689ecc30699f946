// Node-only helpers (file system), apart from the main entry so that browser bundles never see node: imports.
import { readFile } from 'node:fs/promises';
import { type Deployment, readDeployment } from './deployments.js';

/** Reads and validates a deployment file; `chainId`, when given, must match the file's. */
export async function loadDeployment(path: string, chainId?: number): Promise<Deployment> {
  let deployment: Deployment;
  try {
    deployment = readDeployment(await readFile(path, 'utf8'));
  } catch (error) {
    throw new Error(`${path}: ${(error as Error).message}`, { cause: error });
  }
  if (chainId !== undefined && deployment.chainId !== chainId) {
    throw new Error(`${path}: deployment of chain ${deployment.chainId}, not ${chainId}`);
  }
  return deployment;
}
