// Sends what the relayer accepted, through the keeper's one TxSender: permits and cancels one transaction each,
// orders in `placeOrdersBySig` batches with hints for the whole batch. Before sending, and at start-up, every
// queued item is reconciled with the chain (the truth): a nonce already used, a window that stopped taking
// orders, a live order in the way end the item with that reason; an item that made it on-chain before a crash
// is found in the logs and reported with its transaction.
import {
  decodeFunctionData,
  parseEventLogs,
  type Abi,
  type Address,
  type Chain,
  type ContractFunctionArgs,
  type ContractFunctionName,
  type PublicClient,
  type TransactionReceipt,
  type Transport,
} from 'viem';
import { computeHints, energyMarketAbi, energyTokenAbi, WindowStatus } from '@p2p-energy/sdk';
import type { Logger } from '../log.js';
import type { Action } from '../metrics.js';
import { mapInChunks } from '../chain.js';
import { withRetry } from '../retry.js';
import { DeterministicError, GasLimitError, type TxSender, type WriteRequest } from '../tx.js';
import type { RelayMetrics } from './metrics.js';
import { RETRYABLE_REASONS, reasonName } from './reasons.js';
import type { RelayStore } from './store.js';
import type { CancelData, Item, Outcome, PermitData } from './types.js';
import type { ChainInfo } from './verify.js';

/** Batches whose receipt sent an order back (hint too far) before it is reported rejected. */
export const MAX_ATTEMPTS = 3;
/** Batches per round at most (the rest waits for the next interval). */
const MAX_PASSES = 64;
const WINDOW_OPEN = WindowStatus.indexOf('Open');

type OrderItem = Extract<Item, { kind: 'order' }>;
type CancelItem = Extract<Item, { kind: 'cancel' }>;
type PermitItem = Extract<Item, { kind: 'permit' }>;

function writeRequest<const abi extends Abi, F extends ContractFunctionName<abi, 'nonpayable'>>(
  action: Action,
  address: Address,
  abi: abi,
  functionName: F,
  args: ContractFunctionArgs<abi, 'nonpayable', F> & readonly unknown[],
  windowId?: bigint,
): WriteRequest {
  return { action, address, abi, functionName, args, windowId };
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export class Batcher {
  /** Orders per batch now: halved after a batch that does not fit, back to the setting after one that does. */
  private limit: number;

  constructor(
    private readonly client: PublicClient<Transport, Chain>,
    private readonly info: ChainInfo,
    private readonly sender: TxSender,
    private readonly store: RelayStore,
    private readonly metrics: RelayMetrics,
    private readonly log: Logger,
    private readonly batch: number,
  ) {
    this.limit = batch;
  }

  private async resolve(item: Item, outcome: Outcome): Promise<void> {
    await this.store.resolve(item, outcome);
    if (item.kind === 'order') this.metrics.orders.inc({ result: outcome.status === 'placed' ? 'placed' : 'rejected' });
    this.metrics.requests.inc({ kind: item.kind, result: outcome.status === 'rejected' ? 'rejected' : 'done' });
    this.metrics.queueDepth.set(this.store.depth);
    const level = outcome.status === 'rejected' ? 'warn' : 'info';
    this.log[level]({ kind: item.kind, id: item.id, ...outcomeLog(outcome) }, `relayed ${item.kind} ${outcome.status}`);
  }

  /** One pass over the queue: permits, then cancels (a replace needs its cancel first), then order batches. */
  async round(): Promise<void> {
    for (const item of this.store.queued('permit')) await this.permit(item);
    for (const item of this.store.queued('cancel')) await this.cancel(item);
    // Orders a receipt said nothing about (not expected: the market logs one event per order) wait for the next round.
    const unanswered = new Set<string>();
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      const head = await withRetry(() => this.client.getBlock({ blockTag: 'latest' }));
      const queued = this.store.queued('order').filter((o) => !unanswered.has(o.id));
      const keep = await mapInChunks(queued, (item) => this.reconcileOrder(item, head.timestamp), 50);
      const ready = queued.filter((_, i) => keep[i]);
      if (ready.length === 0) return;
      const windowId = ready[0]!.data.windowId;
      const batch = ready.filter((o) => o.data.windowId === windowId).slice(0, this.limit);
      const attempts = batch.map((o) => o.attempts);
      const result = await this.placeBatch(batch, head.number);
      if (result === 'stop') return;
      if (result === 'mined')
        batch.forEach((o, i) => {
          if (!o.outcome && o.attempts === attempts[i]) unanswered.add(o.id);
        });
    }
  }

  /** Reconciles every queued item with the chain (start-up after a crash). */
  async recover(): Promise<void> {
    const head = await withRetry(() => this.client.getBlock({ blockTag: 'latest' }));
    await mapInChunks(
      this.store.queued(),
      (item) =>
        item.kind === 'order'
          ? this.reconcileOrder(item, head.timestamp)
          : item.kind === 'cancel'
            ? this.reconcileCancel(item, head.timestamp)
            : this.reconcilePermit(item, head.timestamp),
      50,
    );
  }

  private async orderState(windowId: bigint, prosumer: Address) {
    const [nonce, order, window] = await Promise.all([
      withRetry(() =>
        this.client.readContract({
          address: this.info.market,
          abi: energyMarketAbi,
          functionName: 'orderNonce',
          args: [windowId, prosumer],
        }),
      ),
      withRetry(() =>
        this.client.readContract({
          address: this.info.market,
          abi: energyMarketAbi,
          functionName: 'getOrder',
          args: [windowId, prosumer],
        }),
      ),
      withRetry(() =>
        this.client.readContract({
          address: this.info.market,
          abi: energyMarketAbi,
          functionName: 'getWindow',
          args: [windowId],
        }),
      ),
    ]);
    return { nonce, live: order[4], windowOpen: window[0] === WINDOW_OPEN };
  }

  /** True when the order is still to be sent; otherwise it has been resolved from the chain. */
  private async reconcileOrder(item: OrderItem, now: bigint): Promise<boolean> {
    const o = item.data;
    const state = await this.orderState(o.windowId, o.prosumer);
    if (state.nonce > o.nonce) {
      const placed = await this.findPlacement(item);
      if (placed) await this.resolve(item, placed);
      else await this.resolve(item, { status: 'rejected', reason: state.live ? 'AlreadyHasOrder' : 'InvalidNonce' });
      return false;
    }
    if (!state.windowOpen || now >= o.windowId + this.info.windowDuration) {
      const onChain = await this.findOrderRejection(item);
      await this.resolve(item, onChain ?? { status: 'rejected', reason: 'OrderingClosed' });
      return false;
    }
    if (state.live) {
      const cancelQueued = this.store
        .queued('cancel')
        .some((c) => same(c.data.prosumer, o.prosumer) && c.data.windowId === o.windowId);
      // Its cancel goes first in a round; still queued means it could not be sent yet: wait for it.
      if (cancelQueued) return false;
      await this.resolve(item, { status: 'rejected', reason: 'AlreadyHasOrder' });
      return false;
    }
    return true;
  }

  /** The placement with the order's nonce, if it was this signed order (by this relayer or any other). */
  private async findPlacement(item: OrderItem): Promise<Outcome | undefined> {
    const o = item.data;
    const found = await this.firstMarketCall('OrderPlaced', o.windowId, o.prosumer, item.acceptedBlock);
    if (found?.call.functionName !== 'placeOrdersBySig') return undefined;
    const ours = found.call.args[0].some(
      (s) => same(s.prosumer, o.prosumer) && s.nonce === o.nonce && same(s.signature, o.signature),
    );
    return ours ? { status: 'placed', ...found.at } : undefined;
  }

  /**
   * The first `eventName` of (`windowId`, `prosumer`) after `acceptedBlock` and the market call of its
   * transaction; undefined when there is none, or its transaction is not a plain market call (a contract
   * wallet, a multicall: not provably ours).
   */
  private async firstMarketCall(
    eventName: 'OrderPlaced' | 'OrderCancelled',
    windowId: bigint,
    prosumer: Address,
    acceptedBlock: bigint,
  ) {
    const logs = await withRetry(() =>
      this.client.getContractEvents({
        address: this.info.market,
        abi: energyMarketAbi,
        eventName,
        args: { windowId, prosumer },
        fromBlock: acceptedBlock + 1n,
        toBlock: 'latest',
      }),
    );
    const first = logs[0];
    if (!first?.transactionHash) return undefined;
    const tx = await withRetry(() => this.client.getTransaction({ hash: first.transactionHash }));
    try {
      const call = decodeFunctionData({ abi: energyMarketAbi, data: tx.input });
      return { call, at: { txHash: first.transactionHash, blockNumber: first.blockNumber } };
    } catch {
      return undefined;
    }
  }

  /** A `SignedOrderRejected` of this order (a batch mined before a crash), if any. */
  private async findOrderRejection(item: OrderItem): Promise<Outcome | undefined> {
    const o = item.data;
    const logs = await withRetry(() =>
      this.client.getContractEvents({
        address: this.info.market,
        abi: energyMarketAbi,
        eventName: 'SignedOrderRejected',
        args: { windowId: o.windowId, prosumer: o.prosumer },
        fromBlock: item.acceptedBlock + 1n,
        toBlock: 'latest',
      }),
    );
    const last = logs.filter((l) => l.args.nonce === o.nonce).pop();
    if (!last?.args.reason) return undefined;
    return {
      status: 'rejected',
      reason: reasonName(last.args.reason),
      txHash: last.transactionHash,
      blockNumber: last.blockNumber,
    };
  }

  /** Sends one batch: mined, halved (a smaller batch goes next), or stop (a transient failure: next round). */
  private async placeBatch(batch: OrderItem[], blockNumber: bigint): Promise<'mined' | 'halved' | 'stop'> {
    const windowId = batch[0]!.data.windowId;
    const hints = await withRetry(() =>
      computeHints(
        this.client,
        this.info.market,
        batch.map((b) => b.data),
        blockNumber,
      ),
    );
    const orders = batch.map((b, i) => ({
      prosumer: b.data.prosumer,
      windowId: b.data.windowId,
      side: b.data.side,
      energyWh: b.data.energyWh,
      pricePerKWh: b.data.pricePerKWh,
      nonce: b.data.nonce,
      hintPrev: hints[i]!,
      signature: b.data.signature,
    }));
    let receipt: TransactionReceipt;
    try {
      const result = await this.sender.send(
        writeRequest('relay', this.info.market, energyMarketAbi, 'placeOrdersBySig', [orders], windowId),
      );
      if (result.kind !== 'mined') return 'stop';
      receipt = result.receipt;
    } catch (error) {
      if (error instanceof DeterministicError) {
        if (batch.length > 1) {
          this.limit = Math.max(1, Math.floor(batch.length / 2));
          this.log.warn({ err: error.message, batch: this.limit }, 'order batch failed; retrying with half the batch');
          return 'halved';
        }
        const reason = error instanceof GasLimitError ? 'GasLimit' : (error.errorName ?? 'Reverted');
        await this.resolve(batch[0]!, { status: 'rejected', reason });
        return 'halved';
      }
      this.log.warn({ err: error }, 'order batch not sent; retrying next round');
      return 'stop';
    }
    this.limit = this.batch;
    this.metrics.batchSize.observe(batch.length);
    this.metrics.gasPerOrder.observe(Number(receipt.gasUsed) / batch.length);
    const events = parseEventLogs({
      abi: energyMarketAbi,
      logs: receipt.logs,
      eventName: ['OrderPlaced', 'SignedOrderRejected'],
    });
    const where = { txHash: receipt.transactionHash, blockNumber: receipt.blockNumber };
    for (const item of batch) {
      const o = item.data;
      const placed = events.find(
        (e) => e.eventName === 'OrderPlaced' && e.args.windowId === o.windowId && same(e.args.prosumer, o.prosumer),
      );
      const rejected = events.find(
        (e) =>
          e.eventName === 'SignedOrderRejected' &&
          e.args.windowId === o.windowId &&
          same(e.args.prosumer, o.prosumer) &&
          e.args.nonce === o.nonce,
      );
      if (placed) await this.resolve(item, { status: 'placed', ...where });
      else if (rejected && rejected.eventName === 'SignedOrderRejected') {
        const reason = reasonName(rejected.args.reason);
        if (RETRYABLE_REASONS.has(reason) && item.attempts + 1 < MAX_ATTEMPTS) {
          await this.store.countAttempt(item);
          this.log.warn({ id: item.id, reason }, 'order skipped on-chain for its hint; it goes in the next batch');
        } else {
          await this.resolve(item, { status: 'rejected', reason, ...where });
        }
      }
      // Neither: left queued; the next round reconciles it with the chain.
    }
    this.log.info({ orders: batch.length, gasUsed: receipt.gasUsed.toString(), ...where }, 'order batch relayed');
    return 'mined';
  }

  private async reconcileCancel(item: CancelItem, now: bigint): Promise<boolean> {
    const c = item.data;
    const state = await this.orderState(c.windowId, c.prosumer);
    if (state.nonce - 1n === c.nonce && state.live) {
      if (state.windowOpen && now < c.windowId + this.info.windowDuration) return true;
      await this.resolve(item, { status: 'rejected', reason: 'OrderingClosed' });
      return false;
    }
    const done = await this.findCancel(item);
    await this.resolve(
      item,
      done ?? { status: 'rejected', reason: state.nonce - 1n === c.nonce ? 'NoLiveOrder' : 'InvalidNonce' },
    );
    return false;
  }

  private async findCancel(item: CancelItem): Promise<Outcome | undefined> {
    const c = item.data;
    const found = await this.firstMarketCall('OrderCancelled', c.windowId, c.prosumer, item.acceptedBlock);
    if (found?.call.functionName !== 'cancelOrderBySig' || !same(found.call.args[3], c.signature)) return undefined;
    return { status: 'cancelled', ...found.at };
  }

  private async cancel(item: CancelItem): Promise<void> {
    const head = await withRetry(() => this.client.getBlock({ blockTag: 'latest' }));
    if (!(await this.reconcileCancel(item, head.timestamp))) return;
    const c: CancelData = item.data;
    try {
      const result = await this.sender.send(
        writeRequest(
          'relay_cancel',
          this.info.market,
          energyMarketAbi,
          'cancelOrderBySig',
          [c.prosumer, c.windowId, c.nonce, c.signature],
          c.windowId,
        ),
      );
      if (result.kind !== 'mined') return;
      const { receipt } = result;
      await this.resolve(item, {
        status: 'cancelled',
        txHash: receipt.transactionHash,
        blockNumber: receipt.blockNumber,
      });
    } catch (error) {
      if (error instanceof DeterministicError)
        await this.resolve(item, { status: 'rejected', reason: error.errorName ?? 'Reverted' });
      else this.log.warn({ id: item.id, err: error }, 'cancel not sent; retrying next round');
    }
  }

  private async reconcilePermit(item: PermitItem, now: bigint): Promise<boolean> {
    const p = item.data;
    const nonce = await withRetry(() =>
      this.client.readContract({
        address: this.info.token,
        abi: energyTokenAbi,
        functionName: 'nonces',
        args: [p.owner],
      }),
    );
    if (nonce > p.nonce) {
      await this.resolve(item, (await this.findPermit(item)) ?? { status: 'rejected', reason: 'InvalidNonce' });
      return false;
    }
    if (p.deadline <= now) {
      await this.resolve(item, { status: 'rejected', reason: 'ERC2612ExpiredSignature' });
      return false;
    }
    return true;
  }

  private async findPermit(item: PermitItem): Promise<Outcome | undefined> {
    const p = item.data;
    const logs = await withRetry(() =>
      this.client.getContractEvents({
        address: this.info.token,
        abi: energyTokenAbi,
        eventName: 'Approval',
        args: { owner: p.owner, spender: p.spender },
        fromBlock: item.acceptedBlock + 1n,
        toBlock: 'latest',
      }),
    );
    for (const log of logs) {
      if (!log.transactionHash) continue;
      const tx = await withRetry(() => this.client.getTransaction({ hash: log.transactionHash }));
      try {
        const call = decodeFunctionData({ abi: energyTokenAbi, data: tx.input });
        if (call.functionName === 'permit' && same(call.args[5], p.r) && same(call.args[6], p.s)) {
          return { status: 'relayed', txHash: log.transactionHash, blockNumber: log.blockNumber };
        }
      } catch {
        // not a token call
      }
    }
    return undefined;
  }

  private async permit(item: PermitItem): Promise<void> {
    const head = await withRetry(() => this.client.getBlock({ blockTag: 'latest' }));
    if (!(await this.reconcilePermit(item, head.timestamp))) return;
    const p: PermitData = item.data;
    try {
      const result = await this.sender.send(
        writeRequest('relay_permit', this.info.token, energyTokenAbi, 'permit', [
          p.owner,
          p.spender,
          p.value,
          p.deadline,
          p.v,
          p.r,
          p.s,
        ]),
      );
      if (result.kind !== 'mined') return;
      await this.resolve(item, {
        status: 'relayed',
        txHash: result.receipt.transactionHash,
        blockNumber: result.receipt.blockNumber,
      });
    } catch (error) {
      if (error instanceof DeterministicError)
        await this.resolve(item, { status: 'rejected', reason: error.errorName ?? 'Reverted' });
      else this.log.warn({ id: item.id, err: error }, 'permit not sent; retrying next round');
    }
  }
}

export function outcomeLog(outcome: Outcome): Record<string, string | undefined> {
  return {
    status: outcome.status,
    reason: outcome.reason,
    txHash: outcome.txHash,
    blockNumber: outcome.blockNumber?.toString(),
  };
}
