// The results of a settled window, as sent to the dispatcher (docs/dispatcher-payload.schema.json).
// Everything is read from the chain; integers that may exceed 2^53 are decimal strings.
import { getAddress, type Address } from 'viem';
import { prosumerRegistryAbi, type RejectReason, type TradeStatus } from '@p2p-energy/sdk';
import { mapInChunks, type MarketReader } from '../chain.js';

export interface PayloadTrade {
  index: number;
  buyer: Address;
  buyerProsumerId: string | null;
  seller: Address;
  sellerProsumerId: string | null;
  energyWh: string;
  status: TradeStatus;
  reason: RejectReason;
  cost: string;
}

export interface ResultsPayload {
  version: 1;
  chainId: number;
  market: Address;
  windowId: string;
  windowStart: string;
  windowDuration: number;
  clearingPrice: string;
  clearedEnergyWh: string;
  trades: PayloadTrade[];
}

export class NotSettledError extends Error {
  override name = 'NotSettledError';
}

/** Builds the payload of `windowId` (must be Settled). Prosumer IDs as registered now (null: not registered). */
export async function buildPayload(
  reader: MarketReader,
  registry: Address,
  chainId: number,
  windowId: bigint,
): Promise<ResultsPayload> {
  const window = await reader.window(windowId);
  if (window.status !== 'Settled') throw new NotSettledError(`window ${windowId} is ${window.status}, not Settled`);
  const duration = await reader.windowDuration();
  const trades = await reader.trades(windowId, window.tradeCount);
  const accounts = [...new Set(trades.flatMap((t) => [t.buyer, t.seller]))];
  const ids = new Map<Address, string | null>();
  const idOf = (a: Address) =>
    reader.client.readContract({
      address: registry,
      abi: prosumerRegistryAbi,
      functionName: 'prosumerIdOf',
      args: [a],
    });
  const found = await mapInChunks(accounts, idOf);
  for (const [i, a] of accounts.entries()) {
    ids.set(a, found[i] === 0n || found[i] === undefined ? null : String(found[i]));
  }
  return {
    version: 1,
    chainId,
    market: getAddress(reader.market),
    windowId: windowId.toString(),
    windowStart: new Date(Number(windowId) * 1000).toISOString(),
    windowDuration: Number(duration),
    clearingPrice: window.clearingPrice.toString(),
    clearedEnergyWh: window.clearedEnergyWh.toString(),
    trades: trades.map((t, index) => {
      const { status } = t;
      return {
        index,
        buyer: getAddress(t.buyer),
        buyerProsumerId: ids.get(t.buyer) ?? null,
        seller: getAddress(t.seller),
        sellerProsumerId: ids.get(t.seller) ?? null,
        energyWh: t.energyWh.toString(),
        status,
        reason: t.reason,
        // The protocol's cost rule; a rejected trade moves nothing.
        cost: status === 'Accepted' ? ((t.energyWh * window.clearingPrice) / 1000n).toString() : '0',
      };
    }),
  };
}
