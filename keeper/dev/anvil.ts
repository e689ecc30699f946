// Starts and stops the native anvil binary on a free local port (tests and the demo).
import { spawn, type ChildProcess } from 'node:child_process';
import { foundryBin } from './paths.js';
import { freePort } from './ports.js';

export interface Anvil {
  url: string;
  port: number;
  chainId: number;
  stop(): Promise<void>;
}

export interface AnvilOptions {
  chainId?: number;
  port?: number;
  /** Start time of the chain (Unix seconds). */
  timestamp?: number;
  accounts?: number;
  extraArgs?: string[];
}

export async function startAnvil(options: AnvilOptions = {}): Promise<Anvil> {
  const port = options.port ?? (await freePort());
  const chainId = options.chainId ?? 31337;
  const args = [
    '--port',
    String(port),
    '--host',
    '127.0.0.1',
    '--chain-id',
    String(chainId),
    '--accounts',
    String(options.accounts ?? 10),
    '--balance',
    '1000000',
    '--code-size-limit',
    '100000',
    ...(options.timestamp === undefined ? [] : ['--timestamp', String(options.timestamp)]),
    ...(options.extraArgs ?? []),
  ];
  const child: ChildProcess = spawn(foundryBin('anvil'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`anvil exited (${child.exitCode}): ${output}`);
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      });
      if (res.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`anvil did not start on port ${port}: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    port,
    chainId,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
