// One writer per key: explicit nonces, simulate before sending, wait for confirmations, replace a stuck
// transaction at the same nonce with both fee fields raised, re-sync the nonce on unclassified errors.
import {
  BaseError,
  ContractFunctionRevertedError,
  TransactionReceiptNotFoundError,
  type Abi,
  type ContractFunctionArgs,
  type ContractFunctionName,
  type Address,
  type Hash,
  type Hex,
  type TransactionReceipt,
  encodeFunctionData,
} from 'viem';
import type { Clients } from './chain.js';
import type { Logger } from './log.js';
import type { Action, KeeperMetrics } from './metrics.js';

export interface SenderOptions {
  confirmations: number;
  txTimeoutMs: number;
  feeBumpPercent: number;
  maxReplacements: number;
  maxFeePerGasWei: bigint;
  dryRun: boolean;
  /** How often to look for a receipt while waiting. */
  pollMs?: number;
}

type WriteFunction<abi extends Abi> = ContractFunctionName<abi, 'nonpayable' | 'payable'>;

/** A transaction to send, checked against the ABI: a function it does not have, or wrong args, is a tsc error. */
export interface WriteRequest<abi extends Abi = Abi, fn extends WriteFunction<abi> = WriteFunction<abi>> {
  action: Action;
  windowId?: bigint;
  address: Address;
  abi: abi;
  functionName: fn;
  args: ContractFunctionArgs<abi, 'nonpayable' | 'payable', fn>;
}

/** The request as the sender handles it once it was type-checked at the call site. */
interface AnyWrite {
  action: Action;
  windowId?: bigint;
  address: Address;
  abi: Abi;
  functionName: string;
  args: readonly unknown[];
}

/**
 * A failure that retrying cannot fix (a revert, a rejected transaction).
 * `errorName`: the contract's custom error, when decoded.
 */
export class DeterministicError extends Error {
  override name = 'DeterministicError';
  constructor(
    message: string,
    readonly errorName?: string,
  ) {
    super(message);
  }
}

/**
 * The transaction does not fit: out of gas, or more gas than a block (or the node's cap) allows.
 * A smaller batch may fit.
 */
export class GasLimitError extends DeterministicError {
  override name = 'GasLimitError';
}

const GAS_LIMIT_TEXT = new RegExp(
  [
    'out of gas',
    'gas required exceeds',
    'exceeds (the )?block gas limit',
    'gas limit reached',
    'intrinsic gas too (low|high)',
    'gas cap',
  ].join('|'),
  'i',
);

export type SendResult = { kind: 'mined'; receipt: TransactionReceipt } | { kind: 'dry-run'; data: Hex };

const bump = (value: bigint, percent: number) => (value * BigInt(Math.round(1000 + percent * 10)) + 999n) / 1000n;

export class TxSender {
  private nonce: number | undefined;
  /** Sends run one at a time (the keeper loop and the relayer share this sender and its nonces). */
  private queue: Promise<unknown> = Promise.resolve();
  /** Hashes of the transaction in flight (for a clean shutdown). */
  inFlight: Hash[] = [];
  /** Called on progress: a transaction sent, a receipt poll answered, a transaction confirmed (readiness). */
  onProgress: () => void = () => undefined;

  constructor(
    private readonly clients: Clients,
    private readonly options: SenderOptions,
    private readonly metrics: KeeperMetrics,
    private readonly log: Logger,
  ) {}

  get address(): Address {
    return this.clients.account.address;
  }

  async syncNonce(): Promise<number> {
    this.nonce = await this.clients.public.getTransactionCount({ address: this.address, blockTag: 'pending' });
    return this.nonce;
  }

  /**
   * At start-up: a transaction an earlier run left in the mempool (pending nonce above the latest) would hold
   * every new one behind it. Each such nonce is taken over by a 0-value transfer to the signer itself at
   * that nonce, fees raised until the node accepts the replacement, then the nonce is synced.
   */
  async recoverStuckNonces(): Promise<number> {
    const latest = await this.clients.public.getTransactionCount({ address: this.address, blockTag: 'latest' });
    const pending = await this.clients.public.getTransactionCount({ address: this.address, blockTag: 'pending' });
    if (pending > latest) {
      this.log.warn({ latest, pending }, 'transactions of an earlier run are stuck in the mempool; replacing them');
      for (let nonce = latest; nonce < pending; nonce++) await this.replaceStuck(nonce);
    }
    return this.syncNonce();
  }

  private async replaceStuck(nonce: number): Promise<void> {
    const fees = await this.clients.public.estimateFeesPerGas();
    const cap = this.options.maxFeePerGasWei;
    let maxFeePerGas = fees.maxFeePerGas < cap ? fees.maxFeePerGas : cap;
    let maxPriorityFeePerGas = fees.maxPriorityFeePerGas < maxFeePerGas ? fees.maxPriorityFeePerGas : maxFeePerGas;
    const pollMs = this.options.pollMs ?? 250;
    const used = async () =>
      (await this.clients.public.getTransactionCount({ address: this.address, blockTag: 'latest' })) > nonce;
    for (let attempt = 0; attempt <= this.options.maxReplacements; attempt++) {
      let sent = false;
      try {
        const hash = await this.clients.wallet.sendTransaction({
          to: this.address,
          value: 0n,
          gas: 21_000n,
          nonce,
          maxFeePerGas,
          maxPriorityFeePerGas,
          chain: this.clients.chain,
        });
        sent = true;
        this.inFlight = [hash];
        this.metrics.txReplaced.inc();
        this.log.info(
          { nonce, txHash: hash, maxFeePerGas: maxFeePerGas.toString(), attempt },
          'stuck nonce: replacement sent',
        );
      } catch (error) {
        const text = String((error as Error).message ?? error);
        if (/nonce too low/i.test(text)) return; // mined meanwhile
        if (!/underpriced|replacement|already known|fee too low/i.test(text)) throw error;
      }
      if (sent) {
        const deadline = Date.now() + this.options.txTimeoutMs;
        while (Date.now() < deadline) {
          if (await used()) {
            this.inFlight = [];
            return;
          }
          await new Promise((r) => setTimeout(r, pollMs));
        }
      }
      const nextMax = bump(maxFeePerGas, this.options.feeBumpPercent);
      if (nextMax > cap) break;
      maxFeePerGas = nextMax;
      maxPriorityFeePerGas = bump(maxPriorityFeePerGas, this.options.feeBumpPercent);
    }
    if (await used()) return;
    throw new Error(
      `nonce ${nonce} is still stuck after ${this.options.maxReplacements + 1} replacements (fee cap ${cap} wei)`,
    );
  }

  /** Simulates, then (unless dry-run) sends and waits for `confirmations`. Reverts throw DeterministicError. */
  send<const abi extends Abi, fn extends WriteFunction<abi>>(request: WriteRequest<abi, fn>): Promise<SendResult> {
    // Checked against the ABI at the call site; from here on the sender handles any function alike.
    const args: readonly unknown[] = Array.isArray(request.args) ? request.args : [];
    const untyped: AnyWrite = { ...request, args };
    const run = this.queue.then(() => this.sendNow(untyped));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async sendNow(request: AnyWrite): Promise<SendResult> {
    const data = encodeFunctionData({ abi: request.abi, functionName: request.functionName, args: request.args });
    const context = { action: request.action, windowId: request.windowId?.toString() };
    let gas: bigint;
    try {
      gas = await this.clients.public.estimateContractGas({
        account: this.clients.account,
        address: request.address,
        abi: request.abi,
        functionName: request.functionName,
        args: request.args,
      });
    } catch (error) {
      throw this.classify(error, 'simulation');
    }
    if (this.options.dryRun) {
      this.log.info({ ...context, gas: gas.toString() }, 'dry run: simulated, not sent');
      return { kind: 'dry-run', data };
    }
    if (this.nonce === undefined) await this.syncNonce();
    const nonce = this.nonce as number;
    // 20 % headroom, but never more than a block holds (the node would refuse the transaction).
    const blockGasLimit = (await this.clients.public.getBlock({ blockTag: 'latest' })).gasLimit;
    const withHeadroom = gas + gas / 5n;
    const gasLimit = withHeadroom > blockGasLimit && gas <= blockGasLimit ? blockGasLimit : withHeadroom;
    try {
      const receipt = await this.broadcastAndWait(request, data, gasLimit, nonce, context);
      this.nonce = nonce + 1;
      if (receipt.status !== 'success') {
        // All the gas used: it ran out (the state changed between simulation and inclusion); a smaller batch may fit.
        if (receipt.gasUsed >= gasLimit)
          throw new GasLimitError(`transaction ${receipt.transactionHash} ran out of gas`);
        throw new DeterministicError(`transaction ${receipt.transactionHash} reverted`);
      }
      return { kind: 'mined', receipt };
    } catch (error) {
      if (!(error instanceof DeterministicError)) {
        this.log.warn({ ...context, nonce, err: error }, 're-syncing nonce after an unclassified error');
        await this.syncNonce().catch(() => undefined);
      }
      throw error;
    } finally {
      this.inFlight = [];
    }
  }

  private async broadcastAndWait(
    request: AnyWrite,
    data: Hex,
    gas: bigint,
    nonce: number,
    context: Record<string, unknown>,
  ): Promise<TransactionReceipt> {
    const fees = await this.clients.public.estimateFeesPerGas();
    let maxFeePerGas =
      fees.maxFeePerGas < this.options.maxFeePerGasWei ? fees.maxFeePerGas : this.options.maxFeePerGasWei;
    let maxPriorityFeePerGas = fees.maxPriorityFeePerGas < maxFeePerGas ? fees.maxPriorityFeePerGas : maxFeePerGas;
    const hashes: Hash[] = [];
    for (let attempt = 0; ; attempt++) {
      const hash = await this.broadcast(request.address, data, gas, nonce, maxFeePerGas, maxPriorityFeePerGas, hashes);
      if (hash && !hashes.includes(hash)) {
        hashes.push(hash);
        this.inFlight = [...hashes];
        this.onProgress();
        if (attempt === 0) this.metrics.txSent.inc();
        else this.metrics.txReplaced.inc();
        const message = attempt === 0 ? 'sent' : 'replaced';
        this.log.info({ ...context, txHash: hash, nonce, attempt, maxFeePerGas: maxFeePerGas.toString() }, message);
      }
      const receipt = await this.waitForAny(hashes, this.options.txTimeoutMs);
      if (receipt) {
        const confirmed = await this.waitForConfirmations(receipt);
        if (confirmed) return confirmed;
        // Reorged out before reaching the depth: broadcast the same transaction again (same nonce and fees).
        this.log.warn(
          { ...context, txHash: receipt.transactionHash, nonce },
          'receipt gone after a reorg; sending again',
        );
        continue;
      }
      if (attempt >= this.options.maxReplacements) {
        throw new Error(`no receipt for nonce ${nonce} after ${attempt + 1} attempts`);
      }
      const nextMax = bump(maxFeePerGas, this.options.feeBumpPercent);
      if (nextMax > this.options.maxFeePerGasWei) {
        this.log.warn({ ...context, nonce }, 'fee cap reached; waiting without replacing');
        continue;
      }
      maxFeePerGas = nextMax;
      maxPriorityFeePerGas = bump(maxPriorityFeePerGas, this.options.feeBumpPercent);
    }
  }

  /** Sends one signed transaction; returns undefined when the nonce is already used by an earlier attempt. */
  private async broadcast(
    to: Address,
    data: Hex,
    gas: bigint,
    nonce: number,
    maxFeePerGas: bigint,
    maxPriorityFeePerGas: bigint,
    earlier: Hash[],
  ): Promise<Hash | undefined> {
    try {
      return await this.clients.wallet.sendTransaction({
        to,
        data,
        gas,
        nonce,
        maxFeePerGas,
        maxPriorityFeePerGas,
        chain: this.clients.chain,
      });
    } catch (error) {
      const text = String((error as Error).message ?? error);
      if (earlier.length > 0 && /nonce too low|already known|replacement/i.test(text)) return undefined;
      if (GAS_LIMIT_TEXT.test(text)) throw new GasLimitError(`transaction refused: ${text.split('\n')[0]}`);
      throw error;
    }
  }

  private async waitForAny(hashes: Hash[], timeoutMs: number): Promise<TransactionReceipt | undefined> {
    const deadline = Date.now() + timeoutMs;
    const pollMs = this.options.pollMs ?? 250;
    while (Date.now() < deadline) {
      for (const hash of hashes) {
        try {
          const receipt = await this.clients.public.getTransactionReceipt({ hash });
          this.onProgress();
          return receipt;
        } catch (error) {
          if (error instanceof TransactionReceiptNotFoundError) this.onProgress(); // the node answered
          // not mined yet; an RPC failure (already retried by the transport): look again after the poll interval
          if (!(error instanceof TransactionReceiptNotFoundError)) break;
        }
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
    return undefined;
  }

  /**
   * `waitForTransactionReceipt({ confirmations })` semantics: waits until the receipt's block is
   * `confirmations` deep, then reads the receipt again; a receipt that moved to another block (a reorg that
   * re-included the transaction) is followed, one that is gone returns undefined.
   */
  private async waitForConfirmations(first: TransactionReceipt): Promise<TransactionReceipt | undefined> {
    if (this.options.confirmations <= 1) return first;
    const pollMs = this.options.pollMs ?? 250;
    let receipt = first;
    for (;;) {
      const head = await this.clients.public.getBlockNumber({ cacheTime: 0 });
      if (head >= receipt.blockNumber + BigInt(this.options.confirmations - 1)) {
        let now: TransactionReceipt;
        try {
          now = await this.clients.public.getTransactionReceipt({ hash: receipt.transactionHash });
        } catch (error) {
          if (error instanceof TransactionReceiptNotFoundError) return undefined;
          throw error;
        }
        this.onProgress();
        if (now.blockHash === receipt.blockHash) return now;
        receipt = now; // re-included elsewhere: count the depth from its new block
        continue;
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  private classify(error: unknown, stage: string): Error {
    if (error instanceof BaseError) {
      const revert = error.walk(
        (e) => e instanceof ContractFunctionRevertedError,
      ) as ContractFunctionRevertedError | null;
      const name = revert?.data?.errorName;
      if (!name && GAS_LIMIT_TEXT.test(error.message))
        return new GasLimitError(`${stage} does not fit: ${error.shortMessage}`);
      if (revert || /revert/i.test(error.message)) {
        return new DeterministicError(
          `${stage} reverted: ${name ? `${name}(${(revert?.data?.args ?? []).join(', ')})` : error.shortMessage}`,
          name,
        );
      }
    }
    return error instanceof Error ? error : new Error(String(error));
  }
}
