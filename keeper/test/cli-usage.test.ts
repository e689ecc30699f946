import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../dev/paths.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { optionsTable } from '../src/options.js';

/** Runs the keeper CLI (no chain needed: these paths exit before connecting). */
function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'keeper/src/cli.ts', ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out })));
}

const base = {
  RPC_URL: 'http://127.0.0.1:8545',
  CHAIN_ID: '31337',
  MARKET_ADDRESS: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
  PRIVATE_KEY: `0x${'11'.repeat(32)}`,
  METER_SOURCE: 'simulated',
};

describe('keeper CLI usage', () => {
  it('keeper --help lists the commands and options and exits 0; --version prints the version', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/run \[options\]/);
    expect(help.out).toMatch(/export \[options\]/);
    expect(help.out).toContain('--version');
    const version = await cli(['--version']);
    expect(version.code).toBe(0);
    const pkg = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    expect(version.out.trim()).toBe(pkg.version);
  }, 90_000);

  it('keeper run --help and keeper export --help print their options (with the variables) and exit 0', async () => {
    const run = await cli(['run', '--help']);
    expect(run.code).toBe(0);
    expect(run.out).toContain('--close-batch <n>');
    expect(run.out).toContain('CLOSE_BATCH');
    expect(run.out).toContain('--dry-run [bool]');
    expect(run.out).not.toContain('--private-key');
    const exp = await cli(['export', '--help']);
    expect(exp.code).toBe(0);
    expect(exp.out).toContain('--from <windowId>');
    expect(exp.out).not.toMatch(/\n\s+at /); // no stack trace
  }, 90_000);

  it('exits 2 on an unknown option, a missing command or a secret on the command line (never echoed)', async () => {
    const unknown = await cli(['run', '--no-such-flag']);
    expect(unknown.code).toBe(2);
    expect(unknown.out).toContain("unknown option '--no-such-flag'");
    expect((await cli(['frobnicate'])).code).toBe(2);
    const secret = `0x${'22'.repeat(32)}`;
    const refused = await cli(['run', '--private-key', secret], base);
    expect(refused.code).toBe(2);
    expect(refused.out).toContain('PRIVATE_KEY_FILE');
    expect(refused.out).not.toContain(secret);
  }, 120_000);

  it('takes bare boolean flags and secrets from files', async () => {
    const c = loadConfig(base, ['--relayer', '--readings', 'false', '--dry-run=false']);
    expect(c.relayer).toBe(true);
    expect(c.readings).toBe(false);
    expect(c.dryRun).toBe(false);
    expect(() => loadConfig(base, ['--relayer', '--dry-run'])).toThrow(ConfigError);
    const dir = await mkdtemp(path.join(tmpdir(), 'keeper-secret-'));
    try {
      const file = path.join(dir, 'key');
      await writeFile(file, `0x${'33'.repeat(32)}\n`);
      const { PRIVATE_KEY: _unused, ...withoutKey } = base;
      expect(loadConfig({ ...withoutKey, PRIVATE_KEY_FILE: file }).privateKey).toBe(`0x${'33'.repeat(32)}`);
      expect(() => loadConfig({ ...withoutKey, PRIVATE_KEY_FILE: path.join(dir, 'missing') })).toThrow(
        /PRIVATE_KEY_FILE/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('docs/operators.md has the options table generated from the schema', async () => {
    const doc = await readFile(path.join(repoRoot, 'docs', 'operators.md'), 'utf8');
    const start = doc.indexOf('<!-- options:start -->');
    const end = doc.indexOf('<!-- options:end -->');
    expect(start).toBeGreaterThan(0);
    expect(doc.slice(start, end + '<!-- options:end -->'.length)).toBe(optionsTable());
    expect(optionsTable()).toContain('| `CLOSE_BATCH` | `--close-batch` | 300 |');
  });
});
