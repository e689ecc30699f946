// What every page gets (the chain, reads, the relayer, the session) and gives (its element, a refresh).
import type { Me } from './api.js';
import type { ChainWatch } from './chain.js';
import type { BrowserConfig } from './config.js';
import type { MarketReads } from './market.js';
import type { Relay } from './orders.js';
import type { Signer } from './wallet.js';

export interface Ctx {
  config: BrowserConfig;
  watch: ChainWatch;
  reads: MarketReads;
  relay: Relay;
  me: Me;
  /** The signer the prosumer signed in with (asks the browser wallet again if needed). */
  signer(): Promise<Signer>;
}

export interface Page {
  el: HTMLElement;
  /** Re-reads what the page shows; called on every new block (never twice at once). */
  refresh(): Promise<void>;
  dispose?(): void;
}

/** Runs `refresh` after each call of the returned function, one at a time, coalescing calls made meanwhile. */
export function serial(refresh: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  let again = false;
  const run = async (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await refresh();
      } while (again);
    })().finally(() => (running = undefined));
    return running;
  };
  return run;
}
