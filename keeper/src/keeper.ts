// The keeper loop: the chain decides what is due; the keeper notices, simulates, sends and watches.
import { keccak256, toHex, type Address } from 'viem';
import { energyMarketAbi } from './abi.js';
import { mapInChunks, type Clients, type MarketReader, type UpkeepActionName } from './chain.js';
import type { KeeperConfig } from './config.js';
import type { Logger } from './log.js';
import type { MeterSource, ProsumerContext } from './meters/types.js';
import { validateReadings } from './meters/validate.js';
import type { Action, HealthState, KeeperMetrics } from './metrics.js';
import { withRetry } from './retry.js';
import { DeterministicError, type TxSender } from './tx.js';

export const ORACLE_ROLE = keccak256(toHex('ORACLE_ROLE'));

export type KeeperSettings = Pick<
  KeeperConfig,
  | 'chainId'
  | 'marketAddress'
  | 'readings'
  | 'readingsBatch'
  | 'closeBatch'
  | 'settleBatch'
  | 'lookbackWindows'
  | 'pollIntervalMs'
  | 'minBalanceWei'
  | 'dryRun'
  | 'maxTicks'
>;

export class StartupCheckError extends Error {
  override name = 'StartupCheckError';
}

const ACTION_OF: Record<Exclude<UpkeepActionName, 'None'>, Action> = { Open: 'open', Close: 'close', Settle: 'settle' };

export class Keeper implements HealthState {
  private stopping = false;
  private looping = false;
  private checksPassed = false;
  private lastTickMs = 0;
  private wake: (() => void) | undefined;
  private duration = 0n;
  private registry: Address | undefined;

  constructor(
    private readonly settings: KeeperSettings,
    private readonly clients: Clients,
    private readonly reader: MarketReader,
    private readonly sender: TxSender,
    private readonly meters: MeterSource,
    private readonly metrics: KeeperMetrics,
    private readonly log: Logger,
  ) {}

  /** Chain id, contract code, roles and balance; throws StartupCheckError with a clear message. */
  async startupChecks(): Promise<void> {
    const chainId = await withRetry(() => this.clients.public.getChainId());
    if (chainId !== this.settings.chainId) {
      throw new StartupCheckError(`RPC is chain ${chainId}, config says CHAIN_ID=${this.settings.chainId}`);
    }
    const code = await withRetry(() => this.clients.public.getCode({ address: this.settings.marketAddress as Address }));
    if (!code || code === '0x') throw new StartupCheckError(`no contract at MARKET_ADDRESS ${this.settings.marketAddress}`);
    try {
      this.duration = await withRetry(() => this.reader.windowDuration());
      this.registry = await withRetry(() => this.reader.registry());
    } catch {
      throw new StartupCheckError(`MARKET_ADDRESS ${this.settings.marketAddress} does not answer like an EnergyMarket`);
    }
    const signer = this.sender.address;
    if (this.settings.readings && !(await withRetry(() => this.reader.hasRole(ORACLE_ROLE, signer)))) {
      throw new StartupCheckError(`signer ${signer} lacks ORACLE_ROLE on the market (or run with READINGS=false)`);
    }
    const balance = await withRetry(() => this.clients.public.getBalance({ address: signer }));
    this.metrics.balance.set(Number(balance));
    if (!this.settings.dryRun && balance < this.settings.minBalanceWei) {
      throw new StartupCheckError(`signer ${signer} balance ${balance} wei is below MIN_BALANCE_WEI=${this.settings.minBalanceWei}`);
    }
    await this.sender.syncNonce();
    this.checksPassed = true;
    this.log.info({ signer, market: this.settings.marketAddress, windowDuration: Number(this.duration) }, 'start-up checks passed');
  }

  alive(): boolean {
    return this.looping && !this.stopping;
  }

  async ready(): Promise<boolean> {
    if (!this.checksPassed || Date.now() - this.lastTickMs > 3 * this.settings.pollIntervalMs + 30_000) return false;
    try {
      await this.clients.public.getBlockNumber({ cacheTime: 0 });
      return true;
    } catch {
      return false;
    }
  }

  /** Runs ticks until `stop()`; sleeps until the next window boundary of chain time or the poll interval. */
  async run(): Promise<void> {
    this.looping = true;
    let ticks = 0;
    try {
      while (!this.stopping) {
        let now: bigint | undefined;
        try {
          now = await this.tick();
        } catch (error) {
          this.log.error({ err: String(error) }, 'tick failed; will retry after the poll interval');
        }
        ticks++;
        if (this.settings.maxTicks !== undefined && ticks >= this.settings.maxTicks) break;
        await this.sleep(this.sleepMs(now));
      }
    } finally {
      this.looping = false;
    }
  }

  stop(): void {
    this.stopping = true;
    this.wake?.();
  }

  /** One pass: readings that are due, then every due upkeep action. Returns the chain time it started at. */
  async tick(): Promise<bigint> {
    if (this.duration === 0n) this.duration = await withRetry(() => this.reader.windowDuration());
    if (!this.registry) this.registry = await withRetry(() => this.reader.registry());
    const now = (await withRetry(() => this.clients.public.getBlock({ blockTag: 'latest' }))).timestamp;
    if (this.settings.readings) await this.submitDueReadings(now);
    for (let performed = 0; !this.stopping; performed++) {
      const due = await withRetry(() => this.reader.checkUpkeep());
      if (!due.needed || due.action === 'None') {
        this.metrics.overdue.set(0);
        break;
      }
      this.metrics.overdue.set(Math.max(0, Number(now - (await this.dueSince(due.action, due.windowId)))));
      const ok = await this.perform(ACTION_OF[due.action], due.windowId);
      if (!ok || this.settings.dryRun) break;
    }
    const balance = await withRetry(() => this.clients.public.getBalance({ address: this.sender.address })).catch(() => undefined);
    if (balance !== undefined) this.metrics.balance.set(Number(balance));
    this.lastTickMs = Date.now();
    this.metrics.lastTick.set(Math.floor(this.lastTickMs / 1000));
    return now;
  }

  private async dueSince(action: UpkeepActionName, windowId: bigint): Promise<bigint> {
    if (action === 'Open') return windowId;
    if (action === 'Close') return windowId + this.duration;
    return withRetry(() => this.reader.settleReadyAt(windowId));
  }

  /** Sends one action; false when it reverted (logged, not retried) so the tick stops instead of spinning. */
  private async perform(action: Action, windowId: bigint): Promise<boolean> {
    const [functionName, args] =
      action === 'open'
        ? (['openWindow', []] as const)
        : action === 'close'
          ? (['closeWindow', [windowId, BigInt(this.settings.closeBatch)]] as const)
          : (['settleWindow', [windowId, BigInt(this.settings.settleBatch)]] as const);
    return this.write(action, windowId, functionName, args);
  }

  private async write(action: Action, windowId: bigint, functionName: string, args: readonly unknown[]): Promise<boolean> {
    const end = this.metrics.actionDuration.startTimer({ action });
    const log = this.log.child({ action, windowId: windowId.toString() });
    try {
      const result = await this.sender.send({
        action,
        windowId,
        address: this.settings.marketAddress as Address,
        abi: energyMarketAbi,
        functionName,
        args,
      });
      if (result.kind === 'dry-run') {
        this.metrics.actions.inc({ action, result: 'dry_run' });
        return true;
      }
      end();
      this.metrics.actions.inc({ action, result: 'success' });
      this.metrics.lastSuccess.set({ action }, Math.floor(Date.now() / 1000));
      log.info({ txHash: result.receipt.transactionHash, gasUsed: result.receipt.gasUsed.toString() }, 'done');
      return true;
    } catch (error) {
      if (error instanceof DeterministicError) {
        this.metrics.actions.inc({ action, result: 'reverted' });
        log.warn({ err: error.message }, 'not retried: deterministic failure');
        return false;
      }
      this.metrics.actions.inc({ action, result: 'failed' });
      throw error;
    }
  }

  /** Readings for every cleared window whose delivery hour is over and whose traders lack one. */
  private async submitDueReadings(now: bigint): Promise<void> {
    const d = this.duration;
    const current = now - (now % d);
    for (let k = BigInt(this.settings.lookbackWindows) + 1n; k >= 2n && !this.stopping; k--) {
      const windowId = current - k * d;
      if (windowId < 0n || now < windowId + 2n * d) continue;
      const window = await withRetry(() => this.reader.window(windowId));
      if (window.status !== 'Cleared' || window.tradeCount === 0n) continue;
      const progress = await withRetry(() => this.reader.readingProgress(windowId));
      if (progress.readings >= progress.traders) continue;
      await this.submitWindowReadings(windowId, window.tradeCount);
    }
  }

  private async submitWindowReadings(windowId: bigint, tradeCount: bigint): Promise<void> {
    const log = this.log.child({ action: 'readings', windowId: windowId.toString() });
    const traders = await withRetry(() => this.reader.traders(windowId, tradeCount));
    const missing: Address[] = [];
    const states = await withRetry(() => mapInChunks(traders, (t) => this.reader.reading(windowId, t)));
    traders.forEach((t, i) => {
      if (!states[i]?.submitted) missing.push(t);
    });
    if (missing.length === 0) return;
    const registry = this.registry as Address;
    const contexts: ProsumerContext[] = await withRetry(() =>
      mapInChunks(missing, async (account) => ({ account, ...(await this.reader.assetTotals(registry, account)) })),
    );
    let raw;
    try {
      raw = await this.meters.fetch(windowId, Number(this.duration), contexts);
    } catch (error) {
      this.metrics.actions.inc({ action: 'readings', result: 'failed' });
      log.error({ err: String(error), source: this.meters.name }, 'meter source failed; will try again next tick');
      return;
    }
    const { valid, rejected } = validateReadings(raw, contexts, Number(this.duration));
    for (const r of rejected) {
      this.metrics.readingsRejected.inc({ reason: r.reason });
      log.warn({ prosumer: r.prosumer, reason: r.reason, detail: r.detail }, 'reading refused; not submitted');
    }
    for (let i = 0; i < valid.length && !this.stopping; i += this.settings.readingsBatch) {
      const batch = valid.slice(i, i + this.settings.readingsBatch);
      const ok = await this.write('readings', windowId, 'submitMeterReadings', [
        windowId,
        batch.map((r) => r.prosumer),
        batch.map((r) => r.importWh),
        batch.map((r) => r.exportWh),
      ]);
      if (!ok) return;
      if (!this.settings.dryRun) this.metrics.readingsSubmitted.inc(batch.length);
    }
  }

  private sleepMs(now: bigint | undefined): number {
    if (now === undefined || this.duration === 0n) return this.settings.pollIntervalMs;
    const next = now - (now % this.duration) + this.duration;
    return Math.min(this.settings.pollIntervalMs, Number(next - now) * 1000 + 250);
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
