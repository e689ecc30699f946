// The keeper loop: the chain decides what is due; the keeper notices, simulates, sends and watches.
import {
  keccak256,
  parseEventLogs,
  toFunctionSelector,
  toHex,
  type Address,
  type ContractFunctionArgs,
  type ContractFunctionName,
  type TransactionReceipt,
} from 'viem';
import { energyMarketAbi, type WindowState } from '@p2p-energy/sdk';
import { BlockFinder, mapInChunks, type Clients, type MarketReader, type UpkeepActionName } from './chain.js';
import type { KeeperConfig } from './config.js';
import type { Logger } from './log.js';
import type { MeterReading, MeterSource, ProsumerContext, RawReading } from './meters/types.js';
import { tradeBounded, validateReadings } from './meters/validate.js';
import type { Action, KeeperMetrics } from './metrics.js';
import type { HealthState } from './server.js';
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
> &
  Partial<Pick<KeeperConfig, 'readyProgressMs'>> &
  Partial<Pick<KeeperConfig, 'startBlock'>>;

type MarketWrite = ContractFunctionName<typeof energyMarketAbi, 'nonpayable'>;

export class StartupCheckError extends Error {
  override name = 'StartupCheckError';
}

/** Reverts that say the action is not (or no longer) due: a smaller batch would not help. */
const NOT_DUE_ERRORS = new Set([
  'WindowNotFound',
  'TooEarly',
  'WindowAlreadyCleared',
  'WindowNotCleared',
  'WindowAlreadySettled',
  'WindowAlreadyExists',
]);
/** Reverts of `submitMeterReadings` that concern the whole window (or the keeper's role), not one entry. */
const WINDOW_READING_ERRORS = new Set([
  'WindowNotFound',
  'WindowNotCleared',
  'SettlementStarted',
  'TooEarly',
  'LengthMismatch',
  'AccessControlUnauthorizedAccount',
]);
/** Readings that revert on their own before the rest of the window's readings wait for the next tick. */
const MAX_SINGLE_READING_FAILURES = 3;
/** `MeterReadingRejected.reason` selectors, as `keeper_readings_rejected_total` reasons. */
const ONCHAIN_REJECT_REASONS: Record<string, string> = {
  [toFunctionSelector('NotRegistered(address)')]: 'onchain_not_registered',
  [toFunctionSelector('ReadingOutOfRange(address,uint256,uint256)')]: 'onchain_out_of_range',
};

interface TickState {
  /** Chain time at the start of the tick. */
  now: bigint;
  /** Windows whose readings were attempted in this tick (only those may be settled). */
  readingsAttempted: Set<bigint>;
  /** Windows given up for this tick (an action failed even with a batch of one). */
  skipped: Set<bigint>;
  /** Since when the actions still due at the end of the tick have been due (chain time). */
  stillDue: bigint[];
}

type StepOutcome = 'done' | 'skipped' | 'stopped';
type WriteOutcome = { ok: true; receipt?: TransactionReceipt } | { ok: false; error: DeterministicError };

function shortError(error: unknown): string {
  return (
    String((error as { shortMessage?: string }).shortMessage ?? (error as Error).message ?? error).split('\n')[0] ?? ''
  );
}

export class Keeper implements HealthState {
  private stopping = false;
  private checksPassed = false;
  /** When the keeper last made progress: an RPC read, a sent or confirmed transaction, a finished step. */
  private lastProgressMs = 0;
  private wake: (() => void) | undefined;
  private duration = 0n;
  private registry: Address | undefined;
  private readonly blocks: BlockFinder;
  private readonly floorBlock: bigint;

  constructor(
    private readonly settings: KeeperSettings,
    private readonly clients: Clients,
    private readonly reader: MarketReader,
    private readonly sender: TxSender,
    private readonly meters: MeterSource,
    private readonly metrics: KeeperMetrics,
    private readonly log: Logger,
  ) {
    this.floorBlock = settings.startBlock ?? 0n;
    this.blocks = new BlockFinder(clients.public, this.floorBlock);
  }

  /** Chain id, contract code, roles and balance; throws StartupCheckError with a clear message. */
  async startupChecks(): Promise<void> {
    const chainId = await this.clients.public.getChainId();
    if (chainId !== this.settings.chainId) {
      throw new StartupCheckError(`RPC is chain ${chainId}, config says CHAIN_ID=${this.settings.chainId}`);
    }
    const code = await this.clients.public.getCode({ address: this.settings.marketAddress as Address });
    if (!code || code === '0x')
      throw new StartupCheckError(`no contract at MARKET_ADDRESS ${this.settings.marketAddress}`);
    try {
      this.duration = await this.reader.windowDuration();
      this.registry = await this.reader.registry();
    } catch {
      throw new StartupCheckError(`MARKET_ADDRESS ${this.settings.marketAddress} does not answer like an EnergyMarket`);
    }
    const signer = this.sender.address;
    if (this.settings.readings && !(await this.reader.hasRole(ORACLE_ROLE, signer))) {
      throw new StartupCheckError(`signer ${signer} lacks ORACLE_ROLE on the market (or run with READINGS=false)`);
    }
    const balance = await this.clients.public.getBalance({ address: signer });
    this.metrics.balance.set(Number(balance));
    if (!this.settings.dryRun && balance < this.settings.minBalanceWei) {
      throw new StartupCheckError(
        `signer ${signer} balance ${balance} wei is below MIN_BALANCE_WEI=${this.settings.minBalanceWei}`,
      );
    }
    if (this.settings.dryRun) await this.sender.syncNonce();
    else await this.sender.recoverStuckNonces();
    this.checksPassed = true;
    this.noteProgress();
    this.log.info(
      { signer, market: this.settings.marketAddress, windowDuration: Number(this.duration) },
      'start-up checks passed',
    );
  }

  /** Progress: `/readyz` needs some within READY_PROGRESS_MS (one tick of a big window takes minutes). */
  noteProgress(): void {
    this.lastProgressMs = Date.now();
  }

  /** Alive unless stopped: true during the start-up checks, so that a liveness probe cannot kill a slow start. */
  alive(): boolean {
    return !this.stopping;
  }

  /** Start-up checks passed, progress within the bound, and the RPC answers now. */
  async ready(): Promise<boolean> {
    const bound = this.settings.readyProgressMs ?? 75_000;
    if (!this.checksPassed || Date.now() - this.lastProgressMs > bound) return false;
    try {
      await this.clients.public.getBlockNumber({ cacheTime: 0 });
      return true;
    } catch {
      return false;
    }
  }

  /** Runs ticks until `stop()`; sleeps until the next window boundary of chain time or the poll interval. */
  async run(): Promise<void> {
    let ticks = 0;
    try {
      while (!this.stopping) {
        let now: bigint | undefined;
        try {
          now = await this.tick();
        } catch (error) {
          this.log.error({ err: error }, 'tick failed; will retry after the poll interval');
        }
        ticks++;
        if (this.settings.maxTicks !== undefined && ticks >= this.settings.maxTicks) break;
        await this.sleep(this.sleepMs(now));
      }
    } finally {
      this.stopping = true;
    }
  }

  stop(): void {
    this.stopping = true;
    this.wake?.();
  }

  /**
   * One pass. Opens the current window first (time-critical, O(1)); then, for every window of the last
   * `lookbackWindows`, oldest first: closes it, submits its readings right after the close once its delivery
   * hour is over, and only then settles it; finally whatever else `checkUpkeep` still proposes (older windows).
   * Returns the chain time it started at.
   */
  async tick(): Promise<bigint> {
    if (this.duration === 0n) this.duration = await this.reader.windowDuration();
    if (!this.registry) this.registry = await this.reader.registry();
    const now = (await this.clients.public.getBlock({ blockTag: 'latest' })).timestamp;
    this.noteProgress();
    const d = this.duration;
    const current = now - (now % d);
    const state: TickState = { now, readingsAttempted: new Set(), skipped: new Set(), stillDue: [] };
    await this.openIfMissing(current, state);
    for (let k = BigInt(this.settings.lookbackWindows) + 1n; k >= 1n && !this.stopping; k--) {
      const windowId = current - k * d;
      if (windowId >= 0n) await this.processWindow(windowId, state);
    }
    await this.drainUpkeep(state);
    const oldest = state.stillDue.reduce<bigint | undefined>((m, t) => (m === undefined || t < m ? t : m), undefined);
    this.metrics.overdue.set(oldest === undefined ? 0 : Math.max(0, Number(now - oldest)));
    const balance = await this.clients.public.getBalance({ address: this.sender.address }).catch(() => undefined);
    if (balance !== undefined) this.metrics.balance.set(Number(balance));
    this.noteProgress();
    this.metrics.lastTick.set(Math.floor(Date.now() / 1000));
    return now;
  }

  /** Opens `windowId` unless it exists; false when it could not be opened. */
  private async openIfMissing(windowId: bigint, state: TickState): Promise<boolean> {
    if (this.stopping) return false;
    const window = await this.reader.window(windowId);
    if (window.status !== 'None') return true;
    const outcome = await this.write('open', windowId, 'openWindow', []);
    if (!outcome.ok) state.stillDue.push(windowId);
    return outcome.ok;
  }

  /** Close, readings, settle for one window, as far as each is due; a window that fails is skipped for the tick. */
  private async processWindow(windowId: bigint, state: TickState): Promise<void> {
    const d = this.duration;
    if (this.stopping || state.skipped.has(windowId)) return;
    let window = await this.reader.window(windowId);
    this.noteProgress();
    if (window.status === 'Open' || window.status === 'Closing') {
      if (state.now < windowId + d) return;
      if ((await this.runSteps('close', windowId, windowId + d, state)) !== 'done') return;
      window = await this.reader.window(windowId);
    }
    if (window.status === 'Cleared') {
      if (state.now < windowId + 2n * d) return; // delivery hour not over: neither readings nor settlement yet
      if (this.settings.readings && !state.readingsAttempted.has(windowId)) {
        // Before settling: a window closed late must not settle before its traders' readings are in.
        state.readingsAttempted.add(windowId);
        if (window.tradeCount > 0n) {
          const progress = await this.reader.readingProgress(windowId);
          if (progress.readings < progress.traders) await this.submitWindowReadings(windowId, window.tradeCount);
        }
      }
      if (this.stopping) return;
      const readyAt = await this.reader.settleReadyAt(windowId);
      const chainNow = (await this.clients.public.getBlock({ blockTag: 'latest' })).timestamp;
      if (chainNow < readyAt) return;
      await this.runSteps('settle', windowId, readyAt, state);
    } else if (window.status === 'Settling') {
      await this.runSteps('settle', windowId, await this.reader.settleReadyAt(windowId), state);
    }
  }

  /**
   * Closes or settles a window in batches until it is done. A batch that reverts (other than "not due any
   * more") or does not fit in a block is retried at half its size; if even a batch of one fails, the window is
   * skipped for the rest of the tick (logged, counted) and the keeper goes on with the others.
   */
  private async runSteps(
    action: 'close' | 'settle',
    windowId: bigint,
    dueSince: bigint,
    state: TickState,
  ): Promise<StepOutcome> {
    const functionName = action === 'close' ? 'closeWindow' : 'settleWindow';
    const finished = (w: WindowState) =>
      action === 'close' ? w.status !== 'Open' && w.status !== 'Closing' : w.status === 'Settled';
    let size = BigInt(action === 'close' ? this.settings.closeBatch : this.settings.settleBatch);
    const log = this.log.child({ action, windowId: windowId.toString() });
    for (;;) {
      if (this.stopping) return 'stopped';
      const outcome = await this.write(action, windowId, functionName, [windowId, size]);
      if (outcome.ok) {
        if (this.settings.dryRun) return 'stopped'; // nothing changed on-chain: one simulation is all we can do
        if (finished(await this.reader.window(windowId))) return 'done';
        continue;
      }
      if (NOT_DUE_ERRORS.has(outcome.error.errorName ?? '')) {
        // Someone else acted first, or it is not due: the chain's state decides what comes next.
        return finished(await this.reader.window(windowId)) ? 'done' : 'skipped';
      }
      if (size > 1n) {
        size /= 2n;
        this.metrics.batchHalvings.inc({ action });
        log.warn({ err: outcome.error.message, batch: Number(size) }, 'retrying with half the batch');
        continue;
      }
      this.metrics.windowsSkipped.inc({ action });
      log.error({ err: outcome.error.message }, 'fails even with a batch of one; window skipped for this tick');
      state.skipped.add(windowId);
      state.stillDue.push(dueSince);
      return 'skipped';
    }
  }

  /** What `checkUpkeep` still proposes after the lookback pass (older windows); stops when it repeats itself. */
  private async drainUpkeep(state: TickState): Promise<void> {
    if (this.settings.dryRun) return;
    const proposals = new Map<string, number>();
    while (!this.stopping) {
      const due = await this.reader.checkUpkeep();
      if (!due.needed || due.action === 'None') return;
      const key = `${due.action}:${due.windowId}`;
      const seen = proposals.get(key) ?? 0;
      proposals.set(key, seen + 1);
      if (seen >= 2 || state.skipped.has(due.windowId)) {
        // Not done although attempted (failed, or the keeper's rules hold it back): leave it for the next tick.
        state.stillDue.push(await this.dueSince(due.action, due.windowId));
        return;
      }
      if (due.action === 'Open') {
        if (!(await this.openIfMissing(due.windowId, state))) return;
      } else {
        await this.processWindow(due.windowId, state);
      }
    }
  }

  private async dueSince(action: UpkeepActionName, windowId: bigint): Promise<bigint> {
    if (action === 'Open') return windowId;
    if (action === 'Close') return windowId + this.duration;
    return this.reader.settleReadyAt(windowId);
  }

  /** Sends one transaction; a deterministic failure is logged, counted and returned (not retried). */
  private async write<fn extends MarketWrite>(
    action: Action,
    windowId: bigint,
    functionName: fn,
    args: ContractFunctionArgs<typeof energyMarketAbi, 'nonpayable', fn>,
  ): Promise<WriteOutcome> {
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
        return { ok: true };
      }
      end();
      this.metrics.actions.inc({ action, result: 'success' });
      this.metrics.lastSuccess.set({ action }, Math.floor(Date.now() / 1000));
      log.info({ txHash: result.receipt.transactionHash, gasUsed: result.receipt.gasUsed.toString() }, 'done');
      return { ok: true, receipt: result.receipt };
    } catch (error) {
      if (error instanceof DeterministicError) {
        this.metrics.actions.inc({ action, result: 'reverted' });
        log.warn({ err: error.message }, 'not retried: deterministic failure');
        return { ok: false, error };
      }
      this.metrics.actions.inc({ action, result: 'failed' });
      throw error;
    }
  }

  private async submitWindowReadings(windowId: bigint, tradeCount: bigint): Promise<void> {
    const log = this.log.child({ action: 'readings', windowId: windowId.toString() });
    const traded = await this.reader.tradedEnergy(windowId, tradeCount);
    const traders = [...traded.keys()];
    const missing: Address[] = [];
    const states = await mapInChunks(traders, (t) => this.reader.reading(windowId, t));
    traders.forEach((t, i) => {
      if (!states[i]?.submitted) missing.push(t);
    });
    if (missing.length === 0) return;
    const contexts = await this.deliveryContexts(windowId, missing, traded, log);
    let raw: RawReading[];
    try {
      raw = await this.meters.fetch(windowId, Number(this.duration), contexts);
    } catch (error) {
      this.metrics.actions.inc({ action: 'readings', result: 'failed' });
      log.error({ err: error, source: this.meters.name }, 'meter source failed; will try again next tick');
      return;
    }
    const { valid, rejected } = validateReadings(raw, contexts, Number(this.duration));
    for (const r of rejected) {
      this.metrics.readingsRejected.inc({ reason: r.reason });
      log.warn({ prosumer: r.prosumer, reason: r.reason, detail: r.detail }, 'reading refused; not submitted');
    }
    const byAccount = new Map(contexts.map((c) => [c.account, c]));
    for (const r of valid) {
      const context = byAccount.get(r.prosumer);
      if (context && tradeBounded(context)) {
        this.metrics.readingsTradeBounded.inc();
        log.info({ prosumer: r.prosumer }, 'no registered assets in any view; reading bounded by the traded energy');
      }
    }
    await this.submitReadings(windowId, valid, log);
  }

  /**
   * Each account's assets as in force during the delivery hour: the per-field maximum of the registry read
   * now, at the block of the window's `WindowCleared` log and at the last block before the delivery hour
   * ended. A view the node cannot serve (pruned state) is left out with a warning.
   */
  private async deliveryContexts(
    windowId: bigint,
    accounts: Address[],
    traded: Map<Address, { boughtWh: bigint; soldWh: bigint }>,
    log: Logger,
  ): Promise<ProsumerContext[]> {
    const registry = this.registry as Address;
    const views = [await mapInChunks(accounts, (a) => this.reader.assetTotals(registry, a))];
    for (const block of await this.deliveryBlocks(windowId, log)) {
      try {
        views.push(await mapInChunks(accounts, (a) => this.reader.assetTotals(registry, a, block)));
      } catch (error) {
        this.metrics.assetHistoryUnavailable.inc();
        log.warn(
          { block: block.toString(), err: shortError(error) },
          'node cannot serve the assets at this block (pruned state?); using the current assets for this view',
        );
      }
    }
    type Totals = (typeof views)[number][number];
    const max = (i: number, field: keyof Totals) => views.reduce((m, v) => (v[i]![field] > m ? v[i]![field] : m), 0n);
    return accounts.map((account, i) => ({
      account,
      pvPeakW: max(i, 'pvPeakW'),
      batteryPowerW: max(i, 'batteryPowerW'),
      batteryCapacityWh: max(i, 'batteryCapacityWh'),
      boughtWh: traded.get(account)?.boughtWh ?? 0n,
      soldWh: traded.get(account)?.soldWh ?? 0n,
    }));
  }

  /** The block that cleared the window and the last block of its delivery hour (those it can find). */
  private async deliveryBlocks(windowId: bigint, log: Logger): Promise<bigint[]> {
    const d = this.duration;
    const blocks = new Set<bigint>();
    try {
      const head = await this.clients.public.getBlockNumber({ cacheTime: 0 });
      const beforeClose = await this.blocks.lastBefore(windowId + d, head);
      const cleared = await this.reader.clearedBlock(
        windowId,
        beforeClose === undefined ? this.floorBlock : beforeClose + 1n,
      );
      if (cleared !== undefined) blocks.add(cleared);
      const endOfDelivery = await this.blocks.lastBefore(windowId + 2n * d, head);
      if (endOfDelivery !== undefined) blocks.add(endOfDelivery);
    } catch (error) {
      log.warn(
        { err: shortError(error) },
        'could not find the delivery-hour blocks; validating against the current assets',
      );
    }
    return [...blocks];
  }

  /**
   * Submits readings in batches of `readingsBatch`. A batch that reverts is split in halves (so one bad entry
   * cannot hold back the others); an entry that fails on its own is dropped for this tick and counted
   * (`keeper_readings_rejected_total{reason="reverted"}`). Errors that concern the whole window end its readings.
   */
  private async submitReadings(windowId: bigint, readings: MeterReading[], log: Logger): Promise<void> {
    const queue: MeterReading[][] = [];
    for (let i = 0; i < readings.length; i += this.settings.readingsBatch)
      queue.push(readings.slice(i, i + this.settings.readingsBatch));
    let singleFailures = 0;
    while (queue.length > 0 && !this.stopping) {
      const batch = queue.shift() as MeterReading[];
      const outcome = await this.write('readings', windowId, 'submitMeterReadings', [
        windowId,
        batch.map((r) => r.prosumer),
        batch.map((r) => r.importWh),
        batch.map((r) => r.exportWh),
      ]);
      if (outcome.ok) {
        if (outcome.receipt) this.countStoredReadings(outcome.receipt, log);
        continue;
      }
      if (WINDOW_READING_ERRORS.has(outcome.error.errorName ?? '')) {
        log.warn({ err: outcome.error.message }, 'readings not accepted for this window now');
        return;
      }
      if (batch.length > 1) {
        const half = Math.ceil(batch.length / 2);
        queue.unshift(batch.slice(0, half), batch.slice(half));
        this.metrics.batchHalvings.inc({ action: 'readings' });
        log.warn({ err: outcome.error.message, batch: half }, 'retrying with half the batch');
        continue;
      }
      this.metrics.readingsRejected.inc({ reason: 'reverted' });
      log.error(
        { prosumer: batch[0]?.prosumer, err: outcome.error.message },
        'reading reverts on its own; dropped for this tick',
      );
      if (++singleFailures >= MAX_SINGLE_READING_FAILURES) {
        this.metrics.windowsSkipped.inc({ action: 'readings' });
        log.error(
          { failures: singleFailures },
          'too many readings revert on their own; the rest of this window waits for the next tick',
        );
        return;
      }
    }
  }

  /** Counts the readings a transaction stored, and those the market skipped (`MeterReadingRejected`). */
  private countStoredReadings(receipt: TransactionReceipt, log: Logger): void {
    const events = parseEventLogs({ abi: energyMarketAbi, logs: receipt.logs }) as unknown as {
      eventName: string;
      args: Record<string, unknown>;
    }[];
    let stored = 0;
    for (const e of events) {
      if (e.eventName === 'MeterReadingSubmitted') stored++;
      else if (e.eventName === 'MeterReadingRejected') {
        const reason = ONCHAIN_REJECT_REASONS[String(e.args.reason).toLowerCase()] ?? 'onchain_other';
        this.metrics.readingsRejected.inc({ reason });
        log.warn({ prosumer: e.args.prosumer, reason }, 'reading rejected by the market');
      }
    }
    this.metrics.readingsSubmitted.inc(stored);
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
