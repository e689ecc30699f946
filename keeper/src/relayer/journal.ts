// The relayer's journal: append-only JSON lines, fsync'd before an acceptance is answered. Appends that
// arrive while a write is in progress are written and synced together (group commit).
import { mkdir, open, readFile, rename, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Hex } from 'viem';
import type { Item, Outcome } from './types.js';

export type JournalRecord =
  | { t: 'accept'; item: Item }
  | { t: 'outcome'; id: Hex; outcome: Outcome }
  | { t: 'attempt'; id: Hex; attempts: number };

const replacer = (_key: string, value: unknown) => (typeof value === 'bigint' ? { $big: value.toString() } : value);
const reviver = (_key: string, value: unknown) =>
  value !== null &&
  typeof value === 'object' &&
  '$big' in value &&
  typeof value.$big === 'string' &&
  Object.keys(value).length === 1
    ? BigInt(value.$big)
    : value;

export const encodeRecord = (record: JournalRecord): string => `${JSON.stringify(record, replacer)}\n`;

export function decodeRecord(line: string): JournalRecord {
  return JSON.parse(line, reviver) as JournalRecord;
}

async function syncDir(file: string): Promise<void> {
  const dir = await open(path.dirname(path.resolve(file)), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

interface Pending {
  line: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class Journal {
  private pending: Pending[] = [];
  private flushing: Promise<void> | undefined;

  private constructor(
    readonly file: string,
    private handle: FileHandle,
  ) {}

  /**
   * Opens (creating it) and reads the journal. A torn last line (a crash in the middle of a write: it was
   * never synced, so never answered) is cut off before new lines are appended.
   */
  static async open(file: string): Promise<{ journal: Journal; records: JournalRecord[] }> {
    await mkdir(path.dirname(path.resolve(file)), { recursive: true });
    let text = '';
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const end = text.lastIndexOf('\n') + 1;
    const records: JournalRecord[] = [];
    for (const line of text.slice(0, end).split('\n')) {
      if (line.trim() === '') continue;
      records.push(decodeRecord(line));
    }
    const handle = await open(file, 'a+');
    if (text === '') await syncDir(file); // a new file: make its directory entry durable too
    if (end < text.length) {
      await handle.truncate(Buffer.byteLength(text.slice(0, end)));
      await handle.sync();
    }
    return { journal: new Journal(file, handle), records };
  }

  /** Resolves once the record is on disk (written and fsync'd). */
  append(record: JournalRecord): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ line: encodeRecord(record), resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  private async flush(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const group = this.pending;
        this.pending = [];
        try {
          await this.handle.write(group.map((p) => p.line).join(''));
          await this.handle.sync();
          for (const p of group) p.resolve();
        } catch (error) {
          for (const p of group) p.reject(error);
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }

  /** Replaces the journal with `records` (written to a temporary file, synced, renamed over it). */
  async rewrite(records: JournalRecord[]): Promise<void> {
    await this.flushing;
    const tmp = `${this.file}.tmp`;
    const out = await open(tmp, 'w');
    try {
      await out.write(records.map(encodeRecord).join(''));
      await out.sync();
    } finally {
      await out.close();
    }
    await this.handle.close();
    await rename(tmp, this.file);
    await syncDir(this.file);
    this.handle = await open(this.file, 'a+');
  }

  async close(): Promise<void> {
    await this.flushing;
    await this.handle.close();
  }
}
