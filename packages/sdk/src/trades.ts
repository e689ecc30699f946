// A prosumer's trades from the market's events, the way the protocol says: TradeMatched filtered on the indexed
// buyer and on the indexed seller, then TradeSettled by window and trade index; and statements built from them.
import type { Address, PublicClient } from 'viem';
import { energyMarketAbi } from './abi.js';
import { enumName, RejectReason, TradeStatus } from './enums.js';

export interface BlockRange {
  /** First block scanned; default 0 (pass the deployment's startBlock). */
  fromBlock?: bigint;
  /** Last block scanned; default the head. Trades are reported as of this block. */
  toBlock?: bigint;
  /** At most this many blocks per eth_getLogs call (public RPCs cap the range); default: one call. */
  logRange?: bigint;
}

export interface MatchedTrade {
  windowId: bigint;
  index: bigint;
  buyer: Address;
  seller: Address;
  energyWh: bigint;
  blockNumber: bigint;
}

export interface SettledTrade {
  windowId: bigint;
  index: bigint;
  status: TradeStatus;
  reason: RejectReason;
  /** Tokens (wei) the buyer paid the seller: non-zero only when accepted. */
  cost: bigint;
  blockNumber: bigint;
}

export interface ProsumerTrade {
  windowId: bigint;
  index: bigint;
  role: 'buyer' | 'seller';
  counterparty: Address;
  energyWh: bigint;
  /** Pending until the window's settlement reached the trade. */
  status: TradeStatus;
  reason: RejectReason;
  /** From TradeSettled; undefined while pending. */
  cost?: bigint;
  matchedBlock: bigint;
  settledBlock?: bigint;
}

export interface WindowStatement {
  windowId: bigint;
  /** Energy of the trades matched as buyer / seller, whatever their settlement. */
  boughtWh: bigint;
  soldWh: bigint;
  /** Tokens (wei) moved by the accepted trades. */
  paidWei: bigint;
  receivedWei: bigint;
  /** Trades by settlement status. */
  accepted: number;
  rejected: number;
  pending: number;
}

export interface Span {
  fromBlock: bigint;
  toBlock: bigint;
}

/** The range cut into `logRange`-block spans for eth_getLogs (one span without it); none past the head. */
export async function blockSpans(client: PublicClient, range: BlockRange): Promise<Span[]> {
  const from = range.fromBlock ?? 0n;
  const to = range.toBlock ?? (await client.getBlockNumber({ cacheTime: 0 }));
  if (from > to) return []; // e.g. a deployment's startBlock ahead of a chain that was restarted
  const step = range.logRange ?? to - from + 1n;
  if (step <= 0n) throw new RangeError('logRange must be positive');
  const out: Span[] = [];
  for (let start = from; start <= to; start += step) {
    out.push({ fromBlock: start, toBlock: start + step - 1n < to ? start + step - 1n : to });
  }
  return out;
}

/** Every TradeMatched of `prosumer` as buyer or seller in the range, ordered by window and trade index. */
export async function matchedTrades(
  client: PublicClient,
  market: Address,
  prosumer: Address,
  range: BlockRange = {},
): Promise<MatchedTrade[]> {
  const scan = async (args: { buyer: Address } | { seller: Address }) =>
    (
      await Promise.all(
        (
          await blockSpans(client, range)
        ).map((span) =>
          client.getContractEvents({ address: market, abi: energyMarketAbi, eventName: 'TradeMatched', args, ...span }),
        ),
      )
    ).flat();
  const logs = (await Promise.all([scan({ buyer: prosumer }), scan({ seller: prosumer })])).flat();
  const byKey = new Map<string, MatchedTrade>();
  for (const { args, blockNumber } of logs) {
    const { windowId, tradeIndex, buyer, seller, energyWh } = args;
    if (windowId === undefined || tradeIndex === undefined || !buyer || !seller || energyWh === undefined) continue;
    byKey.set(`${windowId}:${tradeIndex}`, { windowId, index: tradeIndex, buyer, seller, energyWh, blockNumber });
  }
  return [...byKey.values()].sort((a, b) =>
    a.windowId === b.windowId ? Number(a.index - b.index) : a.windowId < b.windowId ? -1 : 1,
  );
}

/** The TradeSettled of window `windowId` in the range (only of trades `indices` when given), by trade index. */
export async function settledTrades(
  client: PublicClient,
  market: Address,
  windowId: bigint,
  range: BlockRange & { indices?: readonly bigint[] } = {},
): Promise<Map<bigint, SettledTrade>> {
  const args = range.indices === undefined ? { windowId } : { windowId, tradeIndex: [...range.indices] };
  const logs = await Promise.all(
    (await blockSpans(client, range)).map((span) =>
      client.getContractEvents({ address: market, abi: energyMarketAbi, eventName: 'TradeSettled', args, ...span }),
    ),
  );
  const out = new Map<bigint, SettledTrade>();
  for (const { args: a, blockNumber } of logs.flat()) {
    if (a.tradeIndex === undefined || a.status === undefined || a.reason === undefined || a.cost === undefined)
      continue;
    out.set(a.tradeIndex, {
      windowId,
      index: a.tradeIndex,
      status: enumName(TradeStatus, a.status),
      reason: enumName(RejectReason, a.reason),
      cost: a.cost,
      blockNumber,
    });
  }
  return out;
}

/** The prosumer's trades in the range with their settlement as of its last block, by window and trade index. */
export async function prosumerTrades(
  client: PublicClient,
  market: Address,
  prosumer: Address,
  range: BlockRange = {},
): Promise<ProsumerTrade[]> {
  const toBlock = range.toBlock ?? (await client.getBlockNumber({ cacheTime: 0 }));
  const matched = await matchedTrades(client, market, prosumer, { ...range, toBlock });
  const windows = new Map<bigint, MatchedTrade[]>();
  for (const m of matched) windows.set(m.windowId, [...(windows.get(m.windowId) ?? []), m]);
  const settled = new Map<bigint, Map<bigint, SettledTrade>>();
  await Promise.all(
    [...windows].map(async ([windowId, trades]) => {
      const fromBlock = trades[0]?.blockNumber ?? toBlock;
      const indices = trades.map((t) => t.index);
      settled.set(windowId, await settledTrades(client, market, windowId, { ...range, fromBlock, toBlock, indices }));
    }),
  );
  return matched.map((m) => {
    const s = settled.get(m.windowId)?.get(m.index);
    const buyer = m.buyer.toLowerCase() === prosumer.toLowerCase();
    return {
      windowId: m.windowId,
      index: m.index,
      role: buyer ? 'buyer' : 'seller',
      counterparty: buyer ? m.seller : m.buyer,
      energyWh: m.energyWh,
      status: s?.status ?? 'Pending',
      reason: s?.reason ?? 'None',
      ...(s === undefined ? {} : { cost: s.cost, settledBlock: s.blockNumber }),
      matchedBlock: m.blockNumber,
    };
  });
}

/** Per window (ascending) the prosumer's energy bought and sold, tokens paid and received, trades by status. */
export async function statements(
  client: PublicClient,
  market: Address,
  prosumer: Address,
  range: BlockRange = {},
): Promise<WindowStatement[]> {
  const out = new Map<bigint, WindowStatement>();
  for (const t of await prosumerTrades(client, market, prosumer, range)) {
    let s = out.get(t.windowId);
    if (!s) {
      s = {
        windowId: t.windowId,
        boughtWh: 0n,
        soldWh: 0n,
        paidWei: 0n,
        receivedWei: 0n,
        accepted: 0,
        rejected: 0,
        pending: 0,
      };
      out.set(t.windowId, s);
    }
    const cost = t.status === 'Accepted' ? (t.cost ?? 0n) : 0n;
    if (t.role === 'buyer') {
      s.boughtWh += t.energyWh;
      s.paidWei += cost;
    } else {
      s.soldWh += t.energyWh;
      s.receivedWei += cost;
    }
    if (t.status === 'Accepted') s.accepted++;
    else if (t.status === 'Rejected') s.rejected++;
    else s.pending++;
  }
  return [...out.values()];
}
