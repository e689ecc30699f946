// What ships: keeper/dist compiled by tsc, run by node from a production install (no tsx, no forge,
// no Solidity sources). The real `npm ci --omit=dev` install is `make keeper-prod-check` (it needs the registry).
import { execFile } from 'node:child_process';
import { builtinModules } from 'node:module';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../dev/paths.js';

const run = promisify(execFile);

async function jsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await jsFiles(p)));
    else if (e.name.endsWith('.js')) out.push(p);
  }
  return out;
}

describe('packaging', () => {
  it('keeps build and Solidity tooling out of the production dependencies', async () => {
    const pkg = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    expect(pkg.bin.keeper).toBe('keeper/dist/cli.js');
    for (const dev of [
      'tsx',
      'typescript',
      '@openzeppelin/contracts',
      '@chainlink/contracts',
      '@foundry-rs/forge',
      'vitest',
    ]) {
      expect(Object.keys(pkg.dependencies)).not.toContain(dev);
      expect(Object.keys(pkg.devDependencies)).toContain(dev);
    }
    for (const version of Object.values(pkg.dependencies)) expect(version).toMatch(/^\d+\.\d+\.\d+$/); // pinned
  });

  it('compiles to keeper/dist, which imports only production dependencies and runs with plain node', async () => {
    await run(
      process.execPath,
      [path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'keeper/tsconfig.build.json'],
      {
        cwd: repoRoot,
      },
    );
    const dist = path.join(repoRoot, 'keeper', 'dist');
    const files = await jsFiles(dist);
    const names = files.map((f) => path.relative(dist, f));
    expect(names).toContain('cli.js');
    expect(names).toContain(path.join('relayer', 'index.js'));
    for (const devOnly of ['demo.js', 'anvil.js', 'deploy.js', 'demo-config.js']) expect(names).not.toContain(devOnly);
    const pkg = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const allowed = new Set([...Object.keys(pkg.dependencies), ...builtinModules]);
    for (const file of files) {
      const text = await readFile(file, 'utf8');
      for (const [, spec = ''] of text.matchAll(/\bfrom\s+'([^'.][^']*)'/g)) {
        const name = spec
          .replace(/^node:/, '')
          .split('/')
          .slice(0, spec.startsWith('@') ? 2 : 1)
          .join('/');
        expect(allowed.has(name), `${path.relative(dist, file)} imports ${spec}`).toBe(true);
      }
    }
    const { stdout } = await run(process.execPath, ['keeper/dist/cli.js', '--version'], { cwd: repoRoot });
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const config = await run(process.execPath, ['keeper/dist/cli.js', 'run'], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '' },
    }).then(
      () => 0,
      (e: { code?: number; stderr?: string }) => ({ code: e.code, stderr: e.stderr ?? '' }),
    );
    expect(config).toMatchObject({ code: 2 });
    expect(typeof config === 'object' && config.stderr).toContain('CHAIN_ID');
  }, 180_000);
});
