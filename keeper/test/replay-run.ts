// Runs a command from the repository root, and the forge replay of an export file (test/replay/Replay.t.sol).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { foundryBin, repoRoot } from '../dev/paths.js';

const run = promisify(execFile);

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command; its exit code and output (never throws for a non-zero exit). */
export function runInRepo(file: string, args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return run(file, args, { cwd: repoRoot, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({
      code: e.code ?? -1,
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? '',
    }),
  );
}

/** `make replay FILE=file` without make: the replay's per-window report is in stdout (-vv). */
export const runReplay = (file: string): Promise<RunResult> =>
  runInRepo(foundryBin('forge'), ['test', '--ffi', '--match-path', 'test/replay/Replay.t.sol', '-vv'], {
    REPLAY_FILE: file,
  });
