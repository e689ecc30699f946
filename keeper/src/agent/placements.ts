// The agent's record of placements: one fsynced JSON line per order it handed to the relayer (or found on the
// chain). With the chain's `orderNonce`, it keeps the agent from placing twice in a window, across restarts.
import { mkdir, open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { getAddress, type Address } from 'viem';

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
    let text = '';
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    for (const line of text.split('\n')) {
      try {
        const p = JSON.parse(line) as Partial<Placement>;
        if (typeof p.windowId === 'string' && typeof p.prosumer === 'string')
          store.done.add(key(p.windowId, p.prosumer));
      } catch {
        // empty or torn line
      }
    }
    return store;
  }

  has(windowId: bigint, prosumer: Address): boolean {
    return this.done.has(key(windowId.toString(), prosumer));
  }

  async record(p: Placement): Promise<void> {
    if (this.file !== undefined) {
      await mkdir(path.dirname(path.resolve(this.file)), { recursive: true });
      const handle = await open(this.file, 'a');
      try {
        await handle.write(`${JSON.stringify(p)}\n`);
        await handle.datasync();
      } finally {
        await handle.close();
      }
    }
    this.done.add(key(p.windowId, p.prosumer));
  }
}

const key = (windowId: string, prosumer: string) => `${windowId}:${getAddress(prosumer)}`;
