// The browser's own connection to the chain: a viem client on the configured RPC, the head block polled every
// second, and the chain's state (ok, unreachable, wrong chain id) for the banner.
import { createPublicClient, http, type Chain, type PublicClient, type Transport } from 'viem';
import type { BrowserConfig } from './config.js';

export type ChainState =
  | { kind: 'connecting' }
  | { kind: 'ok' }
  | { kind: 'unreachable'; detail: string }
  | { kind: 'wrong-chain'; actual: number };

export interface Head {
  number: bigint;
  timestamp: bigint;
  /** Date.now() when this head was first seen. */
  seenAt: number;
}

const POLL_MS = 1000;

export class ChainWatch {
  readonly client: PublicClient<Transport, Chain>;
  state: ChainState = { kind: 'connecting' };
  head: Head | undefined;
  private readonly listeners = new Set<() => void>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private chainChecked = false;

  constructor(readonly config: BrowserConfig) {
    const chain: Chain = {
      id: config.chainId,
      name: `chain ${config.chainId}`,
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [config.rpcUrl] } },
    };
    this.client = createPublicClient({
      chain,
      transport: http(config.rpcUrl, { retryCount: 0, timeout: 8000, batch: { wait: 16 } }),
    });
  }

  /** Calls `fn` on every new block and every change of state; returns the unsubscribe function. */
  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(): void {
    for (const fn of this.listeners) fn();
  }

  start(): void {
    void this.poll();
  }

  /** The chain's time now: the head's timestamp plus the wall-clock time since it was seen. */
  now(): bigint {
    if (!this.head) return BigInt(Math.floor(Date.now() / 1000));
    return this.head.timestamp + BigInt(Math.floor((Date.now() - this.head.seenAt) / 1000));
  }

  get ok(): boolean {
    return this.state.kind === 'ok';
  }

  private async poll(): Promise<void> {
    try {
      if (!this.chainChecked) {
        const actual = await this.client.getChainId();
        if (actual !== this.config.chainId) {
          this.setState({ kind: 'wrong-chain', actual });
          return this.schedule(5000);
        }
        this.chainChecked = true;
      }
      const block = await this.client.getBlock({ blockTag: 'latest' });
      const changed = this.head?.number !== block.number || this.state.kind !== 'ok';
      if (this.head?.number !== block.number) {
        this.head = { number: block.number, timestamp: block.timestamp, seenAt: Date.now() };
      }
      this.state = { kind: 'ok' };
      if (changed) this.emit();
    } catch (error) {
      this.chainChecked = false;
      this.setState({ kind: 'unreachable', detail: (error as Error).message.split('\n')[0] ?? 'no answer' });
    }
    this.schedule(POLL_MS);
  }

  private setState(state: ChainState): void {
    const changed = JSON.stringify(state) !== JSON.stringify(this.state);
    this.state = state;
    if (changed) this.emit();
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.poll(), ms);
  }
}
