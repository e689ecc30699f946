// Shared by the forecast and plan sources: a CSV file with a fixed header, and an HTTP GET answering a JSON
// array under a named key. Rows are returned as strings/values, validated by the caller.
import { readFile } from 'node:fs/promises';
import { withRetry } from '../retry.js';

/** Rows of `path` whose `window` column is one of `windowIds` (other rows are ignored), keyed by the header. */
export async function readCsvRows(
  path: string,
  header: string[],
  windowIds: bigint[],
): Promise<Record<string, string>[]> {
  const text = await readFile(path, 'utf8');
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const got = lines
    .shift()
    ?.split(',')
    .map((h) => h.trim());
  if (!got || header.some((h, i) => got[i] !== h)) throw new Error(`${path}: header must be ${header.join(',')}`);
  const wanted = new Set(windowIds.map(String));
  const rows: Record<string, string>[] = [];
  for (const line of lines) {
    const cells = line.split(',').map((c) => c.trim());
    const row = Object.fromEntries(header.map((h, i) => [h, cells[i] ?? '']));
    if (wanted.has(row.window ?? '')) rows.push(row);
  }
  return rows;
}

/** GET `<url>?from=<first window>&hours=<n>`; answers `{ "<key>": [ {...}, ... ] }`. */
export async function fetchJsonRows(
  url: string,
  key: string,
  windowIds: bigint[],
  timeoutMs: number,
): Promise<Record<string, unknown>[]> {
  const u = new URL(url);
  u.searchParams.set('from', (windowIds[0] ?? 0n).toString());
  u.searchParams.set('hours', String(windowIds.length));
  const body = await withRetry(async () => {
    const res = await fetch(u, { signal: AbortSignal.timeout(timeoutMs) });
    if (res.status >= 500 || res.status === 429) throw new Error(`${key} source: HTTP ${res.status} (network)`);
    if (!res.ok) throw new Error(`${key} source answered HTTP ${res.status}`);
    return (await res.json()) as unknown;
  });
  const rows = (body as Record<string, unknown> | null)?.[key];
  if (!Array.isArray(rows)) throw new Error(`${key} source: no "${key}" array in the answer`);
  return rows.map((r) => (r ?? {}) as Record<string, unknown>);
}
