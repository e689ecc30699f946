// Gas benchmark from real transaction receipts (`receipt.gasUsed`) on a local anvil: `make bench`.
// Starts its own anvil, deploys token, registry and market from the forge artifacts (nothing is written to
// deployments/), builds books and windows with bulk transactions (auto-impersonation, zero gas price, many
// transactions per block), then measures ordinary transactions, each mined alone in a block (automine).
// Markdown tables go to stdout, progress to stderr.
// Environment: BENCH_MAX_BOOK (largest book per side, default 10000; sizes are 10, 100, 1,000, 10,000 up to it),
// BENCH_BATCHES (two batch sizes for close/readings/settle, default "100,300"), BENCH_VERIFY (0: skip the
// transactions at the derived largest batch sizes), BENCH_ONLY (classic: placeOrder and the batches; signed:
// placeOrdersBySig and permit; default both), BENCH_SIGNED_BATCHES (placeOrdersBySig batch sizes, default
// "1,10,100,300"; books of 1,000 and 5,000 per side up to BENCH_MAX_BOOK).
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  encodeDeployData,
  encodeFunctionData,
  http,
  maxUint256,
  numberToHex,
  parseSignature,
  toEventSelector,
  type Address,
  type Hex,
  type PrivateKeyAccount,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { energyMarketAbi, energyTokenAbi, ORDER_TYPES, PERMIT_TYPES, prosumerRegistryAbi } from '@p2p-energy/sdk';
import { startAnvil } from '../dev/anvil.js';
import { foundryBin, repoRoot } from '../dev/paths.js';
import { SideModel } from './book-model.js';
import { TOKEN_UNIT as TOKEN } from '../src/constants.js';

const HOUR = 3600n;
const GRACE = 1800n;
/** Per-transaction gas cap (EIP-7825) and the gas limit of a Chainlink Automation perform. */
export const TX_GAS_CAP = 16_777_216n;
export const CHAINLINK_PERFORM_GAS = 5_000_000n;
/** Gas limit of the measured transactions that are not estimated first. */
const MEASURE_GAS = 60_000_000n;
/** Gas limit of setup transactions. */
const SETUP_GAS = 3_000_000n;
/** Orders per side per setup block: every order's hint is in an earlier block, so walks stay in one block. */
const ORDERS_PER_BLOCK = 200;
/** Most setup transactions per block. */
const BULK_BLOCK_TXS = 2000;
/** Setup senders holding the registrar and minter roles (short nonce chains per sender). */
const HELPERS = 64;
const ADMIN: Address = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
const UNREGISTERED: Address = '0x00000000000000000000000000000000DeaDBeef';
const ZERO: Address = '0x0000000000000000000000000000000000000000';
/** placeOrdersBySig: batch sizes and books per side (up to BENCH_MAX_BOOK), and the goal per order. */
export const SIGNED_BATCHES = [1, 10, 100, 300] as const;
const SIGNED_BOOKS = [1000, 5000] as const;
export const SIGNED_GOAL_PER_ORDER = 50_000;
/** The relayer that sends signed orders and permits (impersonated; gas price 0). */
const RELAYER: Address = '0x000000000000000000000000000000000000Be1a';
const BUY = 0;
const SELL = 1;
type Side = typeof BUY | typeof SELL;

export interface BenchOptions {
  /** Largest book per side for placeOrder (10, 100, 1,000, 10,000 up to this). */
  maxBook: number;
  /** Two batch sizes (trades, prosumers) for close, readings and settle; fixed + marginal from the two. */
  batches: readonly [number, number];
  /** Send one transaction at each derived largest batch size. */
  verify: boolean;
  /** Which sections run (default all). */
  only?: 'all' | 'classic' | 'signed';
  /** placeOrdersBySig batch sizes, ascending (default 1, 10, 100, 300); the last two give the marginal. */
  signedBatches?: readonly number[];
  log?: (message: string) => void;
}

export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const batches = (env.BENCH_BATCHES ?? '100,300').split(',').map(Number);
  const [b1, b2] = batches;
  if (b1 === undefined || b2 === undefined || !(b1 > 0 && b2 > b1) || b1 % 2 || b2 % 2) {
    throw new Error(`BENCH_BATCHES must be two even sizes, small to large: ${env.BENCH_BATCHES}`);
  }
  const only = env.BENCH_ONLY ?? 'all';
  if (only !== 'all' && only !== 'classic' && only !== 'signed') {
    throw new Error(`BENCH_ONLY must be all, classic or signed: ${only}`);
  }
  const signedBatches = (env.BENCH_SIGNED_BATCHES ?? SIGNED_BATCHES.join(',')).split(',').map(Number);
  if (signedBatches.length < 2 || signedBatches.some((n, i) => !(n > 0) || n <= (signedBatches[i - 1] ?? 0))) {
    throw new Error(`BENCH_SIGNED_BATCHES must be two or more sizes, small to large: ${env.BENCH_SIGNED_BATCHES}`);
  }
  return {
    maxBook: Number(env.BENCH_MAX_BOOK ?? 10_000),
    batches: [b1, b2],
    verify: env.BENCH_VERIFY !== '0',
    only,
    signedBatches,
  };
}

// ------------------------------------------------------------------ results

export interface PlaceRow {
  book: number;
  side: 'buy' | 'sell';
  position: string;
  gasUsed: number;
}
export interface HostileRow {
  side: 'buy' | 'sell';
  hint: string;
  gasUsed: number;
  /** Placed, or refused with the named error (a reverted receipt: its gasUsed is what the sender paid). */
  outcome: 'placed' | 'HintTooFar';
}
/** A batch operation measured at two sizes: receipts and the smallest gas limit that lets it succeed. */
export interface BatchRow {
  operation: 'close' | 'readings' | 'settle';
  scenario: string;
  worst: boolean;
  sizes: [number, number];
  gasUsed: [number, number];
  gasLimit: [number, number];
}
export interface LimitRow {
  operation: string;
  perStep: number;
  fixed: number;
  maxUnderCap: number;
  maxUnderChainlink: number;
  /** Found with eth_estimateGas around the linear estimates; one transaction sent at `steps`. */
  verified?: { steps: number; chainlinkSteps: number; gasUsed: number; gasLimit: number };
}
export interface BenchResult {
  placeOrder: PlaceRow[];
  hostile: HostileRow[];
  batches: BatchRow[];
  limits: LimitRow[];
  /** placeOrdersBySig and permit (absent with only: 'classic'). */
  signed?: SignedResult;
  markdown: string;
}

export function marginal(row: BatchRow, which: 'gasUsed' | 'gasLimit'): { perStep: number; fixed: number } {
  const [s1, s2] = row.sizes;
  const [g1, g2] = row[which];
  const perStep = (g2 - g1) / (s2 - s1);
  return { perStep, fixed: g1 - perStep * s1 };
}

// ------------------------------------------------------------------ JSON-RPC

interface RpcCall {
  method: string;
  params: unknown[];
}
interface RpcReply {
  id: number;
  result?: unknown;
  error?: { message: string; data?: unknown };
}
interface Receipt {
  status: Hex;
  gasUsed: Hex;
  logs: { topics: Hex[] }[];
  contractAddress: Address | null;
  transactionHash: Hex;
}
interface Tx {
  from: Address;
  to?: Address;
  data: Hex;
  gas?: bigint;
}

class Rpc {
  private readonly nonces = new Map<string, number>();
  constructor(readonly url: string) {}

  async batch(calls: RpcCall[]): Promise<unknown[]> {
    if (calls.length === 0) return [];
    const body = calls.map((c, id) => ({ jsonrpc: '2.0', id, ...c }));
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const replies = (await res.json()) as RpcReply[];
    replies.sort((a, b) => a.id - b.id);
    const failed = replies.find((r) => r.error !== undefined);
    if (failed) {
      const call = calls[failed.id];
      throw new Error(`${call?.method}: ${failed.error?.message} ${JSON.stringify(failed.error?.data ?? '')}`);
    }
    return replies.map((r) => r.result);
  }

  async call(method: string, ...params: unknown[]): Promise<unknown> {
    const [result] = await this.batch([{ method, params }]);
    return result;
  }

  /** Every transaction of the run goes through here, so nonces are tracked locally (anvil starts empty). */
  nonce(from: Address): number {
    const key = from.toLowerCase();
    const nonce = this.nonces.get(key) ?? 0;
    this.nonces.set(key, nonce + 1);
    return nonce;
  }

  txParams(tx: Tx, gas: bigint): Record<string, string> {
    return {
      from: tx.from,
      ...(tx.to === undefined ? {} : { to: tx.to }),
      data: tx.data,
      gas: numberToHex(gas),
      gasPrice: '0x0',
      nonce: numberToHex(this.nonce(tx.from)),
    };
  }

  /** Sends many transactions with explicit nonces and mines them, at most BULK_BLOCK_TXS per block (anvil's
   * pool slows down quadratically with one long nonce chain, so callers spread setup over many senders). */
  /** Mines `txs` in as few blocks as it can; `ordered`: sent one by one, so a block keeps their order (slower). */
  async bulk(txs: Tx[], ordered = false): Promise<void> {
    if (txs.length === 0) return;
    await this.call('evm_setAutomine', false);
    const first = BigInt(String(await this.call('eth_blockNumber'))) + 1n;
    try {
      const calls = txs.map((t) => ({ method: 'eth_sendTransaction', params: [this.txParams(t, t.gas ?? SETUP_GAS)] }));
      for (let start = 0; start < calls.length; start += BULK_BLOCK_TXS) {
        const block = calls.slice(start, start + BULK_BLOCK_TXS);
        if (ordered) {
          for (const call of block) await this.call(call.method, ...call.params);
        } else {
          const half = Math.ceil(block.length / 2);
          await Promise.all([this.batch(block.slice(0, half)), this.batch(block.slice(half))]);
        }
        for (let round = 0; ; round++) {
          await this.call('evm_mine');
          const status = (await this.call('txpool_status')) as { pending: Hex; queued: Hex };
          if (Number(status.pending) + Number(status.queued) === 0) break;
          if (round > 100) throw new Error(`transactions stuck in the pool: ${JSON.stringify(status)}`);
        }
      }
    } finally {
      await this.call('evm_setAutomine', true);
    }
    const last = BigInt(String(await this.call('eth_blockNumber')));
    let mined = 0;
    for (let n = first; n <= last; n++) {
      const receipts = (await this.call('eth_getBlockReceipts', numberToHex(n))) as Receipt[];
      const bad = receipts.find((r) => r.status !== '0x1');
      if (bad) throw new Error(`setup transaction ${bad.transactionHash} failed`);
      mined += receipts.length;
    }
    if (mined !== txs.length) throw new Error(`mined ${mined} of ${txs.length} setup transactions`);
  }

  /** One ordinary transaction, mined alone in a block (automine). Returns its receipt. */
  async send(tx: Tx, gas: bigint = MEASURE_GAS): Promise<Receipt> {
    const receipt = await this.sendMined(tx, gas);
    if (receipt.status !== '0x1') throw new Error(`transaction ${receipt.transactionHash} reverted`);
    return receipt;
  }

  /** Sends `tx` and returns its receipt, reverted or not. */
  async sendMined(tx: Tx, gas: bigint = MEASURE_GAS): Promise<Receipt> {
    const hash = (await this.call('eth_sendTransaction', this.txParams(tx, gas))) as Hex;
    // Automine mines right after the transaction enters the pool; the receipt may lag the hash a little.
    let receipt: Receipt | null = null;
    for (let tries = 0; receipt === null; tries++) {
      if (tries > 0) await new Promise((r) => setTimeout(r, tries < 20 ? 2 : 50));
      receipt = (await this.call('eth_getTransactionReceipt', hash)) as Receipt | null;
      if (tries > 400) throw new Error(`transaction ${hash} not mined`);
    }
    return receipt;
  }

  /** Measures a transaction: the smallest gas limit that succeeds (eth_estimateGas), then the receipt. */
  async measure(tx: Tx, estimate = false): Promise<{ gasUsed: number; gasLimit: number }> {
    let limit = MEASURE_GAS;
    if (estimate) {
      limit = BigInt(String(await this.call('eth_estimateGas', { from: tx.from, to: tx.to, data: tx.data })));
    }
    const receipt = await this.send(tx, limit);
    return { gasUsed: Number(BigInt(receipt.gasUsed)), gasLimit: Number(limit) };
  }

  async setTime(timestamp: bigint): Promise<void> {
    await this.call('evm_setNextBlockTimestamp', numberToHex(timestamp));
    await this.call('evm_mine');
  }
}

// ------------------------------------------------------------------ the run

async function artifact(name: string): Promise<Hex> {
  const file = path.join(repoRoot, 'out', `${name}.sol`, `${name}.json`);
  const json = JSON.parse(await readFile(file, 'utf8')) as { bytecode: { object: Hex } };
  return json.bytecode.object;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[Math.floor((s.length - 1) / 2)] ?? NaN);
};

interface WindowPlan {
  name: string;
  trades: number;
  /** 'pairs': every bid meets one ask of the same size; 'twoAsksPerBid': bids twice the size of asks. */
  shape: 'pairs' | 'twoAsksPerBid';
  /** 'repeat': traders that hold tokens and gave an unlimited allowance; 'fresh': new accounts, first receipt,
   * allowance exactly the cost (used up to zero). */
  traders: 'repeat' | 'fresh';
}

interface BuiltWindow extends WindowPlan {
  w: bigint;
  bids: { who: Address; energy: bigint }[];
  asks: { who: Address; energy: bigint }[];
}

/** Deploys token, registry and market on a fresh anvil and returns the setup helpers. */
async function setupBench(url: string) {
  const rpc = new Rpc(url);
  const client = createPublicClient({ transport: http(url) });

  // ---------------------------------------------------------- deploy
  const deployed = async (data: Hex): Promise<Address> => {
    const receipt = await rpc.send({ from: ADMIN, data }, 30_000_000n);
    if (!receipt.contractAddress) throw new Error('contract not deployed');
    return receipt.contractAddress;
  };
  const token = await deployed(
    encodeDeployData({ abi: energyTokenAbi, bytecode: await artifact('EnergyToken'), args: [ADMIN] }),
  );
  const registry = await deployed(
    encodeDeployData({ abi: prosumerRegistryAbi, bytecode: await artifact('ProsumerRegistry'), args: [ADMIN] }),
  );
  const market = await deployed(
    encodeDeployData({
      abi: energyMarketAbi,
      bytecode: await artifact('EnergyMarket'),
      args: [token, registry, HOUR, GRACE, ADMIN],
    }),
  );

  // ---------------------------------------------------------- helpers
  let registered = 0;
  const helpers = Array.from(
    { length: HELPERS },
    (_, i) => `0x${(0xa0000000 + i).toString(16).padStart(40, '0')}` as Address,
  );
  const helper = (i: number) => helpers[i % HELPERS] ?? ADMIN;
  const [registrarRole, minterRole] = await Promise.all([
    client.readContract({ address: registry, abi: prosumerRegistryAbi, functionName: 'REGISTRAR_ROLE' }),
    client.readContract({ address: token, abi: energyTokenAbi, functionName: 'MINTER_ROLE' }),
  ]);
  await rpc.bulk([
    ...helpers.map((h) => ({
      from: ADMIN,
      to: registry,
      data: encodeFunctionData({ abi: prosumerRegistryAbi, functionName: 'grantRole', args: [registrarRole, h] }),
    })),
    ...helpers.map((h) => ({
      from: ADMIN,
      to: token,
      data: encodeFunctionData({ abi: energyTokenAbi, functionName: 'grantRole', args: [minterRole, h] }),
    })),
  ]);
  let minted = 0;
  /** Registers the given accounts (IDs in registration order), spread over the helpers. */
  const registerAccounts = async (accounts: Address[]): Promise<void> => {
    const txs = accounts.map((a, i) => ({
      from: helper(registered + i),
      to: registry,
      data: encodeFunctionData({
        abi: prosumerRegistryAbi,
        functionName: 'register',
        args: [a, BigInt(registered + i + 1)],
      }),
    }));
    registered += accounts.length;
    await rpc.bulk(txs);
  };
  const newAccounts = async (n: number): Promise<Address[]> => {
    const accounts = Array.from(
      { length: n },
      (_, i) => `0x${(0x10000000 + registered + i).toString(16).padStart(40, '0')}` as Address,
    );
    await registerAccounts(accounts);
    return accounts;
  };
  const placeTx = (who: Address, w: bigint, side: Side, energy: bigint, price: bigint, hint: Address): Tx => ({
    from: who,
    to: market,
    data: encodeFunctionData({
      abi: energyMarketAbi,
      functionName: 'placeOrder',
      args: [w, side, energy, price, hint],
    }),
  });
  const cancelTx = (who: Address, w: bigint): Tx => ({
    from: who,
    to: market,
    data: encodeFunctionData({ abi: energyMarketAbi, functionName: 'cancelOrder', args: [w] }),
  });
  const mintTx = (to: Address, amount: bigint): Tx => ({
    from: helper(minted++),
    to: token,
    data: encodeFunctionData({ abi: energyTokenAbi, functionName: 'mint', args: [to, amount] }),
  });
  const approveTx = (who: Address, amount: bigint): Tx => ({
    from: who,
    to: token,
    data: encodeFunctionData({ abi: energyTokenAbi, functionName: 'approve', args: [market, amount] }),
  });
  const openWindow = async (w: bigint) => {
    if ((await client.getBlock()).timestamp < w) await rpc.setTime(w + 10n);
    const data = encodeFunctionData({ abi: energyMarketAbi, functionName: 'openWindow' });
    await rpc.send({ from: ADMIN, to: market, data });
  };
  const getWindow = async (w: bigint) => {
    const [status, clearingPrice, clearedEnergyWh, orderCount, tradeCount, settledCount] = await client.readContract({
      address: market,
      abi: energyMarketAbi,
      functionName: 'getWindow',
      args: [w],
    });
    return { status, clearingPrice, clearedEnergyWh, orderCount, tradeCount, settledCount };
  };
  /** Places orders in price order (best first), a block at a time, each hinted at the order before it (mined
   * before it: a block keeps the sending order), so no placement walks (a walk is bounded: `HintTooFar`). */
  const placeSorted = async (
    w: bigint,
    sides: { side: Side; orders: { who: Address; energy: bigint; price: bigint }[]; after: Address }[],
  ) => {
    const longest = Math.max(...sides.map((s) => s.orders.length));
    for (let start = 0; start < longest; start += ORDERS_PER_BLOCK) {
      const txs: Tx[] = [];
      for (const s of sides) {
        for (let i = start; i < Math.min(start + ORDERS_PER_BLOCK, s.orders.length); i++) {
          const o = s.orders[i];
          if (o === undefined) continue;
          const hint = i === 0 ? s.after : (s.orders[i - 1]?.who ?? ZERO);
          txs.push(placeTx(o.who, w, s.side, o.energy, o.price, hint));
        }
      }
      await rpc.bulk(txs, true);
    }
  };

  return {
    rpc,
    client,
    token,
    registry,
    market,
    newAccounts,
    registerAccounts,
    placeTx,
    cancelTx,
    mintTx,
    approveTx,
    openWindow,
    getWindow,
    placeSorted,
  };
}

/** The anvil of a run: auto-impersonation, zero base fee and gas price, a huge block gas limit. */
const startBenchAnvil = (timestamp: bigint) =>
  startAnvil({
    timestamp: Number(timestamp),
    accounts: 1,
    extraArgs: [
      '--auto-impersonate',
      '--base-fee',
      '0',
      '--disable-min-priority-fee',
      '--gas-limit',
      '100000000000',
      '--order',
      'fifo',
      '--disable-console-log',
    ],
  });
const DAY = 1_780_012_800n;
const stopwatch = () => {
  const started = Date.now();
  return () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
};

export async function runGasBench(options: BenchOptions): Promise<BenchResult> {
  const log = options.log ?? ((m: string) => console.error(m));
  const only = options.only ?? 'all';
  const classic = only === 'signed' ? undefined : await runClassic(options, log);
  const signed = only === 'classic' ? undefined : await runSigned(options, log);
  const markdown = [classic?.markdown, signed ? renderSigned(signed) : undefined].filter((m) => m !== undefined);
  return {
    placeOrder: classic?.placeOrder ?? [],
    hostile: classic?.hostile ?? [],
    batches: classic?.batches ?? [],
    limits: classic?.limits ?? [],
    ...(signed === undefined ? {} : { signed }),
    markdown: markdown.join('\n\n'),
  };
}

/** placeOrder, hostile hints, close/readings/settle and their largest batches. */
async function runClassic(options: BenchOptions, log: (m: string) => void): Promise<Omit<BenchResult, 'signed'>> {
  const [b1, b2] = options.batches;
  const h0 = DAY + 6n * HOUR;
  const elapsed = stopwatch();
  const anvil = await startBenchAnvil(h0 + 60n);
  try {
    const {
      rpc,
      client,
      market,
      newAccounts,
      placeTx,
      cancelTx,
      mintTx,
      approveTx,
      openWindow,
      getWindow,
      placeSorted,
    } = await setupBench(anvil.url);

    // ---------------------------------------------------------- 1. placeOrder, books up to maxBook per side
    const w1 = h0;
    await openWindow(w1);
    const U = 10n ** 12n;
    const bidPrice = (k: number) => 100n * TOKEN - BigInt(k) * 10n * U;
    const askPrice = (k: number) => 10n * TOKEN + BigInt(k) * 10n * U;
    const bookPrice = (side: Side, k: number) => (side === BUY ? bidPrice(k) : askPrice(k));
    /** A price just after book order k (k = -1: before the head). */
    const after = (side: Side, k: number, by = 5n) => bookPrice(side, k) + (side === BUY ? -by : by) * U;
    const owners: Record<Side, Address[]> = { [BUY]: [], [SELL]: [] };
    const sizes = [10, 100, 1000, 10_000].filter((n) => n <= options.maxBook);
    if (sizes.length === 0) sizes.push(options.maxBook);
    const placeRows: PlaceRow[] = [];
    const cancelled: Record<Side, Address[]> = { [BUY]: [], [SELL]: [] };
    for (const n of sizes) {
      const grow = n - owners[BUY].length;
      const fresh = await newAccounts(2 * grow);
      const sideOrders = ([BUY, SELL] as const).map((side) => {
        const base = owners[side].length;
        const who = fresh.slice(side === BUY ? 0 : grow, side === BUY ? grow : 2 * grow);
        return {
          side,
          after: owners[side][base - 1] ?? ZERO,
          orders: who.map((a, i) => ({ who: a, energy: 1000n, price: bookPrice(side, base + i) })),
        };
      });
      await placeSorted(w1, sideOrders);
      for (const s of sideOrders) owners[s.side].push(...s.orders.map((o) => o.who));
      const window = await getWindow(w1);
      if (window.orderCount !== BigInt(2 * n)) throw new Error(`book has ${window.orderCount} orders, not ${2 * n}`);
      log(`book of ${n} per side built (${elapsed()})`);

      const positions: [string, number][] = [
        ['head', -1],
        ['1/4', Math.floor(n / 4) - 1],
        ['middle', Math.floor(n / 2) - 1],
        ['3/4', Math.floor((3 * n) / 4) - 1],
        ['tail', n - 1],
      ];
      const measurers = await newAccounts(2 * positions.length);
      for (const side of [BUY, SELL] as const) {
        for (const [position, k] of positions) {
          const who = measurers.pop();
          if (who === undefined) throw new Error('out of accounts');
          const price = after(side, k);
          const hint = await client.readContract({
            address: market,
            abi: energyMarketAbi,
            functionName: 'findHint',
            args: [w1, side, price],
          });
          // The hint is the last live order before the place, or the owner of a cancelled order (tombstone)
          // between them: either way the new order must land right after book order k.
          const { gasUsed } = await rpc.measure(placeTx(who, w1, side, 1000n, price, hint));
          const around = await client.readContract({
            address: market,
            abi: energyMarketAbi,
            functionName: 'getBook',
            args: [w1, side, BigInt(Math.max(k, 0)), 2n],
          });
          const expected = k < 0 ? [who, owners[side][0]] : [owners[side][k], who];
          if (around.some((a, i) => a.toLowerCase() !== expected[i]?.toLowerCase())) {
            throw new Error(`order placed with hint ${hint} is not right after book order ${k}`);
          }
          placeRows.push({ book: n, side: side === BUY ? 'buy' : 'sell', position, gasUsed });
          await rpc.send(cancelTx(who, w1));
          cancelled[side].push(who);
        }
      }
    }
    log(`placeOrder measured (${elapsed()})`);

    // ---------------------------------------------------------- 2. hostile hints at the largest book
    const hostileRows: HostileRow[] = [];
    const MAX_HINT_WALK = Number(
      await client.readContract({ address: market, abi: energyMarketAbi, functionName: 'MAX_HINT_WALK' }),
    );
    const MAX_PLACEMENTS = Number(
      await client.readContract({ address: market, abi: energyMarketAbi, functionName: 'MAX_PLACEMENTS_PER_WINDOW' }),
    );
    const findHint = (side: Side, price: bigint) =>
      client.readContract({ address: market, abi: energyMarketAbi, functionName: 'findHint', args: [w1, side, price] });
    /** The error `placeOrder` would revert with now (undefined: it would succeed), from an eth_call. */
    const refusalOf = async (who: Address, side: Side, price: bigint, hint: Address) => {
      try {
        const args = [w1, side, 1000n, price, hint] as const;
        await client.simulateContract({
          address: market,
          abi: energyMarketAbi,
          functionName: 'placeOrder',
          args,
          account: who,
        });
        return undefined;
      } catch (error) {
        const reverted =
          error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : null;
        if (reverted instanceof ContractFunctionRevertedError) return reverted.data?.errorName ?? 'unknown error';
        throw error;
      }
    };
    /** One hostile placement as a real transaction (placed, then cancelled; or refused with HintTooFar). */
    const measureHostile = async (side: Side, label: string, who: Address, price: bigint, hint: Address) => {
      const refusal = await refusalOf(who, side, price, hint);
      if (refusal !== undefined && refusal !== 'HintTooFar') throw new Error(`${label}: placeOrder fails ${refusal}`);
      const receipt = await rpc.sendMined(placeTx(who, w1, side, 1000n, price, hint));
      const placed = receipt.status === '0x1';
      if (placed !== (refusal === undefined)) throw new Error(`${label}: receipt and eth_call disagree`);
      const row: HostileRow = {
        side: side === BUY ? 'buy' : 'sell',
        hint: label,
        gasUsed: Number(BigInt(receipt.gasUsed)),
        outcome: placed ? 'placed' : 'HintTooFar',
      };
      hostileRows.push(row);
      if (placed) await rpc.send(cancelTx(who, w1));
    };
    {
      const n = owners[BUY].length;
      const mid = Math.floor(n / 2) - 1;
      const measurers = await newAccounts(18);
      for (const side of [BUY, SELL] as const) {
        const other = side === BUY ? SELL : BUY;
        const price = after(side, mid);
        const correct = owners[side][mid] ?? ZERO;
        const answer = await client.readContract({
          address: market,
          abi: energyMarketAbi,
          functionName: 'findHint',
          args: [w1, side, price],
        });
        const stale = cancelled[side][cancelled[side].length - 3] ?? ZERO; // the middle measurement's prosumer
        const hints: [string, Address][] = [
          ['findHint answer (reference)', answer],
          ['address(0), mid-book price', ZERO],
          ['an order on the other side', owners[other][mid] ?? ZERO],
          ["a cancelled order's owner", stale],
          ['unregistered address', UNREGISTERED],
        ];
        for (const [label, hint] of hints) {
          const who = measurers.pop();
          if (who === undefined) throw new Error('out of accounts');
          await measureHostile(side, label, who, price, hint);
        }
        // The hinted prosumer cancels and re-places at the far end of the book: its old node is still the start.
        const tail = owners[side][n - 1] ?? ZERO;
        await rpc.send(cancelTx(correct, w1));
        await rpc.send(placeTx(correct, w1, side, 1000n, after(side, n - 1, 3n), tail));
        const who = measurers.pop();
        if (who === undefined) throw new Error('out of accounts');
        await measureHostile(side, 'hinted owner cancelled, re-placed at the far end', who, price, correct);

        // The worst placement: at an untouched place (3/8 of the book), MAX_HINT_WALK orders placed after the
        // hinted order since the hint was read, the hinted owner re-placed as often as it may (all its nodes are
        // read), and the placer re-places (a node of its own). One more node in between: HintTooFar.
        const k = Math.floor((3 * n) / 8);
        const place = after(side, k);
        const hinted = owners[side][k] ?? ZERO;
        let previous = hinted;
        for (const drifter of await newAccounts(MAX_HINT_WALK)) {
          await rpc.send(placeTx(drifter, w1, side, 1000n, place, previous));
          previous = drifter;
        }
        for (let moves = 1; moves < MAX_PLACEMENTS; moves++) {
          await rpc.send(cancelTx(hinted, w1));
          const far = after(side, n - 1, 3n + BigInt(moves));
          await rpc.send(placeTx(hinted, w1, side, 1000n, far, await findHint(side, far)));
        }
        const replacer = measurers.pop();
        if (replacer === undefined) throw new Error('out of accounts');
        const far = after(side, n - 1, 2n);
        await rpc.send(placeTx(replacer, w1, side, 1000n, far, await findHint(side, far)));
        await rpc.send(cancelTx(replacer, w1));
        const worst =
          `worst placed: re-placement, hinted owner re-placed ${MAX_PLACEMENTS - 1} times, ` +
          `${MAX_HINT_WALK} orders placed since the hint was read`;
        await measureHostile(side, worst, replacer, place, hinted);
        const next = measurers.pop();
        if (next === undefined) throw new Error('out of accounts');
        await measureHostile(side, `${MAX_HINT_WALK + 1} nodes since the hint was read`, next, place, hinted);
      }
      log(`hostile hints measured at ${n} per side (${elapsed()})`);
    }

    // ---------------------------------------------------------- 3-5. close, readings, settle
    const repeatBuyers = await newAccounts(b2);
    const repeatSellers = await newAccounts(b2);
    await rpc.bulk([
      ...repeatBuyers.map((a) => mintTx(a, 1_000_000n * TOKEN)),
      ...repeatSellers.map((a) => mintTx(a, TOKEN)),
      ...repeatBuyers.map((a) => approveTx(a, maxUint256)),
    ]);
    const buildWindow = async (w: bigint, plan: WindowPlan): Promise<BuiltWindow> => {
      const nBids = plan.shape === 'pairs' ? plan.trades : plan.trades / 2;
      const bidEnergy = plan.shape === 'pairs' ? 1000n : 2000n;
      let buyers: Address[];
      let sellers: Address[];
      if (plan.traders === 'repeat') {
        buyers = repeatBuyers.slice(0, nBids);
        sellers = repeatSellers.slice(0, plan.trades);
      } else {
        buyers = await newAccounts(nBids);
        sellers = await newAccounts(plan.trades);
        await rpc.bulk(buyers.map((a) => mintTx(a, 1000n * TOKEN)));
      }
      await openWindow(w);
      const bids = buyers.map((who, i) => ({ who, energy: bidEnergy, price: 30n * TOKEN - BigInt(i) * 1000n * U }));
      const asks = sellers.map((who, i) => ({ who, energy: 1000n, price: 10n * TOKEN + BigInt(i) * 1000n * U }));
      await placeSorted(w, [
        { side: BUY, orders: bids, after: ZERO },
        { side: SELL, orders: asks, after: ZERO },
      ]);
      return { ...plan, w, bids, asks };
    };
    const closeTx = (w: bigint, steps: number): Tx => ({
      from: ADMIN,
      to: market,
      data: encodeFunctionData({ abi: energyMarketAbi, functionName: 'closeWindow', args: [w, BigInt(steps)] }),
    });
    const settleTx = (w: bigint, steps: number): Tx => ({
      from: ADMIN,
      to: market,
      data: encodeFunctionData({ abi: energyMarketAbi, functionName: 'settleWindow', args: [w, BigInt(steps)] }),
    });
    const readingsTx = (w: bigint, entries: { who: Address; imported: bigint; exported: bigint }[]): Tx => ({
      from: ADMIN,
      to: market,
      data: encodeFunctionData({
        abi: energyMarketAbi,
        functionName: 'submitMeterReadings',
        args: [w, entries.map((e) => e.who), entries.map((e) => e.imported), entries.map((e) => e.exported)],
      }),
    });
    /** Every trader's reading, buyer and seller of each trade next to each other. */
    const readingsOf = (b: BuiltWindow) => {
      const entries: { who: Address; imported: bigint; exported: bigint }[] = [];
      for (let i = 0; i < b.asks.length; i++) {
        const bid = b.shape === 'pairs' ? b.bids[i] : i % 2 === 0 ? b.bids[i / 2] : undefined;
        if (bid) entries.push({ who: bid.who, imported: bid.energy, exported: 0n });
        const ask = b.asks[i];
        if (ask) entries.push({ who: ask.who, imported: 0n, exported: ask.energy });
      }
      return entries;
    };
    /** After the close: fresh buyers allow exactly their cost (used up to zero by settlement). */
    const approveExact = async (b: BuiltWindow) => {
      if (b.traders !== 'fresh') return;
      const { clearingPrice } = await getWindow(b.w);
      await rpc.bulk(b.bids.map((bid) => approveTx(bid.who, (bid.energy * clearingPrice) / 1000n)));
    };
    const expectAccepted = async (w: bigint, upTo: number) => {
      for (const index of [0, upTo - 1]) {
        const [, , , status] = await client.readContract({
          address: market,
          abi: energyMarketAbi,
          functionName: 'getTrade',
          args: [w, BigInt(index)],
        });
        if (status !== 1) throw new Error(`trade ${index} of window ${w} not accepted (status ${status})`);
      }
    };

    const plans: WindowPlan[] = [
      { name: 'pairs-repeat-1', trades: b1, shape: 'pairs', traders: 'repeat' },
      { name: 'pairs-repeat-2', trades: b2, shape: 'pairs', traders: 'repeat' },
      { name: 'pairs-fresh-1', trades: b1, shape: 'pairs', traders: 'fresh' },
      { name: 'pairs-fresh-2', trades: b2, shape: 'pairs', traders: 'fresh' },
      { name: 'two-repeat-1', trades: b1, shape: 'twoAsksPerBid', traders: 'repeat' },
      { name: 'two-repeat-2', trades: b2, shape: 'twoAsksPerBid', traders: 'repeat' },
    ];
    const built: BuiltWindow[] = [];
    for (const [i, plan] of plans.entries()) built.push(await buildWindow(h0 + BigInt(i + 1) * HOUR, plan));
    log(`${built.length} crossing windows built (${elapsed()})`);
    const lastW = built[built.length - 1]?.w ?? h0;
    await rpc.setTime(lastW + 2n * HOUR + 10n);

    const closed = new Map<string, { gasUsed: number; gasLimit: number }>();
    for (const b of built) {
      const m = await rpc.measure(closeTx(b.w, b.trades), true);
      const window = await getWindow(b.w);
      if (window.status !== 3 || window.tradeCount !== BigInt(b.trades)) {
        throw new Error(`${b.name}: status ${window.status}, ${window.tradeCount} trades, expected ${b.trades}`);
      }
      closed.set(b.name, m);
      await approveExact(b);
    }
    log(`closes measured (${elapsed()})`);

    // Readings: two measured batches from the larger repeat window, then the rest; other windows in bulk.
    const readingsMeasured: { gasUsed: number; gasLimit: number }[] = [];
    for (const b of built) {
      const entries = readingsOf(b);
      if (b.name === 'pairs-repeat-2') {
        readingsMeasured.push(await rpc.measure(readingsTx(b.w, entries.slice(0, b1)), true));
        readingsMeasured.push(await rpc.measure(readingsTx(b.w, entries.slice(b1, b1 + b2)), true));
        const rest = entries.slice(b1 + b2);
        if (rest.length > 0) await rpc.bulk([{ ...readingsTx(b.w, rest), gas: 30_000_000n }]);
      } else {
        await rpc.bulk([{ ...readingsTx(b.w, entries), gas: 30_000_000n }]);
      }
    }
    log(`readings measured (${elapsed()})`);
    const settled = new Map<string, { gasUsed: number; gasLimit: number }>();
    for (const b of built) {
      settled.set(b.name, await rpc.measure(settleTx(b.w, b.trades), true));
      await expectAccepted(b.w, b.trades);
    }
    log(`settlements measured (${elapsed()})`);

    const pair = (a: string, b: string, map: Map<string, { gasUsed: number; gasLimit: number }>) => {
      const x = map.get(a);
      const y = map.get(b);
      if (!x || !y) throw new Error(`missing ${a}/${b}`);
      const gasUsed: [number, number] = [x.gasUsed, y.gasUsed];
      const gasLimit: [number, number] = [x.gasLimit, y.gasLimit];
      return { gasUsed, gasLimit };
    };
    const [r1, r2] = readingsMeasured;
    if (!r1 || !r2) throw new Error('readings not measured');
    const sizes2: [number, number] = [b1, b2];
    const batchRows: BatchRow[] = [
      {
        operation: 'close',
        scenario: 'each bid fills two asks',
        worst: false,
        sizes: sizes2,
        ...pair('two-repeat-1', 'two-repeat-2', closed),
      },
      {
        operation: 'close',
        scenario: 'worst: new bid and new ask per trade',
        worst: true,
        sizes: sizes2,
        ...pair('pairs-repeat-1', 'pairs-repeat-2', closed),
      },
      {
        operation: 'readings',
        scenario: 'worst: every prosumer a trader, first reading',
        worst: true,
        sizes: sizes2,
        gasUsed: [r1.gasUsed, r2.gasUsed],
        gasLimit: [r1.gasLimit, r2.gasLimit],
      },
      {
        operation: 'settle',
        scenario: 'typical: 1 trade per trader, seller holds tokens, allowance max',
        worst: false,
        sizes: sizes2,
        ...pair('pairs-repeat-1', 'pairs-repeat-2', settled),
      },
      {
        operation: 'settle',
        scenario: 'buyer in 2 trades in a row, seller holds tokens, allowance max',
        worst: false,
        sizes: sizes2,
        ...pair('two-repeat-1', 'two-repeat-2', settled),
      },
      {
        operation: 'settle',
        scenario: "worst: fresh traders, seller's first receipt, allowance used up",
        worst: true,
        sizes: sizes2,
        ...pair('pairs-fresh-1', 'pairs-fresh-2', settled),
      },
    ];

    // ---------------------------------------------------------- 6. largest batches from the worst case
    const limitRows: LimitRow[] = [];
    for (const row of batchRows.filter((r) => r.worst)) {
      const { perStep, fixed } = marginal(row, 'gasLimit');
      limitRows.push({
        operation: row.operation,
        perStep,
        fixed,
        maxUnderCap: Math.floor((Number(TX_GAS_CAP) - fixed) / perStep),
        maxUnderChainlink: Math.floor((Number(CHAINLINK_PERFORM_GAS) - fixed) / perStep),
      });
    }
    if (options.verify) {
      const limitOf = (op: string) => limitRows.find((r) => r.operation === op);
      const closeL = limitOf('close');
      const readL = limitOf('readings');
      const settleL = limitOf('settle');
      if (!closeL || !readL || !settleL) throw new Error('limits missing');
      // As many trades as the largest close (then that close runs to the end, price included), or more.
      const trades = Math.max(closeL.maxUnderCap, settleL.maxUnderCap + 4, Math.ceil(readL.maxUnderCap / 2) + 4);
      const now = BigInt(String((await client.getBlock()).timestamp));
      const w = now - (now % HOUR) + HOUR;
      const b = await buildWindow(w, { name: 'verify', trades, shape: 'pairs', traders: 'fresh' });
      /** The largest step count whose smallest working gas limit (eth_estimateGas) is within `cap`. */
      const fit = async (make: (n: number) => Tx, row: LimitRow, start: number, cap: bigint, most: number) => {
        const need = async (n: number) => {
          const tx = make(n);
          return BigInt(String(await rpc.call('eth_estimateGas', { from: tx.from, to: tx.to, data: tx.data })));
        };
        let n = Math.min(start, most);
        for (let g = await need(n); g > cap && n > 1; g = await need(n)) {
          n -= Math.max(1, Math.ceil(Number(g - cap) / row.perStep));
        }
        while (n < most && (await need(n + 1)) <= cap) n++;
        return n;
      };
      const verify = async (make: (n: number) => Tx, row: LimitRow, most: number) => {
        const cap = await fit(make, row, row.maxUnderCap, TX_GAS_CAP, most);
        const chainlink = await fit(make, row, row.maxUnderChainlink, CHAINLINK_PERFORM_GAS, most);
        row.verified = { steps: cap, chainlinkSteps: chainlink, ...(await rpc.measure(make(cap), true)) };
        return cap;
      };
      await rpc.setTime(w + HOUR + 10n);
      const closedSteps = await verify((n) => closeTx(w, n), closeL, trades);
      if (closedSteps < trades) await rpc.send(closeTx(w, trades));
      await approveExact(b);
      await rpc.setTime(w + 2n * HOUR + 10n);
      const entries = readingsOf(b);
      const readSteps = await verify((n) => readingsTx(w, entries.slice(0, n)), readL, entries.length);
      for (let i = readSteps; i < entries.length; i += 400) {
        await rpc.bulk([{ ...readingsTx(w, entries.slice(i, i + 400)), gas: 30_000_000n }]);
      }
      const settleSteps = await verify((n) => settleTx(w, n), settleL, trades - 1);
      await expectAccepted(w, settleSteps);
      log(`largest batches verified (${elapsed()})`);
    }

    const markdown = render(placeRows, hostileRows, batchRows, limitRows, options);
    return { placeOrder: placeRows, hostile: hostileRows, batches: batchRows, limits: limitRows, markdown };
  } finally {
    await anvil.stop();
  }
}

// ------------------------------------------------------------------ signed orders

export interface SignedRow {
  /** Book per side when the section's batches started (earlier batches add their orders). */
  book: number;
  batch: number;
  gasUsed: number;
  gasLimit: number;
}
export interface SignedLimit {
  book: number;
  /** Marginal gas limit per order between the two largest batches, and the rest. */
  perOrder: number;
  fixed: number;
  maxUnderCap: number;
  /** Found with eth_estimateGas around the linear estimate; one transaction sent at `orders`. */
  verified?: { orders: number; gasUsed: number; gasLimit: number; calldataBytes: number };
}
export interface PermitRow {
  label: string;
  gasUsed: number;
}
export interface SignedResult {
  rows: SignedRow[];
  limits: SignedLimit[];
  /** The book with the largest marginal per order. */
  worst: SignedLimit;
  permit: PermitRow[];
}

const SIGNED_ORDER_REJECTED = toEventSelector('SignedOrderRejected(uint256,address,uint256,bytes4)');

/** A prosumer with a key, registered beforehand, holding no ether. */
interface Signer {
  account: PrivateKeyAccount;
  address: Address;
}
interface SignedMessage {
  message: { prosumer: Address; windowId: bigint; side: Side; energyWh: bigint; pricePerKWh: bigint; nonce: bigint };
  signature: Hex;
}

/** placeOrdersBySig into books of 1,000 and 5,000 per side (up to maxBook), the largest batch, relayed permits. */
async function runSigned(options: BenchOptions, log: (m: string) => void): Promise<SignedResult> {
  const batches = [...(options.signedBatches ?? SIGNED_BATCHES)];
  const books: number[] = SIGNED_BOOKS.filter((n) => n <= options.maxBook);
  if (books.length === 0) books.push(options.maxBook);
  const h0 = DAY + 6n * HOUR;
  const elapsed = stopwatch();
  const anvil = await startBenchAnvil(h0 + 60n);
  try {
    const b = await setupBench(anvil.url);
    const { rpc, client, market, token } = b;
    const chainId = await client.getChainId();
    const [, name, version, , verifyingContract] = await client.readContract({
      address: market,
      abi: energyMarketAbi,
      functionName: 'eip712Domain',
    });
    const domain = { name, version, chainId, verifyingContract };
    const w = h0;
    await b.openWindow(w);
    const U = 10n ** 12n;
    const bookPrice = (side: Side, k: number) =>
      side === BUY ? 100n * TOKEN - BigInt(k) * 10n * U : 10n * TOKEN + BigInt(k) * 10n * U;
    /** The relayer's model of the book: every order, in book order. */
    const model: Record<Side, SideModel> = { [BUY]: new SideModel(BUY), [SELL]: new SideModel(SELL) };
    let base = 0; // orders per side placed to build the book (the signed ones come on top)

    let signerCount = 0;
    const newSigners = async (n: number): Promise<Signer[]> => {
      const signers = Array.from({ length: n }, (_, i) => {
        const account = privateKeyToAccount(numberToHex(0x5160000000n + BigInt(signerCount + i), { size: 32 }));
        return { account, address: account.address };
      });
      signerCount += n;
      await b.registerAccounts(signers.map((s) => s.address));
      const balances = await rpc.batch(
        signers.map((s) => ({ method: 'eth_getBalance', params: [s.address, 'latest'] })),
      );
      if (balances.some((x) => BigInt(String(x)) !== 0n)) throw new Error('a signer holds ether');
      return signers;
    };
    /** Gaps of the built book (between base orders k and k + 1) that hold signed orders already. */
    const used: Record<Side, Set<number>> = { [BUY]: new Set(), [SELL]: new Set() };
    /** Order j: a bid if j % 4 < 2, else an ask; pairs go into one gap of the book (gaps spread over it, each
     * one not used by an earlier batch while there are free ones), the second of a pair one unit behind the
     * first. Signed in parallel; hints come later, in batch order. */
    const signBatch = (signers: Signer[]): Promise<SignedMessage[]> => {
      const pairsPerSide = Math.max(1, Math.ceil(signers.length / 4));
      const spacing = Math.max(1, Math.floor(base / pairsPerSide));
      const last = Math.max(0, base - 2); // never after the tail
      let gap = 0;
      const messages = signers.map((s, j) => {
        const side: Side = j % 4 < 2 ? BUY : SELL;
        if (j % 2 === 0) {
          const target = Math.min(last, Math.floor(j / 4) * spacing + 7);
          gap = target;
          while (used[side].has(gap) && gap < last) gap++;
          if (used[side].has(gap)) gap = target; // every gap used (tiny books): share one
          used[side].add(gap);
        }
        const by = j % 2 === 1 ? 4n : 3n;
        const price = bookPrice(side, gap) + (side === BUY ? -by : by) * U;
        return { prosumer: s.address, windowId: w, side, energyWh: 1000n, pricePerKWh: price, nonce: 0n };
      });
      return Promise.all(
        messages.map(async (message, j) => {
          const account = signers[j]?.account;
          if (!account) throw new Error('no signer');
          const signature = await account.signTypedData({ domain, types: ORDER_TYPES, primaryType: 'Order', message });
          return { message, signature };
        }),
      );
    };
    /** The relayer's method: each hint from the book as the earlier orders of the batch leave it (`models` is
     * updated). */
    const hinted = (signed: SignedMessage[], models: Record<Side, SideModel>) =>
      signed.map(({ message, signature }) => ({
        ...message,
        hintPrev: models[message.side].insert(message.prosumer, message.pricePerKWh),
        signature,
      }));
    type SignedOrder = ReturnType<typeof hinted>[number];
    const batchTx = (orders: SignedOrder[]): Tx => ({
      from: RELAYER,
      to: market,
      data: encodeFunctionData({ abi: energyMarketAbi, functionName: 'placeOrdersBySig', args: [orders] }),
    });
    const estimate = async (tx: Tx) =>
      BigInt(String(await rpc.call('eth_estimateGas', { from: tx.from, to: tx.to, data: tx.data })));
    /** Sends a batch at the smallest gas limit that works; every order must be placed. */
    const sendBatch = async (orders: SignedOrder[]) => {
      const tx = batchTx(orders);
      const before = (await b.getWindow(w)).orderCount;
      const limit = await estimate(tx);
      const receipt = await rpc.send(tx, limit);
      const rejected = receipt.logs.filter((l) => l.topics[0] === SIGNED_ORDER_REJECTED).length;
      const placed = (await b.getWindow(w)).orderCount - before;
      if (rejected > 0 || placed !== BigInt(orders.length)) {
        throw new Error(`placeOrdersBySig: ${placed} of ${orders.length} placed, ${rejected} rejected`);
      }
      const gasUsed = Number(BigInt(receipt.gasUsed));
      return { gasUsed, gasLimit: Number(limit), calldataBytes: (tx.data.length - 2) / 2 };
    };
    /** The book on chain is the relayer's model, order by order. */
    const checkBook = async () => {
      for (const side of [BUY, SELL] as const) {
        const expected = model[side].owners();
        const onChain = await client.readContract({
          address: market,
          abi: energyMarketAbi,
          functionName: 'getBook',
          args: [w, side, 0n, BigInt(expected.length + 1)],
        });
        const same = onChain.every((a, i) => a.toLowerCase() === expected[i]?.toLowerCase());
        if (onChain.length !== expected.length || !same) {
          throw new Error(`the ${side === BUY ? 'bid' : 'ask'} book is not the relayer's model`);
        }
      }
    };

    const rows: SignedRow[] = [];
    for (const n of books) {
      const grow = n - base;
      const fresh = await b.newAccounts(2 * grow);
      const sideOrders = ([BUY, SELL] as const).map((side) => {
        const who = fresh.slice(side === BUY ? 0 : grow, side === BUY ? grow : 2 * grow);
        const tail = model[side].entries[model[side].entries.length - 1]?.owner ?? ZERO;
        const orders = who.map((a, i) => ({ who: a, energy: 1000n, price: bookPrice(side, base + i) }));
        return { side, after: tail, orders };
      });
      await b.placeSorted(w, sideOrders);
      for (const s of sideOrders) {
        for (const o of s.orders) model[s.side].entries.push({ owner: o.who, price: o.price });
      }
      base = n;
      await checkBook();
      log(`signed orders: book of ${n} per side built (${elapsed()})`);
      for (const m of batches) {
        const orders = hinted(await signBatch(await newSigners(m)), model);
        const { gasUsed, gasLimit } = await sendBatch(orders);
        rows.push({ book: n, batch: m, gasUsed, gasLimit });
        await checkBook();
      }
      log(`signed orders: batches measured at ${n} per side (${elapsed()})`);
    }

    const [m1, m2] = batches.slice(-2) as [number, number];
    const limits = books.map((n): SignedLimit => {
      const r1 = rows.find((r) => r.book === n && r.batch === m1);
      const r2 = rows.find((r) => r.book === n && r.batch === m2);
      if (!r1 || !r2) throw new Error(`batches ${m1}/${m2} missing at ${n}`);
      const perOrder = (r2.gasLimit - r1.gasLimit) / (m2 - m1);
      const fixed = r1.gasLimit - perOrder * m1;
      return { book: n, perOrder, fixed, maxUnderCap: Math.floor((Number(TX_GAS_CAP) - fixed) / perOrder) };
    });
    const worst = limits.reduce((a, l) => (l.perOrder > a.perOrder ? l : a));
    if (options.verify) {
      // At the largest book: candidates a little beyond the linear estimate, hints for the whole list (a prefix
      // of it is hinted exactly too), then the largest prefix whose gas limit fits the cap.
      const candidates = await signBatch(await newSigners(Math.ceil(worst.maxUnderCap * 1.05) + 16));
      const trial = { [BUY]: new SideModel(BUY, model[BUY].entries), [SELL]: new SideModel(SELL, model[SELL].entries) };
      const all = hinted(candidates, trial);
      const fits = async (n: number) => (await estimate(batchTx(all.slice(0, n)))) <= TX_GAS_CAP;
      // Bracket the answer in steps of 8 from the linear estimate (lo fits, hi does not), then bisect.
      let lo = Math.min(worst.maxUnderCap, all.length);
      let hi = lo;
      if (await fits(lo)) {
        for (hi = lo + 8; hi <= all.length && (await fits(hi)); hi += 8) lo = hi;
        if (hi > all.length) throw new Error(`all ${all.length} candidate orders fit under the cap: estimate is off`);
      } else {
        for (lo = hi - 8; lo > 0 && !(await fits(lo)); lo -= 8) hi = lo;
        lo = Math.max(lo, 1);
      }
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (await fits(mid)) lo = mid;
        else hi = mid;
      }
      const k = lo;
      const sent = hinted(candidates.slice(0, k), model);
      if (sent.some((o, i) => o.hintPrev !== all[i]?.hintPrev)) throw new Error('prefix hints differ');
      worst.verified = { orders: k, ...(await sendBatch(sent)) };
      await checkBook();
      log(`signed orders: largest batch verified (${elapsed()})`);
    }

    // permit, relayed: the owner signs (no ether), the relayer sends.
    const [, tokenName, tokenVersion, , tokenAddress] = await client.readContract({
      address: token,
      abi: energyTokenAbi,
      functionName: 'eip712Domain',
    });
    const tokenDomain = { name: tokenName, version: tokenVersion, chainId, verifyingContract: tokenAddress };
    const [owner] = await newSigners(1);
    if (!owner) throw new Error('no permit owner');
    const permit: PermitRow[] = [];
    for (const [label, value] of [
      ['first permit of an owner (nonce 0, allowance 0 → max)', maxUint256],
      ['second permit (nonce 1, allowance max → 1,000 tokens)', 1000n * TOKEN],
    ] as const) {
      const nonce = await client.readContract({
        address: token,
        abi: energyTokenAbi,
        functionName: 'nonces',
        args: [owner.address],
      });
      const deadline = h0 + 10n * HOUR;
      const signature = await owner.account.signTypedData({
        domain: tokenDomain,
        types: PERMIT_TYPES,
        primaryType: 'Permit',
        message: { owner: owner.address, spender: market, value, nonce, deadline },
      });
      const { r, s, v, yParity } = parseSignature(signature);
      const data = encodeFunctionData({
        abi: energyTokenAbi,
        functionName: 'permit',
        args: [owner.address, market, value, deadline, v === undefined ? 27 + yParity : Number(v), r, s],
      });
      const { gasUsed } = await rpc.measure({ from: RELAYER, to: token, data }, true);
      const allowance = await client.readContract({
        address: token,
        abi: energyTokenAbi,
        functionName: 'allowance',
        args: [owner.address, market],
      });
      if (allowance !== value) throw new Error(`permit: allowance ${allowance}, expected ${value}`);
      permit.push({ label, gasUsed });
    }
    log(`signed orders: permit measured (${elapsed()})`);
    return { rows, limits, worst, permit };
  } finally {
    await anvil.stop();
  }
}

function renderSigned(r: SignedResult): string {
  const out: string[] = [];
  out.push(
    '| placeOrdersBySig (receipt gasUsed), exact relayer hints: book per side, batch | transaction gas | ' +
      'per order | gas limit needed |',
  );
  out.push('|---|---:|---:|---:|');
  for (const row of r.rows) {
    out.push(
      `| ${fmt(row.book)}, ${fmt(row.batch)} | ${fmt(row.gasUsed)} | ${fmt(row.gasUsed / row.batch)} | ` +
        `${fmt(row.gasLimit)} |`,
    );
  }
  out.push('');
  const sizes = [...new Set(r.rows.map((row) => row.batch))];
  const goalBatch = sizes.includes(100) ? 100 : (sizes[sizes.length - 1] ?? 0);
  const [m1, m2] = sizes.slice(-2);
  out.push(
    `| placeOrdersBySig: book per side | per order, batch of ${fmt(goalBatch)} (goal ≤ ` +
      `${fmt(SIGNED_GOAL_PER_ORDER)}) | marginal per order ${fmt(m1 ?? 0)} → ${fmt(m2 ?? 0)} (gas limit) | fixed |`,
  );
  out.push('|---|---:|---:|---:|');
  for (const l of r.limits) {
    const row = r.rows.find((x) => x.book === l.book && x.batch === goalBatch);
    const per = row ? row.gasUsed / row.batch : NaN;
    const status = per <= SIGNED_GOAL_PER_ORDER ? 'met' : '**not met**';
    out.push(`| ${fmt(l.book)} | ${fmt(per)} (${status}) | ${fmt(l.perOrder)} | ${fmt(l.fixed)} |`);
  }
  out.push('');
  out.push(
    '| largest placeOrdersBySig batch (worst book) | limit/order | fixed | linear ≤ 16.78M | checked ≤ 16.78M | ' +
      'tx at checked: used / limit | calldata |',
  );
  out.push('|---|---:|---:|---:|---:|---|---:|');
  const v = r.worst.verified;
  const checked = v
    ? `${fmt(v.orders)} | ${fmt(v.gasUsed)} / ${fmt(v.gasLimit)} | ${fmt(v.calldataBytes)} bytes`
    : 'not run | not run | not run';
  out.push(
    `| ${fmt(r.worst.book)} per side | ${fmt(r.worst.perOrder)} | ${fmt(r.worst.fixed)} | ` +
      `${fmt(r.worst.maxUnderCap)} | ${checked} |`,
  );
  out.push('');
  out.push('| permit (ERC-2612), sent by a relayer | receipt gasUsed |');
  out.push('|---|---:|');
  for (const p of r.permit) out.push(`| ${p.label} | ${fmt(p.gasUsed)} |`);
  return out.join('\n');
}

// ------------------------------------------------------------------ tables

function render(
  place: PlaceRow[],
  hostile: HostileRow[],
  batches: BatchRow[],
  limits: LimitRow[],
  options: BenchOptions,
): string {
  const out: string[] = [];
  const positions = [...new Set(place.map((r) => r.position))];
  out.push(`| placeOrder, findHint hint: book per side, side | ${positions.join(' | ')} |`);
  out.push(`|---|${positions.map(() => '---:').join('|')}|`);
  const books = [...new Set(place.map((r) => r.book))];
  for (const book of books) {
    for (const side of ['buy', 'sell'] as const) {
      const cells = positions.map((p) => place.find((r) => r.book === book && r.side === side && r.position === p));
      out.push(`| ${fmt(book)}, ${side} | ${cells.map((c) => (c ? fmt(c.gasUsed) : '')).join(' | ')} |`);
    }
  }
  out.push('');
  out.push('| placeOrder, findHint hint: book per side | min | typical (median) | max |');
  out.push('|---|---:|---:|---:|');
  for (const book of books) {
    const g = place.filter((r) => r.book === book).map((r) => r.gasUsed);
    out.push(`| ${fmt(book)} | ${fmt(Math.min(...g))} | ${fmt(median(g))} | ${fmt(Math.max(...g))} |`);
  }
  out.push('');
  const n = books[books.length - 1] ?? 0;
  out.push(`| placeOrder at a mid-book price, ${fmt(n)} orders per side: hint | outcome | buy | sell |`);
  out.push('|---|---|---:|---:|');
  for (const hint of [...new Set(hostile.map((r) => r.hint))]) {
    const cell = (side: string) => hostile.find((r) => r.hint === hint && r.side === side);
    const outcomes = [...new Set(hostile.filter((r) => r.hint === hint).map((r) => r.outcome))].join(' / ');
    const show = (row: HostileRow | undefined) => (row === undefined ? '' : fmt(row.gasUsed));
    out.push(`| ${hint} | ${outcomes} | ${show(cell('buy'))} | ${show(cell('sell'))} |`);
  }
  out.push('');
  const [s1, s2] = options.batches;
  out.push(`| batch (receipt gasUsed) | ${fmt(s1)} | ${fmt(s2)} | per step | fixed | gas limit needed per step |`);
  out.push('|---|---:|---:|---:|---:|---:|');
  for (const row of batches) {
    const used = marginal(row, 'gasUsed');
    const limit = marginal(row, 'gasLimit');
    const unit = row.operation === 'readings' ? 'prosumers' : 'trades';
    out.push(
      `| ${row.operation} (${unit}): ${row.scenario} | ${fmt(row.gasUsed[0])} | ${fmt(row.gasUsed[1])} | ` +
        `${fmt(used.perStep)} | ${fmt(used.fixed)} | ${fmt(limit.perStep)} |`,
    );
  }
  out.push('');
  out.push(
    '| largest batch (worst) | limit/step | fixed | linear ≤ 16.78M | linear ≤ 5M | checked ≤ 16.78M | ' +
      'checked ≤ 5M | tx at checked: used / limit |',
  );
  out.push('|---|---:|---:|---:|---:|---:|---:|---|');
  for (const l of limits) {
    const v = l.verified;
    const checked = v
      ? `${fmt(v.steps)} | ${fmt(v.chainlinkSteps)} | ${fmt(v.gasUsed)} / ${fmt(v.gasLimit)}`
      : 'not run | not run | not run';
    out.push(
      `| ${l.operation} | ${fmt(l.perStep)} | ${fmt(l.fixed)} | ${fmt(l.maxUnderCap)} | ` +
        `${fmt(l.maxUnderChainlink)} | ${checked} |`,
    );
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const options = optionsFromEnv();
  const { stdout } = await promisify(execFile)(foundryBin('anvil'), ['--version']);
  const result = await runGasBench(options);
  const version = stdout.split('\n')[0] ?? 'anvil';
  console.log(`Receipt gas (\`receipt.gasUsed\`) on ${version}, ${new Date().toISOString().slice(0, 10)}.`);
  console.log('');
  console.log(result.markdown);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
