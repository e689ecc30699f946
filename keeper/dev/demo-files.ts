// Where one demo run writes its files: a directory of its own under exports/demo/, named by chain id and start
// time, so a run never overwrites deployments/<chainId>.json, another run's export or its logs.
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { deploy, deploymentPath, type DeployOptions, type Deployment } from './deploy.js';
import { repoRoot } from './paths.js';

export interface RunFiles {
  dir: string;
  deployment: string;
  export: string;
  keeperLog: string;
  agentLog: string;
}

/** Creates `exports/demo/<chainId>-<UTC time>-<random>/` (e.g. 31337-20261201T112233Z-Xy12ab). */
export async function runFiles(
  chainId: number,
  at = new Date(),
  root = path.join(repoRoot, 'exports', 'demo'),
): Promise<RunFiles> {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  await mkdir(root, { recursive: true });
  const dir = await mkdtemp(path.join(root, `${chainId}-${stamp}-`));
  return {
    dir,
    deployment: path.join(dir, 'deployment.json'),
    export: path.join(dir, 'events.json'),
    keeperLog: path.join(dir, 'keeper.log'),
    agentLog: path.join(dir, 'agent.log'),
  };
}

/** Deploys (forge may write only under deployments/ and /tmp: a temporary directory) and keeps the deployment
 * file in the run's directory. */
export async function deployForRun(files: RunFiles, options: Omit<DeployOptions, 'outDir'>): Promise<Deployment> {
  const outDir = await mkdtemp(path.join(tmpdir(), 'demo-deploy-'));
  try {
    const d = await deploy({ ...options, outDir });
    await copyFile(deploymentPath(d.chainId, outDir), files.deployment);
    return d;
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}
