import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../dev/paths.js';

function runDemo(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'keeper/dev/demo.ts'], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

const rpcAlive = async (url: string) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}',
  }).then(
    () => true,
    () => false,
  );

describe('make demo (keeper/dev/demo.ts)', () => {
  it('never prints the keys it is given (make passes them in the environment)', () => {
    const key = `0x${'ab'.repeat(32)}`;
    const printed = execFileSync('make', ['-n', 'demo', `PRIVATE_KEY=${key}`, `KEEPER_PRIVATE_KEY=${key}`], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    expect(printed).toContain('keeper/dev/demo.ts');
    expect(printed).not.toContain(key);
  });

  it('refuses invalid DEMO_* settings with a clear message before starting anything', async () => {
    for (const [name, value, why] of [
      ['DEMO_WINDOW_SECONDS', '15', /DEMO_WINDOW_SECONDS.*even/],
      ['DEMO_WINDOWS', 'abc', /DEMO_WINDOWS/],
      ['DEMO_PROSUMERS', '0', /DEMO_PROSUMERS/],
    ] as const) {
      const demo = runDemo({ [name]: value });
      expect(await demo.exited).toBe(2);
      expect(demo.output()).toMatch(why);
      expect(demo.output()).not.toContain('anvil listening');
    }
  }, 60_000);

  it('stops the embedded anvil when the demo fails', async () => {
    // A valid but unfunded admin key: the deployment fails after the anvil has started.
    const demo = runDemo({
      PRIVATE_KEY: `0x${'11'.repeat(32)}`,
      DEMO_WINDOWS: '2',
      DEMO_WINDOW_SECONDS: '12',
      DEMO_PROSUMERS: '2',
    });
    expect(await demo.exited).toBe(1);
    const url = /anvil listening on (\S+)/.exec(demo.output())?.[1];
    expect(url).toBeDefined();
    expect(demo.output()).toContain('demo failed');
    expect(await rpcAlive(url!)).toBe(false);
  }, 120_000);

  it('runs a short community session to the end with a summary and an export', async () => {
    const demo = runDemo({ DEMO_WINDOWS: '2', DEMO_WINDOW_SECONDS: '12', DEMO_PROSUMERS: '8', WEB_PORT: '0' });
    expect(await demo.exited).toBe(0);
    const out = demo.output();
    expect(out).toContain('registering 8 prosumers');
    expect(out).toMatch(/window 1 \(06:00\) open: \d+ bids, \d+ asks placed/);
    expect(out).toMatch(/\n\s+2\s+07:00\s+\d+\s+\d+\s+[\d.]+\s+\d+/);
    expect(out).toContain('summary:');
    // Gasless: the homes signed permits and orders, the keeper's relayer sent them.
    expect(out).toContain('8 permits relayed');
    expect(out).toContain('the homes hold 0 ether and sent 0 transactions');
    expect(out).toMatch(/web app: http:\/\/127\.0\.0\.1:\d+ /);
    const exported = /event export: (\S+)/.exec(out)?.[1];
    expect(exported && existsSync(path.join(repoRoot, exported))).toBe(true);
  }, 180_000);

  it('stops everything it started on Ctrl-C', async () => {
    const demo = runDemo({ DEMO_WINDOWS: '5', DEMO_WINDOW_SECONDS: '12', DEMO_PROSUMERS: '4', WEB_PORT: '0' });
    for (let i = 0; i < 600 && !demo.output().includes('keeper running'); i++)
      await new Promise((r) => setTimeout(r, 100));
    const url = /anvil listening on (\S+)/.exec(demo.output())?.[1];
    expect(url).toBeDefined();
    expect(await rpcAlive(url!)).toBe(true);
    demo.child.kill('SIGINT');
    expect(await demo.exited).toBe(130);
    expect(demo.output()).toContain('Ctrl-C: stopping');
    expect(await rpcAlive(url!)).toBe(false);
  }, 120_000);
});
