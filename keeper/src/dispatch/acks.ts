// The small record of acknowledged windows: one JSON line per acknowledgement, appended and fsynced before
// the window counts as done. What is still pending is derived from the chain minus this record.
import { appendJsonLine, readJsonLines } from '../jsonl-record.js';

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
    for (const entry of (await readJsonLines(file)) as Partial<AckEntry>[]) {
      if (typeof entry.key === 'string') store.keys.add(entry.key);
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
    await appendJsonLine(this.file, entry);
    this.keys.add(entry.key);
  }
}
