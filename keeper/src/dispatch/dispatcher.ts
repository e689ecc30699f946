// Sends each settled window's results to the dispatcher until it acknowledges them (2xx), oldest first.
// Pending = Settled windows of the lookback (read from the chain) minus the acknowledgement record, so a
// restart (even kill -9) neither loses an unacknowledged window nor re-sends an acknowledged one.
import pRetry from 'p-retry';
import type { Address } from 'viem';
import type { MarketReader } from '../chain.js';
import { PollLoop } from '../poll-loop.js';
import type { Logger } from '../log.js';
import type { AckStore } from './acks.js';
import type { DispatchConfig } from './config.js';
import type { DispatchMetrics, DispatchResult } from './metrics.js';
import { buildPayload } from './payload.js';
import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, idempotencyKey, signBody } from './sign.js';

export type DispatchSettings = Pick<
  DispatchConfig,
  'dispatcherUrl' | 'dispatcherSecret' | 'dispatchTimeoutMs' | 'dispatchRetries' | 'dispatchLookbackWindows'
> & { chainId: number; intervalMs: number };

class DeliveryError extends Error {
  constructor(
    readonly result: DispatchResult,
    message: string,
  ) {
    super(message);
  }
}

export class ResultsDispatcher {
  private readonly loop: PollLoop;

  constructor(
    private readonly settings: DispatchSettings,
    private readonly reader: MarketReader,
    private readonly acks: AckStore,
    private readonly metrics: DispatchMetrics,
    private readonly log: Logger,
  ) {
    this.loop = new PollLoop(
      settings.intervalMs,
      () => this.dispatchPending(),
      (error) => this.log.error({ action: 'dispatch', err: error }, 'dispatch pass failed; will retry'),
    );
  }

  private key(windowId: bigint): string {
    return idempotencyKey(this.settings.chainId, this.reader.market, windowId);
  }

  /** Settled windows of the lookback that are not acknowledged, oldest first. */
  async pending(): Promise<bigint[]> {
    const d = await this.reader.windowDuration();
    const now = (await this.reader.client.getBlock({ blockTag: 'latest' })).timestamp;
    const current = now - (now % d);
    const candidates: bigint[] = [];
    for (let k = BigInt(this.settings.dispatchLookbackWindows); k >= 2n; k--) {
      const w = current - k * d;
      if (w >= 0n && !this.acks.has(this.key(w))) candidates.push(w);
    }
    const states = await Promise.all(candidates.map((w) => this.reader.window(w)));
    const pending = candidates.filter((_, i) => states[i]?.status === 'Settled');
    this.metrics.pending.set(pending.length);
    return pending;
  }

  /** One pass: delivers every pending window in order; stops at the first that exhausts its retries. */
  async dispatchPending(): Promise<number> {
    const registry: Address = await this.reader.registry();
    let delivered = 0;
    const pending = await this.pending();
    for (const windowId of pending) {
      if (this.loop.stopped) break;
      if (!(await this.deliver(registry, windowId))) break;
      delivered++;
      this.metrics.pending.set(pending.length - delivered);
    }
    return delivered;
  }

  private async deliver(registry: Address, windowId: bigint): Promise<boolean> {
    const key = this.key(windowId);
    const log = this.log.child({ action: 'dispatch', windowId: windowId.toString() });
    let body: string;
    try {
      body = JSON.stringify(await buildPayload(this.reader, registry, this.settings.chainId, windowId));
    } catch (error) {
      this.metrics.total.inc({ result: 'build_failed' });
      log.error({ err: error }, 'could not read the window results; will try again');
      return false;
    }
    const signature = signBody(body, this.settings.dispatcherSecret);
    try {
      const status = await pRetry(() => this.post(body, signature, key), {
        retries: this.settings.dispatchRetries,
        minTimeout: 200,
        maxTimeout: 10_000,
        randomize: true,
        shouldRetry: () => !this.loop.stopped,
        onFailedAttempt: ({ error, attemptNumber }) => {
          const result = error instanceof DeliveryError ? error.result : 'network';
          this.metrics.total.inc({ result });
          log.warn({ attempt: attemptNumber, result, err: error.message }, 'dispatcher did not acknowledge; retrying');
        },
      });
      await this.acks.record({ key, windowId: windowId.toString(), status, at: new Date().toISOString() });
      this.metrics.total.inc({ result: 'acknowledged' });
      log.info({ status, idempotencyKey: key }, 'results acknowledged by the dispatcher');
      return true;
    } catch (error) {
      log.error({ err: error }, 'dispatcher still not acknowledging; the window stays pending');
      return false;
    }
  }

  private async post(body: string, signature: string, key: string): Promise<number> {
    let res: Response;
    try {
      res = await fetch(this.settings.dispatcherUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signature, [IDEMPOTENCY_HEADER]: key },
        body,
        signal: AbortSignal.timeout(this.settings.dispatchTimeoutMs),
      });
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === 'TimeoutError' || name === 'AbortError') {
        throw new DeliveryError('timeout', `no answer within ${this.settings.dispatchTimeoutMs} ms`);
      }
      throw new DeliveryError('network', String((error as Error).message ?? error));
    }
    await res.arrayBuffer().catch(() => undefined);
    if (res.status < 200 || res.status >= 300) throw new DeliveryError('http_error', `HTTP ${res.status}`);
    return res.status;
  }

  /** Passes every `intervalMs` until `stop()`; a failed pass is logged and retried on the next one. */
  async run(): Promise<void> {
    await this.loop.run();
  }

  stop(): void {
    this.loop.stop();
  }
}
