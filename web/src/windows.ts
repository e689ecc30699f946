// The list of market windows, newest first: WindowOpened logs scanned once, then only the new blocks.
import type { ChainWatch } from './chain.js';
import type { MarketReads, WindowView } from './market.js';

export type WindowLabel = 'Open' | 'In progress' | 'Cleared' | 'Settled';

/** The four states a prosumer sees: an open window past its end, closing or settling, is "In progress". */
export function windowLabel(w: WindowView, now: bigint, duration: bigint): WindowLabel {
  if (w.status === 'Settled') return 'Settled';
  if (w.status === 'Cleared') return 'Cleared';
  if (w.status === 'Open' && now < w.windowId + duration) return 'Open';
  return 'In progress';
}

export interface WindowRow extends WindowView {
  label: WindowLabel;
  tokensMoved: bigint;
}

export class WindowList {
  private ids: bigint[] = [];
  private scannedTo: bigint | undefined;
  private readonly settled = new Map<bigint, WindowRow>();

  constructor(
    private readonly watch: ChainWatch,
    private readonly reads: MarketReads,
  ) {}

  /** Window ids, newest first (scans the blocks since the last call). */
  async all(): Promise<bigint[]> {
    const head = this.watch.head?.number;
    if (head === undefined) return this.ids;
    const from = this.scannedTo === undefined ? this.watch.config.startBlock : this.scannedTo + 1n;
    if (from <= head) {
      const found = await this.reads.openedWindows(from, head);
      this.ids = [...new Set([...this.ids, ...found])].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
      this.scannedTo = head;
    }
    return this.ids;
  }

  /** The rows of one page (settled windows are final, so they are read once). */
  async page(index: number, size: number): Promise<{ rows: WindowRow[]; total: number }> {
    const ids = await this.all();
    const slice = ids.slice(index * size, index * size + size);
    const head = this.watch.head?.number ?? 0n;
    const rows = await Promise.all(
      slice.map(async (id) => {
        const cached = this.settled.get(id);
        if (cached) return cached;
        const w = await this.reads.window(id);
        const label = windowLabel(w, this.watch.now(), this.watch.config.windowDuration);
        const tokensMoved =
          w.settledCount > 0n ? await this.reads.tokensMoved(id, this.watch.config.startBlock, head) : 0n;
        const row = { ...w, label, tokensMoved };
        if (w.status === 'Settled') this.settled.set(id, row);
        return row;
      }),
    );
    return { rows, total: ids.length };
  }
}
