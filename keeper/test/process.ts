// Runs the keeper CLI as a real process (node --import tsx, no wrapper, so signals reach it).
import { spawn, type ChildProcess } from 'node:child_process';
import { repoRoot } from '../dev/paths.js';
import { NODE_FLAGS } from '../src/constants.js';

export interface KeeperProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** `keeper <command> ...args` as a process of its own. */
export function spawnCli(command: string, env: Record<string, string>, args: string[] = []): KeeperProcess {
  const child = spawn(process.execPath, [...NODE_FLAGS, '--import', 'tsx', 'keeper/src/cli.ts', command, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

export const spawnKeeper = (env: Record<string, string>, args: string[] = []): KeeperProcess =>
  spawnCli('run', env, args);

export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
  stepMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
