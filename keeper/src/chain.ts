// viem clients and typed reads of the market.
import {
  createPublicClient,
  createWalletClient,
  decodeAbiParameters,
  http,
  type Account,
  type Address,
  type Chain,
  type PublicClient,
  type WalletClient,
  type Transport,
} from 'viem';
import { energyMarketAbi, prosumerRegistryAbi } from './abi.js';

export const WindowStatus = ['None', 'Open', 'Closing', 'Cleared', 'Settling', 'Settled'] as const;
export type WindowStatusName = (typeof WindowStatus)[number];
export const UpkeepAction = ['None', 'Open', 'Close', 'Settle'] as const;
export type UpkeepActionName = (typeof UpkeepAction)[number];

export interface Clients {
  public: PublicClient<Transport, Chain>;
  wallet: WalletClient<Transport, Chain, Account>;
  account: Account;
  chain: Chain;
}

export function makeChain(chainId: number, rpcUrl: string): Chain {
  return {
    id: chainId,
    name: `chain-${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  };
}

/** Clients without transport-level retries: the keeper's p-retry layer owns retries. */
export function makeClients(rpcUrl: string, chainId: number, account: Account): Clients {
  const chain = makeChain(chainId, rpcUrl);
  const transport = http(rpcUrl, { retryCount: 0, timeout: 10_000, batch: { batchSize: 200, wait: 0 } });
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
export async function mapInChunks<T, R>(items: readonly T[], fn: (item: T) => Promise<R>, chunk = READ_CHUNK): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += chunk) out.push(...(await Promise.all(items.slice(i, i + chunk).map(fn))));
  return out;
}

export interface WindowState {
  status: WindowStatusName;
  clearingPrice: bigint;
  clearedEnergyWh: bigint;
  orderCount: bigint;
  tradeCount: bigint;
  settledCount: bigint;
}

export class MarketReader {
  constructor(
    readonly client: PublicClient<Transport, Chain>,
    readonly market: Address,
  ) {}

  private read<T>(functionName: string, args: readonly unknown[] = []): Promise<T> {
    return this.client.readContract({
      address: this.market,
      abi: energyMarketAbi,
      functionName: functionName as never,
      args: args as never,
    }) as Promise<T>;
  }

  async window(windowId: bigint): Promise<WindowState> {
    const [status, clearingPrice, clearedEnergyWh, orderCount, tradeCount, settledCount] = await this.read<
      readonly [number, bigint, bigint, bigint, bigint, bigint]
    >('getWindow', [windowId]);
    return { status: WindowStatus[status] ?? 'None', clearingPrice, clearedEnergyWh, orderCount, tradeCount, settledCount };
  }

  windowDuration(): Promise<bigint> {
    return this.read('windowDuration');
  }

  registry(): Promise<Address> {
    return this.read('registry');
  }

  settleReadyAt(windowId: bigint): Promise<bigint> {
    return this.read('settleReadyAt', [windowId]);
  }

  async readingProgress(windowId: bigint): Promise<{ traders: bigint; readings: bigint }> {
    const [traders, readings] = await this.read<readonly [bigint, bigint]>('readingProgress', [windowId]);
    return { traders, readings };
  }

  async reading(windowId: bigint, prosumer: Address): Promise<{ submitted: boolean; importWh: bigint; exportWh: bigint }> {
    const [submitted, importWh, exportWh] = await this.read<readonly [boolean, bigint, bigint]>('getReading', [windowId, prosumer]);
    return { submitted, importWh, exportWh };
  }

  async trade(windowId: bigint, index: bigint): Promise<{ buyer: Address; seller: Address; energyWh: bigint; status: number; reason: number }> {
    const [buyer, seller, energyWh, status, reason] = await this.read<readonly [Address, Address, bigint, number, number]>(
      'getTrade',
      [windowId, index],
    );
    return { buyer, seller, energyWh, status, reason };
  }

  async checkUpkeep(): Promise<{ needed: boolean; action: UpkeepActionName; windowId: bigint; maxSteps: bigint }> {
    const [needed, data] = await this.read<readonly [boolean, `0x${string}`]>('checkUpkeep', ['0x']);
    // performData = abi.encode(UpkeepAction, windowId, maxSteps)
    const [action, windowId, maxSteps] = decodeAbiParameters([{ type: 'uint8' }, { type: 'uint256' }, { type: 'uint256' }], data);
    return { needed, action: UpkeepAction[action] ?? 'None', windowId, maxSteps };
  }

  hasRole(role: `0x${string}`, account: Address): Promise<boolean> {
    return this.read('hasRole', [role, account]);
  }

  /** Traders of a window: every buyer and seller of its trades, in first-appearance order. */
  async traders(windowId: bigint, tradeCount: bigint): Promise<Address[]> {
    const indices = Array.from({ length: Number(tradeCount) }, (_, i) => BigInt(i));
    const seen = new Set<Address>();
    for (const t of await mapInChunks(indices, (i) => this.trade(windowId, i))) {
      seen.add(t.buyer);
      seen.add(t.seller);
    }
    return [...seen];
  }

  async assetTotals(registry: Address, account: Address): Promise<{ pvPeakW: bigint; batteryPowerW: bigint; batteryCapacityWh: bigint }> {
    const [pvPeakW, batteryPowerW, batteryCapacityWh] = (await this.client.readContract({
      address: registry,
      abi: prosumerRegistryAbi,
      functionName: 'assetTotalsOf',
      args: [account],
    })) as readonly [bigint, bigint, bigint];
    return { pvPeakW, batteryPowerW, batteryCapacityWh };
  }
}
