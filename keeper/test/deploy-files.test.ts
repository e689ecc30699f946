// keeper/deploy: the Dockerfile, the systemd unit, the Prometheus alerts and the Grafana dashboard, checked
// without a Docker engine or systemd: parsed, and held against the metrics the keeper really exports.
import { execFile, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { repoRoot } from '../dev/paths.js';
import { NODE_FLAGS } from '../src/constants.js';
import { KeeperMetrics } from '../src/metrics.js';
import { RelayMetrics } from '../src/relayer/metrics.js';

const deployDir = path.join(repoRoot, 'keeper', 'deploy');
const read = (file: string) => readFile(path.join(deployDir, file), 'utf8');

/** Every series name the keeper (with its relayer) exports, histograms with their _bucket/_sum/_count. */
async function exportedSeries(): Promise<Set<string>> {
  const metrics = new KeeperMetrics();
  new RelayMetrics(metrics.registry);
  const names = new Set<string>();
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    names.add(m.name);
    if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(`${m.name}${s}`);
  }
  return names;
}

const keeperSeries = (expr: string) => [...expr.matchAll(/\bkeeper_[a-z_]+\b/g)].map((m) => m[0]);

/** Dockerfile instructions (continuation lines joined), by stage. */
function dockerStages(text: string): { from: string; instructions: [string, string][] }[] {
  const lines = text
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const stages: { from: string; instructions: [string, string][] }[] = [];
  for (const line of lines) {
    const [, op = '', rest = ''] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    if (op.toUpperCase() === 'FROM') stages.push({ from: rest, instructions: [] });
    else stages.at(-1)?.instructions.push([op.toUpperCase(), rest]);
  }
  return stages;
}

describe('keeper/deploy', () => {
  it('every way of starting the keeper uses the same V8 flags (keeper/src/constants.ts)', async () => {
    const makefile = await readFile(path.join(repoRoot, 'Makefile'), 'utf8');
    const pkg = await readFile(path.join(repoRoot, 'package.json'), 'utf8');
    const starts = [
      JSON.parse(/ENTRYPOINT (\[.*\])/.exec(await read('Dockerfile'))?.[1] ?? '[]').join(' '),
      /^ExecStart=(.*)$/m.exec(await read('keeper.service'))?.[1] ?? '',
      /^keeper:.*\n\t(.*)$/m.exec(makefile)?.[1] ?? '',
      (JSON.parse(pkg) as { scripts: Record<string, string> }).scripts.keeper ?? '',
    ];
    for (const start of starts) expect(start).toContain(`node ${NODE_FLAGS.join(' ')} `);
  });

  it('Dockerfile: multi-stage, production install, non-root, node as PID 1 (exec form), HEALTHCHECK', async () => {
    const stages = dockerStages(await read('Dockerfile'));
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const runtime = stages.at(-1)!;
    const all = (op: string) => runtime.instructions.filter(([o]) => o === op).map(([, v]) => v);
    const user = all('USER').at(-1);
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    const entrypoint = JSON.parse(all('ENTRYPOINT').at(-1) ?? 'null') as string[];
    expect(entrypoint[0]).toBe('node'); // exec form: node is PID 1 and gets SIGTERM
    expect(entrypoint).toContain('keeper/dist/cli.js');
    expect(entrypoint.join(' ')).not.toMatch(/tsx|npm/);
    expect(JSON.parse(all('CMD').at(-1) ?? 'null')).toEqual(['run']);
    expect(all('HEALTHCHECK').join(' ')).toMatch(/CMD \[.*\/healthz/);
    // The runtime gets node_modules from a stage that installed without dev dependencies.
    const deps = stages.find((s) => s.instructions.some(([o, v]) => o === 'RUN' && /npm ci .*--omit=dev/.test(v)));
    expect(deps).toBeDefined();
    expect(all('COPY').join('\n')).toMatch(/--from=\w+ \/app\/node_modules/);
    expect(all('COPY').join('\n')).toMatch(/--from=\w+ \/app\/keeper\/dist/);
    expect(runtime.instructions.some(([o, v]) => (o === 'ENV' || o === 'ARG') && /PRIVATE_KEY(?!_FILE)/.test(v))).toBe(
      false,
    );
  });

  it('keeper.service: restart policy, the key through LoadCredential, node started directly', async () => {
    const text = await read('keeper.service');
    const entries = text
      .split('\n')
      .filter((l) => /^\w+=/.test(l))
      .map((l): [string, string] => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]);
    const get = (k: string) => entries.filter(([key]) => key === k).map(([, v]) => v);
    expect(get('Restart')).toEqual(['on-failure']);
    expect(get('RestartPreventExitStatus')).toEqual(['2']); // a configuration error is not retried
    expect(get('LoadCredential')[0]).toMatch(/^private-key:\//);
    expect(get('Environment')).toContain('PRIVATE_KEY_FILE=%d/private-key');
    expect(get('Environment').some((e) => /^PRIVATE_KEY=/.test(e))).toBe(false);
    expect(get('ExecStart')[0]).toMatch(/^\/usr\/bin\/node .*keeper\/dist\/cli\.js run$/);
    expect(get('User')).toEqual(['keeper']);
    const grace = Number(/SHUTDOWN_GRACE_MS=(\d+)/.exec(text)?.[1]);
    expect(Number.parseInt(get('TimeoutStopSec')[0] ?? '0', 10) * 1000).toBeGreaterThan(grace);
  });

  it('prometheus/alerts.yml: valid rules (promtool when installed) over metrics the keeper exports', async () => {
    const file = path.join(deployDir, 'prometheus', 'alerts.yml');
    if (spawnSync('promtool', ['--version']).status === 0) {
      const { stdout } = await promisify(execFile)('promtool', ['check', 'rules', file]);
      expect(stdout).toMatch(/SUCCESS: \d+ rules found/);
    }
    const doc = parseYaml(await readFile(file, 'utf8')) as {
      groups: { name: string; rules: Record<string, unknown>[] }[];
    };
    const rules = doc.groups.flatMap((g) => g.rules);
    const names = rules.map((r) => r.alert);
    for (const wanted of [
      'KeeperNoSuccessfulAction',
      'KeeperActionOverdue',
      'KeeperSignerBalanceLow',
      'KeeperReadingsRejected',
      'KeeperRelayQueueStuck',
      'KeeperDispatchAcksPending',
    ]) {
      expect(names).toContain(wanted);
    }
    const exported = await exportedSeries();
    const future = new Set(['keeper_dispatch_pending_windows']); // the dispatcher's, not exported yet
    for (const r of rules) {
      expect(typeof r.expr).toBe('string');
      expect(typeof r.for).toBe('string');
      expect((r.labels as { severity?: string }).severity).toMatch(/^(warning|critical)$/);
      for (const s of keeperSeries(r.expr as string))
        expect(exported.has(s) || future.has(s), `${r.alert}: ${s}`).toBe(true);
    }
  });

  it('grafana/keeper.json: a dashboard that references only metrics the keeper exports', async () => {
    const dash = JSON.parse(await read('grafana/keeper.json')) as {
      title: string;
      panels: { title: string; targets: { expr: string }[] }[];
    };
    expect(dash.panels.length).toBeGreaterThanOrEqual(8);
    const exported = await exportedSeries();
    const used = new Set<string>();
    for (const p of dash.panels) {
      expect(p.targets.length).toBeGreaterThan(0);
      for (const t of p.targets) for (const s of keeperSeries(t.expr)) used.add(s);
    }
    for (const s of used) expect(exported.has(s), s).toBe(true);
    for (const core of [
      'keeper_actions_total',
      'keeper_last_success_timestamp_seconds',
      'keeper_signer_balance_wei',
      'keeper_relay_queue_depth',
    ]) {
      expect(used).toContain(core);
    }
  });
});
