// The keeper's relayer: accepts signed orders, cancels and permits over HTTP, journals them, and places them
// through the keeper's TxSender every RELAY_INTERVAL_MS or RELAY_BATCH orders, whichever comes first.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Address, Chain, Hex, PublicClient, Transport } from 'viem';
import type { KeeperConfig } from '../config.js';
import type { Logger } from '../log.js';
import type { KeeperMetrics } from '../metrics.js';
import { withRetry } from '../retry.js';
import type { TxSender } from '../tx.js';
import { Batcher } from './batcher.js';
import { startRelayServer } from './http.js';
import { RelayMetrics } from './metrics.js';
import { RelayStore, ownerOf, reservationKey } from './store.js';
import { Refusal, SIDE_NAMES, type Item, type Kind } from './types.js';
import { cancelRequest, orderRequest, parseBody, permitRequest } from './validate.js';
import {
  Verifier,
  cancelDigest,
  loadChainInfo,
  orderDigest,
  permitDigest,
  splitSignature,
  type ChainInfo,
} from './verify.js';

export type RelayerSettings = Pick<
  KeeperConfig,
  | 'marketAddress'
  | 'relayerPort'
  | 'relayerHost'
  | 'relayIntervalMs'
  | 'relayBatch'
  | 'relayQueueMax'
  | 'relayJournalPath'
  | 'relayMaxBodyBytes'
  | 'relayRateLimit'
  | 'relayCloseMarginS'
  | 'lookbackWindows'
>;

/** The JSON form of an item for the status API (amounts as decimal strings). */
export function itemJson(item: Item): Record<string, unknown> {
  const o = item.outcome;
  const base = {
    id: item.id,
    kind: item.kind,
    status: o?.status ?? 'queued',
    acceptedAt: item.acceptedAt,
    ...(o?.txHash ? { txHash: o.txHash } : {}),
    ...(o?.blockNumber !== undefined ? { blockNumber: o.blockNumber.toString() } : {}),
    ...(o?.reason ? { reason: o.reason } : {}),
  };
  if (item.kind === 'order') {
    const d = item.data;
    return {
      ...base,
      prosumer: d.prosumer,
      windowId: d.windowId.toString(),
      side: SIDE_NAMES[d.side],
      energyWh: d.energyWh.toString(),
      pricePerKWh: d.pricePerKWh.toString(),
      nonce: d.nonce.toString(),
    };
  }
  if (item.kind === 'cancel') {
    const d = item.data;
    return { ...base, prosumer: d.prosumer, windowId: d.windowId.toString(), nonce: d.nonce.toString() };
  }
  const d = item.data;
  return {
    ...base,
    owner: d.owner,
    spender: d.spender,
    value: d.value.toString(),
    deadline: d.deadline.toString(),
    nonce: d.nonce.toString(),
  };
}

/** Fixed one-minute windows of requests per address. */
class RateLimiter {
  private readonly counts = new Map<string, number>();
  private minute = 0;

  constructor(private readonly perMinute: number) {}

  take(address: Address): boolean {
    const minute = Math.floor(Date.now() / 60_000);
    if (minute !== this.minute) {
      this.minute = minute;
      this.counts.clear();
    }
    const key = address.toLowerCase();
    const n = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, n);
    return n <= this.perMinute;
  }
}

export class Relayer {
  private server: Server | undefined;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** A full batch arrived while a round was running: run the next round without waiting. */
  private wakeRequested = false;
  private roundInFlight: Promise<void> | undefined;
  private readonly limiter: RateLimiter;
  readonly metrics: RelayMetrics;

  private constructor(
    private readonly settings: RelayerSettings,
    readonly info: ChainInfo,
    private readonly store: RelayStore,
    private readonly verifier: Verifier,
    private readonly batcher: Batcher,
    private readonly log: Logger,
    metrics: RelayMetrics,
  ) {
    this.limiter = new RateLimiter(settings.relayRateLimit);
    this.metrics = metrics;
  }

  /** Reads the market's domain and limits, replays the journal and reconciles it with the chain. */
  static async create(
    settings: RelayerSettings,
    client: PublicClient<Transport, Chain>,
    sender: TxSender,
    keeperMetrics: KeeperMetrics,
    parentLog: Logger,
  ): Promise<Relayer> {
    const log = parentLog.child({ component: 'relayer' });
    const info = await withRetry(() => loadChainInfo(client, settings.marketAddress as Address));
    const store = await RelayStore.open(settings.relayJournalPath);
    const metrics = new RelayMetrics(keeperMetrics.registry);
    const batcher = new Batcher(client, info, sender, store, metrics, log, settings.relayBatch);
    const relayer = new Relayer(settings, info, store, new Verifier(client, info), batcher, log, metrics);
    const marginS = Math.ceil(settings.relayIntervalMs / 1000) + settings.relayCloseMarginS;
    if (BigInt(marginS) * 2n > info.windowDuration) {
      log.warn(
        { marginS, windowDuration: Number(info.windowDuration) },
        'RELAY_INTERVAL_MS + RELAY_CLOSE_MARGIN_S is over half a window: ' +
          'orders are refused (WINDOW_CLOSING) for most of each window',
      );
    }
    const queued = store.queued().length;
    await batcher.recover();
    const head = await withRetry(() => client.getBlock({ blockTag: 'latest' }));
    const d = info.windowDuration;
    const keepFrom = head.timestamp - (head.timestamp % d) - BigInt(settings.lookbackWindows) * d;
    const keepFromTime = new Date(Number(keepFrom) * 1000).toISOString();
    await store.compact(keepFrom, keepFromTime);
    metrics.queueDepth.set(store.depth);
    log.info(
      { journal: settings.relayJournalPath, replayedQueued: queued, stillQueued: store.depth },
      'relayer journal replayed',
    );
    return relayer;
  }

  /** Starts the HTTP API and the batch loop. */
  async start(): Promise<Server> {
    this.server = await startRelayServer(
      this,
      this.settings.relayerPort,
      this.settings.relayerHost,
      this.settings.relayMaxBodyBytes,
      this.log,
    );
    const address = this.server.address() as AddressInfo;
    this.log.info({ host: address.address, port: address.port }, 'relayer listening');
    this.loop = this.run();
    return this.server;
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | undefined)?.port ?? 0;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      await this.flush().catch((error: unknown) =>
        this.log.error({ err: error }, 'relay round failed; retrying next interval'),
      );
      if (this.stopping) break;
      if (this.wakeRequested) {
        this.wakeRequested = false;
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => this.wake?.(), this.settings.relayIntervalMs);
        this.wake = () => {
          clearTimeout(timer);
          this.wake = undefined;
          resolve();
        };
      });
    }
  }

  /** Runs one round now (or waits for the one in progress). */
  flush(): Promise<void> {
    this.roundInFlight ??= this.batcher.round().finally(() => {
      this.roundInFlight = undefined;
      this.metrics.queueDepth.set(this.store.depth);
    });
    return this.roundInFlight;
  }

  /** Stops taking requests and closes the server; the round in progress finishes (or is abandoned after graceMs). */
  async stop(graceMs = 30_000): Promise<void> {
    this.stopping = true;
    this.wake?.();
    const server = this.server;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await Promise.race([this.loop ?? Promise.resolve(), new Promise((r) => setTimeout(r, graceMs))]);
    await this.store.close();
  }

  get(id: Hex): Item | undefined {
    return this.store.get(id);
  }

  /** The latest order of the prosumer in the window. */
  latestOrder(windowId: bigint, prosumer: Address): Item | undefined {
    return this.store
      .forKey(windowId, prosumer)
      .filter((i) => i.kind === 'order')
      .pop();
  }

  private admit(owner: Address): void {
    if (this.stopping) throw new Refusal(503, 'SHUTTING_DOWN', 'the relayer is stopping; try again later');
    if (!this.limiter.take(owner)) {
      throw new Refusal(
        429,
        'RATE_LIMITED',
        `more than ${this.settings.relayRateLimit} requests a minute for ${owner}`,
      );
    }
    if (this.store.depth >= this.settings.relayQueueMax) {
      throw new Refusal(
        429,
        'QUEUE_FULL',
        `the relayer's queue is full (${this.settings.relayQueueMax}); try again after the next batch`,
      );
    }
  }

  /** Verifies, journals (fsync) and queues; returns the id. Throws a Refusal. */
  async submit(kind: Kind, body: unknown): Promise<Hex> {
    const id = await this.accept(kind, body);
    if (kind === 'order') this.metrics.orders.inc({ result: 'accepted' });
    this.metrics.requests.inc({ kind, result: 'accepted' });
    this.metrics.queueDepth.set(this.store.depth);
    if (this.store.queued('order').length >= this.settings.relayBatch) {
      if (this.wake) this.wake();
      else this.wakeRequested = true;
    }
    return id;
  }

  /** Counts a request of `kind` that was not accepted (any 4xx or 5xx answer). */
  refused(kind: Kind): void {
    if (kind === 'order') this.metrics.orders.inc({ result: 'refused' });
    this.metrics.requests.inc({ kind, result: 'refused' });
  }

  private async accept(kind: Kind, body: unknown): Promise<Hex> {
    const margin = BigInt(Math.ceil(this.settings.relayIntervalMs / 1000) + this.settings.relayCloseMarginS);
    const acceptedAt = new Date().toISOString();
    if (kind === 'order') {
      const r = parseBody(orderRequest, body);
      this.admit(r.prosumer);
      const data = { ...r, side: r.side === 'buy' ? (0 as const) : (1 as const) };
      const id = orderDigest(this.info, data);
      return this.reserved(reservationKey({ kind, windowId: data.windowId, owner: data.prosumer }), async () => {
        const earlier = this.store.forKey(data.windowId, data.prosumer);
        const queuedOrder = earlier.find((i) => i.kind === 'order' && !i.outcome);
        if (queuedOrder) {
          throw new Refusal(
            409,
            'ALREADY_QUEUED',
            `an order of ${data.prosumer} for window ${data.windowId} is queued already`,
            {
              id: queuedOrder.id,
            },
          );
        }
        const cancelQueued = earlier.some((i) => i.kind === 'cancel' && !i.outcome && i.data.nonce + 1n === data.nonce);
        const block = await this.chain(() => this.verifier.checkOrder(data, { cancelQueued, closeMarginS: margin }));
        await this.store.accept({ id, kind, data, acceptedAt, acceptedBlock: block, attempts: 0 });
        return id;
      });
    }
    if (kind === 'cancel') {
      const data = parseBody(cancelRequest, body);
      this.admit(data.prosumer);
      const id = cancelDigest(this.info, data);
      return this.reserved(reservationKey({ kind, windowId: data.windowId, owner: data.prosumer }), async () => {
        const queued = this.store.forKey(data.windowId, data.prosumer).find((i) => i.kind === 'cancel' && !i.outcome);
        if (queued) {
          throw new Refusal(
            409,
            'ALREADY_QUEUED',
            `a cancel of ${data.prosumer} for window ${data.windowId} is queued already`,
            { id: queued.id },
          );
        }
        const block = await this.chain(() => this.verifier.checkCancel(data, margin));
        await this.store.accept({ id, kind, data, acceptedAt, acceptedBlock: block, attempts: 0 });
        return id;
      });
    }
    const r = parseBody(permitRequest, body);
    this.admit(r.owner);
    const sig = r.signature ? splitSignature(r.signature) : { v: r.v as number, r: r.r as Hex, s: r.s as Hex };
    return this.reserved(reservationKey({ kind, owner: r.owner }), async () => {
      const queued = this.store.queued('permit').find((i) => ownerOf(i).toLowerCase() === r.owner.toLowerCase());
      if (queued)
        throw new Refusal(409, 'ALREADY_QUEUED', `a permit of ${r.owner} is queued already`, { id: queued.id });
      const nonce = await this.chain(() => this.verifier.permitNonce(r.owner));
      const data = {
        owner: r.owner,
        spender: r.spender ?? this.info.market,
        value: r.value,
        deadline: r.deadline,
        nonce,
        ...sig,
      };
      const block = await this.chain(() => this.verifier.checkPermit(data, margin));
      const id = permitDigest(this.info, data);
      await this.store.accept({ id, kind, data, acceptedAt, acceptedBlock: block, attempts: 0 });
      return id;
    });
  }

  /** Runs `fn` holding `key`, so that two requests for the same prosumer and window are checked one at a time. */
  private async reserved<T>(key: string, fn: () => Promise<T>): Promise<T> {
    if (!this.store.reserve(key)) {
      throw new Refusal(409, 'ALREADY_QUEUED', 'another request of this prosumer for this window is being checked');
    }
    try {
      return await fn();
    } finally {
      this.store.release(key);
    }
  }

  /** Chain reads of a check: a Refusal passes through, an RPC failure is a 503. */
  private async chain<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await withRetry(fn, { retries: 2 });
    } catch (error) {
      if (error instanceof Refusal) throw error;
      const cause = (error as { cause?: unknown }).cause;
      if (cause instanceof Refusal) throw cause;
      this.log.warn({ err: error }, 'chain read failed while checking a request');
      throw new Refusal(503, 'CHAIN_UNAVAILABLE', 'the relayer could not read the chain; try again');
    }
  }
}
