import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startAnvil } from '../dev/anvil.js';
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

/** A file's content and modification time, or undefined when it does not exist. */
const snapshot = (file: string) =>
  existsSync(file) ? { text: readFileSync(file, 'utf8'), mtimeMs: statSync(file).mtimeMs } : undefined;

const count = (text: string, part: string) => text.split(part).length - 1;

/** The directory a demo run printed for its files (exports/demo/...), relative to the repository. */
const runDirOf = (output: string) =>
  /this run's files \(deployment, event export, logs\): (exports\/demo\/\S+)\//.exec(output)?.[1];

/** Removes the run's directory (the tests leave no files behind). */
const removeRunDir = async (output: string) => {
  const dir = runDirOf(output);
  if (dir) await rm(path.join(repoRoot, dir), { recursive: true, force: true });
};

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
    await removeRunDir(demo.output());
  }, 120_000);

  it('runs a short community session to the end: hourly energies in kWh, explained, files of its own', async () => {
    const shared = ['deployments/31337.json', 'exports/demo-31337.json'].map((f) => path.join(repoRoot, f));
    const before = shared.map(snapshot);
    const demo = runDemo({ DEMO_WINDOWS: '2', DEMO_WINDOW_SECONDS: '12', DEMO_PROSUMERS: '8', WEB_PORT: '0' });
    expect(await demo.exited).toBe(0);
    const out = demo.output();
    expect(out).toContain('registering 8 prosumers');
    // Said once, before the first use: what CET is and what a price in CET/kWh means; what a window stands for.
    const cet = 'CET, the community energy token (an ERC-20 of 18 decimals';
    expect(count(out, cet)).toBe(1);
    expect(out.indexOf(cet)).toBeLessThan(out.indexOf(' CET each'));
    expect(out).toContain('a price of 20 CET/kWh means one kWh costs 20 CET');
    expect(count(out, 'one window of 12 s stands for one hour of the community')).toBe(1);
    expect(out.indexOf('stands for one hour')).toBeLessThan(out.indexOf('(06:00) open'));
    expect(out).toContain('cleared kWh');
    // It measured the block time first, and says what it waits for when nothing happens for a few seconds.
    expect(out).toContain('block time 1 s: windows of 12 s leave time to open them and to order');
    expect(out).toMatch(/waiting for window \d \(0\d:00\) .+ \(block time 1 s\)…/);
    // The energies are an hour's of a household (a 12-second slice would be 300 times smaller: a few Wh).
    const placed = /window 1 \(06:00\) open: (\d+) bids \(([\d.]+) kWh\), (\d+) asks \(([\d.]+) kWh\) placed/.exec(out);
    expect(placed).not.toBeNull();
    const [bids, bidKWh] = [Number(placed?.[1]), Number(placed?.[2])];
    expect(bids).toBeGreaterThan(0);
    expect(bidKWh / bids).toBeGreaterThan(0.2); // kWh per home at dawn: base load of 250-650 W
    expect(bidKWh / bids).toBeLessThan(3);
    const row = /\n\s+2\s+07:00\s+\d+\s+\d+\s+([\d.]+)\s+(\d+\.\d\d)\s+(\d+)\s+(\d+)\s+\d+/.exec(out);
    expect(row).not.toBeNull();
    expect(Number(row?.[2])).toBeGreaterThan(0.2); // cleared kWh at 07:00
    expect(Number(row?.[2])).toBeLessThan(30);
    expect(Number(row?.[4])).toBeGreaterThan(0); // accepted trades: readings of the same hour as the orders
    expect(out).toMatch(/summary: \d+ orders, \d+ trades, \d+\.\d\d kWh cleared/);
    // Gasless: the homes signed permits and orders, the keeper's relayer sent them.
    expect(out).toContain('8 permits relayed');
    expect(out).toContain('the homes hold 0 ether and sent 0 transactions');
    expect(out).toMatch(/web app: http:\/\/127\.0\.0\.1:\d+ /);
    // Its own files, in a directory of this run; the shared deployment and export files are untouched.
    const dir = runDirOf(out);
    expect(dir).toMatch(/^exports\/demo\/31337-\d{8}T\d{6}Z-/);
    for (const name of ['deployment.json', 'events.json', 'keeper.log', 'agent.log'])
      expect(existsSync(path.join(repoRoot, dir as string, name))).toBe(true);
    expect(out).toContain(`event export: ${dir}/events.json`);
    expect(out).toContain(`deployment: ${dir}/deployment.json`);
    expect(shared.map(snapshot)).toEqual(before);
    await removeRunDir(out);
  }, 180_000);

  it('refuses, naming the fix, a chain without blocks of its own, with blocks too slow, or not for tests', async () => {
    const automine = await startAnvil();
    const slow = await startAnvil({ extraArgs: ['--block-time', '3'] });
    const gnosis = await startAnvil({ chainId: 100, extraArgs: ['--block-time', '1'] });
    try {
      const settings = { DEMO_WINDOWS: '1', DEMO_WINDOW_SECONDS: '10', DEMO_PROSUMERS: '1', WEB_PORT: '0' };
      const stalled = runDemo({ ...settings, RPC_URL: automine.url });
      const short = runDemo({ ...settings, RPC_URL: slow.url });
      const real = runDemo({ ...settings, RPC_URL: gnosis.url });
      expect(await stalled.exited).toBe(2);
      expect(stalled.output()).toContain('waiting up to 10 s for a new block');
      expect(stalled.output()).toContain('no new block in 10 s: the chain mines no blocks by itself');
      expect(stalled.output()).toContain('Start anvil with --block-time 1');
      expect(await short.exited).toBe(2);
      expect(short.output()).toContain("DEMO_WINDOW_SECONDS=10 is too short for this chain's 3 s blocks");
      expect(short.output()).toContain('Use DEMO_WINDOW_SECONDS=12 or more');
      expect(await real.exited).toBe(2);
      expect(real.output()).toContain('chain 100 is not a local or test chain');
      for (const demo of [stalled, short, real]) {
        expect(demo.output()).not.toContain('deploying');
        expect(demo.output()).not.toContain("this run's files");
      }
    } finally {
      await Promise.all([automine.stop(), slow.stop(), gnosis.stop()]);
    }
  }, 60_000);

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
    await removeRunDir(demo.output());
  }, 120_000);
});
