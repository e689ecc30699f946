// The server's view of the chain: who is a registered prosumer, their assets, the chain's clock.
import { createPublicClient, http, type Address, type Chain, type PublicClient, type Transport } from 'viem';
import { energyMarketAbi, prosumerRegistryAbi } from '@p2p-energy/sdk';
import { makeChain } from '../../keeper/src/chain.js';
import type { Household } from './data/types.js';

export interface Deployment {
  chainId: number;
  market: Address;
  token: Address;
  registry: Address;
  windowDuration: bigint;
}

export class ChainUnavailable extends Error {
  override name = 'ChainUnavailable';
}

export class ChainView {
  private clock: { timestamp: number; fetchedAt: number } | undefined;

  private constructor(
    readonly client: PublicClient<Transport, Chain>,
    readonly deployment: Deployment,
  ) {}

  /** Connects, checks the chain id (when given) and that the market is deployed, reads token and registry. */
  static async connect(rpcUrl: string, market: Address, expectedChainId?: number): Promise<ChainView> {
    const probe = createPublicClient({ transport: http(rpcUrl, { retryCount: 1, timeout: 10_000 }) });
    let chainId: number;
    try {
      chainId = await probe.getChainId();
    } catch (error) {
      throw new ChainUnavailable(`cannot reach RPC_URL ${rpcUrl}: ${(error as Error).message.split('\n')[0]}`);
    }
    if (expectedChainId !== undefined && chainId !== expectedChainId) {
      throw new ChainUnavailable(`RPC_URL serves chain ${chainId}, CHAIN_ID says ${expectedChainId}`);
    }
    const client = createPublicClient({
      chain: makeChain(chainId, rpcUrl),
      transport: http(rpcUrl, { retryCount: 1, timeout: 10_000 }),
    });
    const code = await client.getCode({ address: market });
    if (code === undefined || code === '0x') {
      throw new ChainUnavailable(`MARKET_ADDRESS ${market} has no contract on chain ${chainId}`);
    }
    const read = <F extends 'token' | 'registry' | 'windowDuration'>(functionName: F) =>
      client.readContract({ address: market, abi: energyMarketAbi, functionName });
    const [token, registry, windowDuration] = await Promise.all([
      read('token'),
      read('registry'),
      read('windowDuration'),
    ]);
    return new ChainView(client, { chainId, market, token, registry, windowDuration });
  }

  isRegistered(account: Address): Promise<boolean> {
    return this.client.readContract({
      address: this.deployment.registry,
      abi: prosumerRegistryAbi,
      functionName: 'isRegistered',
      args: [account],
    });
  }

  prosumerId(account: Address): Promise<bigint> {
    return this.client.readContract({
      address: this.deployment.registry,
      abi: prosumerRegistryAbi,
      functionName: 'prosumerIdOf',
      args: [account],
    });
  }

  async household(account: Address): Promise<Household> {
    const [pvPeakW, batteryPowerW, batteryCapacityWh] = await this.client.readContract({
      address: this.deployment.registry,
      abi: prosumerRegistryAbi,
      functionName: 'assetTotalsOf',
      args: [account],
    });
    return { account, pvPeakW, batteryPowerW, batteryCapacityWh };
  }

  /** The chain's time (latest block timestamp, advanced by the wall clock since it was read; cached 2 s). */
  async now(): Promise<number> {
    const wall = Date.now();
    if (!this.clock || wall - this.clock.fetchedAt > 2000) {
      const block = await this.client.getBlock({ blockTag: 'latest' });
      this.clock = { timestamp: Number(block.timestamp), fetchedAt: wall };
    }
    return this.clock.timestamp + Math.floor((wall - this.clock.fetchedAt) / 1000);
  }
}
