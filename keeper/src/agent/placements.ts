// The agent's record of placements: one fsynced JSON line per order it handed to the relayer (or found on the
// chain). With the chain's `orderNonce`, it keeps the agent from placing twice in a window, across restarts.
import { getAddress, type Address } from 'viem';
import { appendJsonLine, readJsonLines } from '../jsonl-record.js';

export interface Placement {
  windowId: string;
  prosumer: Address;
  /** The relayer's request id, or `chain` when the order was found on the chain. */
  requestId: string;
  side?: 'buy' | 'sell';
  energyWh?: string;
  pricePerKWh?: string;
  at: string;
}

export class PlacementStore {
  private readonly done = new Set<string>();
  private constructor(readonly file: string | undefined) {}

  /** `file` undefined: in memory only (the chain check still prevents a second order). */
  static async open(file: string | undefined): Promise<PlacementStore> {
    const store = new PlacementStore(file);
    if (file === undefined) return store;
    for (const p of (await readJsonLines(file)) as Partial<Placement>[]) {
      if (typeof p.windowId === 'string' && typeof p.prosumer === 'string') store.done.add(key(p.windowId, p.prosumer));
    }
    return store;
  }

  has(windowId: bigint, prosumer: Address): boolean {
    return this.done.has(key(windowId.toString(), prosumer));
  }

  async record(p: Placement): Promise<void> {
    if (this.file !== undefined) await appendJsonLine(this.file, p);
    this.done.add(key(p.windowId, p.prosumer));
  }
}

const key = (windowId: string, prosumer: string) => `${windowId}:${getAddress(prosumer)}`;
