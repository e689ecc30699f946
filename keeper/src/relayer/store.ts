// What the relayer has accepted, in memory and in the journal: every change is journalled first.
import type { Address, Hex } from 'viem';
import { Journal, type JournalRecord } from './journal.js';
import type { Item, Kind, Outcome } from './types.js';

const keyOf = (windowId: bigint, prosumer: Address) => `${windowId}:${prosumer.toLowerCase()}`;

export function ownerOf(item: Item): Address {
  return item.kind === 'permit' ? item.data.owner : item.data.prosumer;
}

export class RelayStore {
  private readonly items = new Map<Hex, Item>();
  /** Orders and cancels by window and prosumer, in acceptance order. */
  private readonly byKey = new Map<string, Hex[]>();
  /** Queued items in acceptance order. */
  private readonly queue = new Set<Hex>();
  /** Keys (window:prosumer and `permit:owner`) reserved by requests between their checks and their journal write. */
  private readonly reserved = new Set<string>();

  private constructor(private readonly journal: Journal) {}

  /** Opens the journal and replays it. */
  static async open(file: string): Promise<RelayStore> {
    const { journal, records } = await Journal.open(file);
    const store = new RelayStore(journal);
    for (const record of records) store.apply(record);
    return store;
  }

  private apply(record: JournalRecord): void {
    if (record.t === 'accept') {
      const item = record.item;
      this.items.set(item.id, item);
      if (item.kind !== 'permit') {
        const key = keyOf(item.data.windowId, item.data.prosumer);
        const ids = this.byKey.get(key) ?? [];
        if (!ids.includes(item.id)) ids.push(item.id);
        this.byKey.set(key, ids);
      }
      if (item.outcome) this.queue.delete(item.id);
      else this.queue.add(item.id);
    } else {
      const item = this.items.get(record.id);
      if (!item) return;
      if (record.t === 'outcome') {
        item.outcome = record.outcome;
        this.queue.delete(item.id);
      } else {
        item.attempts = record.attempts;
      }
    }
  }

  get(id: Hex): Item | undefined {
    return this.items.get(id);
  }

  /** Orders and cancels of a prosumer in a window, oldest first. */
  forKey(windowId: bigint, prosumer: Address): Item[] {
    return (this.byKey.get(keyOf(windowId, prosumer)) ?? [])
      .map((id) => this.items.get(id))
      .filter((i): i is Item => !!i);
  }

  /** Queued items (of one kind), in acceptance order. */
  queued(): Item[];
  queued<K extends Kind>(kind: K): Extract<Item, { kind: K }>[];
  queued(kind?: Kind): Item[] {
    const out: Item[] = [];
    for (const id of this.queue) {
      const item = this.items.get(id);
      if (item && (kind === undefined || item.kind === kind)) out.push(item);
    }
    return out;
  }

  get depth(): number {
    return this.queue.size + this.reserved.size;
  }

  /** Reserves `key` for a request being accepted; false when another request holds it. */
  reserve(key: string): boolean {
    if (this.reserved.has(key)) return false;
    this.reserved.add(key);
    return true;
  }

  release(key: string): void {
    this.reserved.delete(key);
  }

  /** Journals (fsync) and queues an accepted item. */
  async accept(item: Item): Promise<void> {
    const record: JournalRecord = { t: 'accept', item };
    await this.journal.append(record);
    this.apply(record);
  }

  /** Journals and records the final outcome of a queued item. */
  async resolve(item: Item, outcome: Outcome): Promise<void> {
    const record: JournalRecord = { t: 'outcome', id: item.id, outcome };
    await this.journal.append(record);
    this.apply(record);
  }

  async countAttempt(item: Item): Promise<void> {
    const record: JournalRecord = { t: 'attempt', id: item.id, attempts: item.attempts + 1 };
    await this.journal.append(record);
    this.apply(record);
  }

  /**
   * Rewrites the journal with one record per item, dropping finished items of windows before `keepFrom`
   * (permits: accepted before `keepFromTime`). Queued items are always kept.
   */
  async compact(keepFrom: bigint, keepFromTime: string): Promise<void> {
    const keep: JournalRecord[] = [];
    for (const item of this.items.values()) {
      const old = item.kind === 'permit' ? item.acceptedAt < keepFromTime : item.data.windowId < keepFrom;
      if (old && item.outcome) {
        this.items.delete(item.id);
        continue;
      }
      keep.push({ t: 'accept', item });
    }
    for (const [key, ids] of this.byKey) {
      const left = ids.filter((id) => this.items.has(id));
      if (left.length === 0) this.byKey.delete(key);
      else this.byKey.set(key, left);
    }
    await this.journal.rewrite(keep);
  }

  close(): Promise<void> {
    return this.journal.close();
  }
}

export const reservationKey = (item: { kind: Kind; windowId?: bigint; owner: Address }) =>
  item.kind === 'permit'
    ? `permit:${item.owner.toLowerCase()}`
    : `${item.kind}:${keyOf(item.windowId ?? 0n, item.owner)}`;
