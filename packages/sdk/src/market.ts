// Reads and writes of the market that integrators would otherwise rewrite: hints, orders, windows and trades.
import type { Account, Address, Chain, Hash, PublicClient, Transport, WalletClient } from 'viem';
import { energyMarketAbi } from './abi.js';
import { enumName, sideValue, TradeStatus, RejectReason, WindowStatus, type Side } from './enums.js';

/** A wallet client with an account: it signs and sends. */
export type SigningClient = WalletClient<Transport, Chain | undefined, Account>;

/** A side by name or by its on-chain value (0 buy, 1 sell). */
export type SideInput = Side | 0 | 1;

/** Reads in flight at once when a window's trades are read one by one. */
const READ_CHUNK = 400;

/** The prosumer after whom an order at `pricePerKWh` belongs (the market's findHint view); zero for the head. */
export function findHint(
  client: PublicClient,
  market: Address,
  order: { windowId: bigint; side: SideInput; pricePerKWh: bigint; blockNumber?: bigint },
): Promise<Address> {
  return client.readContract({
    address: market,
    abi: energyMarketAbi,
    functionName: 'findHint',
    args: [order.windowId, sideValue(order.side), order.pricePerKWh],
    ...(order.blockNumber === undefined ? {} : { blockNumber: order.blockNumber }),
  });
}

/** Places an order from the wallet's account with the market's own hint (simulated first: a revert names its error). */
export async function placeOrder(
  walletClient: SigningClient,
  publicClient: PublicClient,
  market: Address,
  order: { windowId: bigint; side: SideInput; energyWh: bigint; pricePerKWh: bigint },
): Promise<Hash> {
  const hintPrev = await findHint(publicClient, market, order);
  const { request } = await publicClient.simulateContract({
    account: walletClient.account,
    chain: walletClient.chain,
    address: market,
    abi: energyMarketAbi,
    functionName: 'placeOrder',
    args: [order.windowId, sideValue(order.side), order.energyWh, order.pricePerKWh, hintPrev],
  });
  return walletClient.writeContract(request);
}

/** Cancels the wallet account's live order of window `windowId`. */
export async function cancelOrder(
  walletClient: SigningClient,
  publicClient: PublicClient,
  market: Address,
  windowId: bigint,
): Promise<Hash> {
  const { request } = await publicClient.simulateContract({
    account: walletClient.account,
    chain: walletClient.chain,
    address: market,
    abi: energyMarketAbi,
    functionName: 'cancelOrder',
    args: [windowId],
  });
  return walletClient.writeContract(request);
}

export interface WindowState {
  windowId: bigint;
  status: WindowStatus;
  clearingPrice: bigint;
  clearedEnergyWh: bigint;
  orderCount: bigint;
  tradeCount: bigint;
  settledCount: bigint;
}

export interface Trade {
  index: bigint;
  buyer: Address;
  seller: Address;
  energyWh: bigint;
  status: TradeStatus;
  reason: RejectReason;
}

export interface WindowWithTrades extends WindowState {
  trades: Trade[];
}

/** The window's status and totals (getWindow); a window nobody opened has status None. */
export async function readWindowState(client: PublicClient, market: Address, windowId: bigint): Promise<WindowState> {
  const [status, clearingPrice, clearedEnergyWh, orderCount, tradeCount, settledCount] = await client.readContract({
    address: market,
    abi: energyMarketAbi,
    functionName: 'getWindow',
    args: [windowId],
  });
  return {
    windowId,
    status: enumName(WindowStatus, status),
    clearingPrice,
    clearedEnergyWh,
    orderCount,
    tradeCount,
    settledCount,
  };
}

/** Trade `index` of window `windowId` (getTrade). */
export async function readTrade(
  client: PublicClient,
  market: Address,
  windowId: bigint,
  index: bigint,
): Promise<Trade> {
  const [buyer, seller, energyWh, status, reason] = await client.readContract({
    address: market,
    abi: energyMarketAbi,
    functionName: 'getTrade',
    args: [windowId, index],
  });
  return {
    index,
    buyer,
    seller,
    energyWh,
    status: enumName(TradeStatus, status),
    reason: enumName(RejectReason, reason),
  };
}

/** Trades 0 .. count-1 of a window, in trade order (read `READ_CHUNK` at a time). */
export async function readTrades(
  client: PublicClient,
  market: Address,
  windowId: bigint,
  count: bigint,
): Promise<Trade[]> {
  const out: Trade[] = [];
  for (let start = 0n; start < count; start += BigInt(READ_CHUNK)) {
    const end = start + BigInt(READ_CHUNK) < count ? start + BigInt(READ_CHUNK) : count;
    const indices = Array.from({ length: Number(end - start) }, (_, i) => start + BigInt(i));
    out.push(...(await Promise.all(indices.map((i) => readTrade(client, market, windowId, i)))));
  }
  return out;
}

/** A window's status, totals and every trade. */
export async function readWindow(client: PublicClient, market: Address, windowId: bigint): Promise<WindowWithTrades> {
  const state = await readWindowState(client, market, windowId);
  return { ...state, trades: await readTrades(client, market, windowId, state.tradeCount) };
}
