// An append-only record of JSON lines, each fsynced before `append` resolves. A torn last line (a crash mid-write)
// and lines that are not JSON are skipped when reading: the entry they held counts as never written.
import { mkdir, open, readFile } from 'node:fs/promises';
import path from 'node:path';

/** Every line of `file` that holds a JSON object (none when the file does not exist yet). */
export async function readJsonLines(file: string): Promise<Record<string, unknown>[]> {
  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const entries: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const entry: unknown = JSON.parse(line);
      if (typeof entry === 'object' && entry !== null && !Array.isArray(entry)) {
        entries.push(entry as Record<string, unknown>);
      }
    } catch {
      // torn write
    }
  }
  return entries;
}

/** Appends one line and waits for it to reach the disk. */
export async function appendJsonLine(file: string, entry: unknown): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const handle = await open(file, 'a');
  try {
    await handle.write(`${JSON.stringify(entry)}\n`);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}
