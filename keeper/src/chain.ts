// viem clients and typed reads of the market.
import {
  createPublicClient,
  createWalletClient,
  custom,
  decodeAbiParameters,
  fallback,
  getContract,
  http,
  type Account,
  type Address,
  type Chain,
  type EIP1193RequestFn,
  type PublicClient,
  type WalletClient,
  type Transport,
} from 'viem';
import * as knownChains from 'viem/chains';
import {
  energyMarketAbi,
  prosumerRegistryAbi,
  readTrade,
  readTrades,
  readWindowState,
  type Trade,
  type WindowState,
} from '@p2p-energy/sdk';
import type { KeeperMetrics } from './metrics.js';
import { isRetryableRpcError } from './retry.js';

export const UpkeepAction = ['None', 'Open', 'Close', 'Settle'] as const;
export type UpkeepActionName = (typeof UpkeepAction)[number];

export interface Clients {
  public: PublicClient<Transport, Chain>;
  wallet: WalletClient<Transport, Chain, Account>;
  account: Account;
  chain: Chain;
}

/** viem's definition of the chain (`viem/chains`), or a plain one when viem does not know the id. */
export function makeChain(chainId: number, rpcUrl: string): Chain {
  const all: readonly Chain[] = Object.values(knownChains);
  const known = all.find((c) => c.id === chainId);
  if (known) return known;
  return {
    id: chainId,
    name: `chain-${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  };
}

export interface RpcSettings {
  /** One or more endpoints; several are used through viem's `fallback` transport, in order. */
  rpcUrls: readonly string[];
  chainId: number;
  /** Retries of a retryable failure (HTTP 408/429/5xx, JSON-RPC -32005/-32603/-32007, network). */
  rpcRetryCount: number;
  /** Base of the exponential backoff; a Retry-After header wins. */
  rpcRetryDelayMs: number;
  rpcTimeoutMs: number;
}

/**
 * One endpoint: viem's http transport for single attempts, wrapped in a transport whose request viem retries
 * (`retryCount`, `retryDelay`, Retry-After; viem's own rules of what is retryable). Each retryable failure is
 * counted in `keeper_rpc_retries_total`. The keeper does not retry RPC calls itself.
 */
function endpoint(url: string, settings: RpcSettings, metrics?: KeeperMetrics): Transport {
  const once = http(url, { retryCount: 0, timeout: settings.rpcTimeoutMs, batch: { batchSize: 200, wait: 0 } });
  return (params) => {
    const inner = once({ ...params, retryCount: 0 });
    const request: EIP1193RequestFn = async (args, options) => {
      try {
        return await inner.request(args, options);
      } catch (error) {
        if (isRetryableRpcError(error)) metrics?.rpcRetries.inc();
        throw error;
      }
    };
    return custom(
      { request },
      { key: 'http', name: 'HTTP JSON-RPC', retryCount: settings.rpcRetryCount, retryDelay: settings.rpcRetryDelayMs },
    )(params);
  };
}

/** The transport over RPC_URL(S): one endpoint, or viem's `fallback` over several (in order). */
export function makeTransport(settings: RpcSettings, metrics?: KeeperMetrics): { chain: Chain; transport: Transport } {
  const [first, ...rest] = settings.rpcUrls;
  if (first === undefined) throw new Error('no RPC URL');
  const chain = makeChain(settings.chainId, first);
  const transport =
    rest.length === 0
      ? endpoint(first, settings, metrics)
      : fallback(
          [first, ...rest].map((u) => endpoint(u, settings, metrics)),
          { retryCount: 0 },
        );
  return { chain, transport };
}

/** A read-only client (keeper export). */
export function makePublicClient(settings: RpcSettings, metrics?: KeeperMetrics): PublicClient<Transport, Chain> {
  const { chain, transport } = makeTransport(settings, metrics);
  return createPublicClient({ chain, transport });
}

/** Public and wallet clients over RPC_URL(S), retries owned by the transport. */
export function makeClients(settings: RpcSettings, account: Account, metrics?: KeeperMetrics): Clients {
  const { chain, transport } = makeTransport(settings, metrics);
  return {
    public: createPublicClient({ chain, transport }),
    wallet: createWalletClient({ chain, transport, account }),
    account,
    chain,
  };
}

/** Concurrency of bulk reads: bounded so that a 10,000-order window does not hold 10,000 requests at once. */
export const READ_CHUNK = 400;

/** Maps `items` through `fn`, `chunk` at a time (results in order). */
export async function mapInChunks<T, R>(
  items: readonly T[],
  fn: (item: T) => Promise<R>,
  chunk = READ_CHUNK,
): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += chunk) out.push(...(await Promise.all(items.slice(i, i + chunk).map(fn))));
  return out;
}

/** The market's typed contract instance: a function or argument that is not in the ABI is a tsc error. */
function marketContract(client: PublicClient<Transport, Chain>, market: Address) {
  return getContract({ address: market, abi: energyMarketAbi, client });
}

export class MarketReader {
  private readonly contract: ReturnType<typeof marketContract>;

  constructor(
    readonly client: PublicClient<Transport, Chain>,
    readonly market: Address,
  ) {
    this.contract = marketContract(client, market);
  }

  window(windowId: bigint): Promise<WindowState> {
    return readWindowState(this.client, this.market, windowId);
  }

  windowDuration(): Promise<bigint> {
    return this.contract.read.windowDuration();
  }

  registry(): Promise<Address> {
    return this.contract.read.registry();
  }

  settleReadyAt(windowId: bigint): Promise<bigint> {
    return this.contract.read.settleReadyAt([windowId]);
  }

  async readingProgress(windowId: bigint): Promise<{ traders: bigint; readings: bigint }> {
    const [traders, readings] = await this.contract.read.readingProgress([windowId]);
    return { traders, readings };
  }

  async reading(
    windowId: bigint,
    prosumer: Address,
  ): Promise<{ submitted: boolean; importWh: bigint; exportWh: bigint }> {
    const [submitted, importWh, exportWh] = await this.contract.read.getReading([windowId, prosumer]);
    return { submitted, importWh, exportWh };
  }

  trade(windowId: bigint, index: bigint): Promise<Trade> {
    return readTrade(this.client, this.market, windowId, index);
  }

  trades(windowId: bigint, tradeCount: bigint): Promise<Trade[]> {
    return readTrades(this.client, this.market, windowId, tradeCount);
  }

  async checkUpkeep(): Promise<{ needed: boolean; action: UpkeepActionName; windowId: bigint; maxSteps: bigint }> {
    const [needed, data] = await this.contract.read.checkUpkeep(['0x']);
    // performData = abi.encode(UpkeepAction, windowId, maxSteps)
    const [action, windowId, maxSteps] = decodeAbiParameters(
      [{ type: 'uint8' }, { type: 'uint256' }, { type: 'uint256' }],
      data,
    );
    return { needed, action: UpkeepAction[action] ?? 'None', windowId, maxSteps };
  }

  hasRole(role: `0x${string}`, account: Address): Promise<boolean> {
    return this.contract.read.hasRole([role, account]);
  }

  /** Energy each trader of a window bought and sold (from its trades), in first-appearance order. */
  async tradedEnergy(
    windowId: bigint,
    tradeCount: bigint,
  ): Promise<Map<Address, { boughtWh: bigint; soldWh: bigint }>> {
    const out = new Map<Address, { boughtWh: bigint; soldWh: bigint }>();
    const entry = (a: Address) => {
      let e = out.get(a);
      if (!e) out.set(a, (e = { boughtWh: 0n, soldWh: 0n }));
      return e;
    };
    for (const t of await this.trades(windowId, tradeCount)) {
      entry(t.buyer).boughtWh += t.energyWh;
      entry(t.seller).soldWh += t.energyWh;
    }
    return out;
  }

  /** Block of the window's `WindowCleared` log, searched from `fromBlock` to the head; undefined if not found. */
  async clearedBlock(windowId: bigint, fromBlock: bigint): Promise<bigint | undefined> {
    const logs = await this.client.getContractEvents({
      address: this.market,
      abi: energyMarketAbi,
      eventName: 'WindowCleared',
      args: { windowId },
      fromBlock,
      toBlock: 'latest',
    });
    return logs[0]?.blockNumber ?? undefined;
  }

  /** Traders of a window: every buyer and seller of its trades, in first-appearance order. */
  async traders(windowId: bigint, tradeCount: bigint): Promise<Address[]> {
    const seen = new Set<Address>();
    for (const t of await this.trades(windowId, tradeCount)) {
      seen.add(t.buyer);
      seen.add(t.seller);
    }
    return [...seen];
  }

  /** The prosumer's asset totals now, or as of `blockNumber` (needs a node that serves that block's state). */
  async assetTotals(
    registry: Address,
    account: Address,
    blockNumber?: bigint,
  ): Promise<{ pvPeakW: bigint; batteryPowerW: bigint; batteryCapacityWh: bigint }> {
    const [pvPeakW, batteryPowerW, batteryCapacityWh] = await this.client.readContract({
      address: registry,
      abi: prosumerRegistryAbi,
      functionName: 'assetTotalsOf',
      args: [account],
      ...(blockNumber === undefined ? {} : { blockNumber }),
    });
    return { pvPeakW, batteryPowerW, batteryCapacityWh };
  }
}

/** Finds blocks by timestamp (bisection over block numbers, timestamps cached). */
export class BlockFinder {
  private readonly timestamps = new Map<bigint, bigint>();

  constructor(
    private readonly client: PublicClient<Transport, Chain>,
    /** No block before this one matters (the market's deployment block, START_BLOCK). */
    private readonly floor: bigint = 0n,
  ) {}

  private async timestampOf(n: bigint): Promise<bigint> {
    let ts = this.timestamps.get(n);
    if (ts === undefined) {
      ts = (await this.client.getBlock({ blockNumber: n })).timestamp;
      if (this.timestamps.size > 50_000) this.timestamps.clear();
      this.timestamps.set(n, ts);
    }
    return ts;
  }

  /** The latest block with timestamp < `timestamp`, at most `head`; undefined if the floor block is that late. */
  async lastBefore(timestamp: bigint, head: bigint): Promise<bigint | undefined> {
    if ((await this.timestampOf(head)) < timestamp) return head;
    let lo = this.floor;
    if ((await this.timestampOf(lo)) >= timestamp) return undefined;
    let hi = head; // invariant: ts(lo) < timestamp <= ts(hi)
    while (hi - lo > 1n) {
      const mid = (lo + hi) / 2n;
      if ((await this.timestampOf(mid)) < timestamp) lo = mid;
      else hi = mid;
    }
    return lo;
  }
}
