// Docs that run: the fenced code blocks of a Markdown file, and runners for the ones marked runnable
// (```sh runnable, ```ts runnable). The shell blocks given to one ShellSession share their variables and functions,
// in order; every TypeScript block is a complete program, type-checked (strict) and run with tsx from the repository
// root.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const MARKER = 'runnable';

export interface DocBlock {
  /** The Markdown file, as given to `extractBlocks` (a path relative to the repository root). */
  file: string;
  /** 1-based line of the block's first code line in `file`. */
  line: number;
  /** First word of the fence's info string (`sh`, `ts`, `mermaid`, ...; '' when none). */
  lang: string;
  runnable: boolean;
  code: string;
}

export function extractBlocks(file: string, text: string): DocBlock[] {
  const lines = text.split('\n');
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})\s*(.*)$/.exec(lines[i] ?? '');
    if (!open) continue;
    const [, fence = '', info = ''] = open;
    const words = info.trim().split(/\s+/).filter(Boolean);
    const end = lines.findIndex((l, j) => j > i && l.trimEnd() === fence);
    if (end < 0) throw new Error(`${file}:${i + 1}: code block never closed`);
    const runnable = words.slice(1).includes(MARKER);
    blocks.push({ file, line: i + 2, lang: words[0] ?? '', runnable, code: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return blocks;
}

export async function readBlocks(root: string, file: string): Promise<DocBlock[]> {
  return extractBlocks(file, await readFile(path.join(root, file), 'utf8'));
}

export interface RunOptions {
  /** Working directory of every block (the repository root: the docs tell readers to run from there). */
  cwd: string;
  /** The whole environment of the blocks: only what the docs tell the reader to have. */
  env: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

type Failure = Error & { code?: number | string; stdout?: string; stderr?: string };

function blockError(block: DocBlock, line: number, e: Failure, detail = ''): Error {
  const output = [e.stdout, e.stderr].filter(Boolean).join('\n').trim();
  const what = e.code === undefined ? e.message : `exit ${e.code}`;
  return new Error(`${block.file}:${line}: ${block.lang} block failed (${what})${detail}\n${output}`);
}

/** Runs shell blocks (bash, `set -euo pipefail`) in order; a later block sees the earlier ones' variables. */
export class ShellSession {
  private dir?: string;

  constructor(private readonly options: RunOptions) {}

  async run(block: DocBlock): Promise<string> {
    this.dir ??= await mkdtemp(path.join(tmpdir(), 'doc-sh-'));
    const state = path.join(this.dir, 'state.sh');
    const script = path.join(this.dir, 'block.sh');
    // Line 1 of the script: the prelude; the block starts on line 2. `set -a` exports every assignment so the
    // epilogue's `export -p` carries it to the next block, with the functions (`declare -f`).
    const prelude = `set -Eeuo pipefail -a; [ -f '${state}' ] && source '${state}'; trap 'echo "@@ $LINENO" >&2' ERR`;
    const epilogue = `{ export -p; declare -f; } > '${state}'`;
    await writeFile(script, `${prelude}\n${block.code}\n${epilogue}\n`);
    try {
      const { stdout } = await run('bash', [script], { ...execOptions(this.options), maxBuffer: 16 * 1024 * 1024 });
      return stdout;
    } catch (error) {
      const e = error as Failure;
      const stderr = e.stderr ?? '';
      const at = /@@ (\d+)\s*$/.exec(stderr) ?? /line (\d+):/.exec(stderr);
      const line = at ? block.line + Number(at[1]) - 2 : block.line;
      throw blockError(block, line, { ...e, message: e.message, stderr: stderr.replace(/^@@ \d+\n/gm, '') });
    }
  }

  async close(): Promise<void> {
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}

const tsFile = (i: number | string) => `.doc-run-${process.pid}-${i}.ts`;

async function withFiles<T>(cwd: string, files: Record<string, string>, body: () => Promise<T>): Promise<T> {
  try {
    await Promise.all(Object.entries(files).map(([f, text]) => writeFile(path.join(cwd, f), text)));
    return await body();
  } finally {
    await Promise.all(Object.keys(files).map((f) => rm(path.join(cwd, f), { force: true })));
  }
}

const execOptions = (o: RunOptions) => ({ cwd: o.cwd, env: o.env, timeout: o.timeoutMs ?? 120_000 });

/** Type-checks TypeScript blocks, each as its own module at the repository root (its strict tsconfig). */
export async function typecheckTs(blocks: DocBlock[], options: RunOptions): Promise<void> {
  if (blocks.length === 0) return;
  const files = Object.fromEntries(blocks.map((b, i) => [tsFile(i), b.code]));
  const tsconfig = `.doc-run-${process.pid}-tsconfig.json`;
  files[tsconfig] = JSON.stringify({ extends: './tsconfig.json', include: Object.keys(files) });
  await withFiles(options.cwd, files, async () => {
    try {
      await run(path.join(options.cwd, 'node_modules/.bin/tsc'), ['-p', tsconfig], execOptions(options));
    } catch (error) {
      const e = error as Failure;
      const at = /\.doc-run-\d+-(\d+)\.ts\((\d+),\d+\)/.exec(e.stdout ?? '');
      const block = blocks[Number(at?.[1] ?? 0)]!;
      throw blockError(block, block.line + Number(at?.[2] ?? 1) - 1, e, ': type error');
    }
  });
}

/** Runs a TypeScript block with tsx from the repository root (so `@p2p-energy/sdk` and viem resolve). */
export async function runTs(block: DocBlock, options: RunOptions): Promise<string> {
  const file = tsFile(`run-${block.line}`);
  return withFiles(options.cwd, { [file]: block.code }, async () => {
    try {
      return (await run(process.execPath, ['--import', 'tsx', file], execOptions(options))).stdout;
    } catch (error) {
      const e = error as Failure;
      const at = new RegExp(`${file.replace(/\./g, '\\.')}:(\\d+)`).exec(e.stderr ?? '');
      throw blockError(block, block.line + Number(at?.[1] ?? 1) - 1, e);
    }
  });
}
