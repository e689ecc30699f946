// The small record of acknowledged windows: one JSON line per acknowledgement, appended and fsynced before
// the window counts as done. What is still pending is derived from the chain minus this record.
import { mkdir, open, readFile } from 'node:fs/promises';
import path from 'node:path';

export interface AckEntry {
  key: string;
  windowId: string;
  status: number;
  at: string;
}

export class AckStore {
  private readonly keys = new Set<string>();

  private constructor(readonly file: string) {}

  /** Loads the record (a torn last line from a crash is ignored: that window is simply sent again). */
  static async open(file: string): Promise<AckStore> {
    const store = new AckStore(file);
    let text = '';
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        const entry = JSON.parse(line) as Partial<AckEntry>;
        if (typeof entry.key === 'string') store.keys.add(entry.key);
      } catch {
        // torn write
      }
    }
    return store;
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  get size(): number {
    return this.keys.size;
  }

  async record(entry: AckEntry): Promise<void> {
    await mkdir(path.dirname(path.resolve(this.file)), { recursive: true });
    const handle = await open(this.file, 'a');
    try {
      await handle.write(`${JSON.stringify(entry)}\n`);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    this.keys.add(entry.key);
  }
}
