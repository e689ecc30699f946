// Event export for auditors: every market event of a range of windows, in chain order, plus what a replay
// needs that events do not carry (prosumer IDs, buyers' balances and allowances when settlement started).
import { writeFile } from 'node:fs/promises';
import {
  getAddress,
  getContract,
  parseEventLogs,
  toFunctionSelector,
  type Address,
  type Hex,
  type Log,
  type PublicClient,
} from 'viem';
import { energyMarketAbi, energyTokenAbi, prosumerRegistryAbi } from '@p2p-energy/sdk';

export const EXPORT_FORMAT = 'p2p-energy-market/export@1';

export interface ExportedEvent {
  name: string;
  blockNumber: string;
  logIndex: number;
  transactionHash: string;
  args: Record<string, string | number | boolean>;
  /** SignedOrderRejected, MeterReadingRejected: the name of the error whose selector is `args.reason`, for
   * readers (the replay checks the selector itself); absent when the market's ABI names no such error. */
  reasonName?: string;
}

export interface ExportedWindow {
  windowId: string;
  /** ID of every prosumer that placed, cancelled, got a reading or was named by a rejected signed order in the
   * window ("0": never registered). */
  prosumerIds: Record<string, string>;
  /** Balance and allowance to the market of each buyer, at the block before settlement started. */
  fundsAtSettlement: Record<string, { balance: string; allowance: string }>;
  events: ExportedEvent[];
}

export interface ExportFile {
  format: typeof EXPORT_FORMAT;
  chainId: number;
  market: Address;
  token: Address;
  registry: Address;
  windowDuration: string;
  settlementGrace: string;
  fromWindow: string;
  toWindow: string;
  windows: ExportedWindow[];
}

/** Error selector -> name, from the market's ABI (its own errors and the inherited ones, e.g. EnforcedPause). */
const errorNames = new Map<Hex, string>([
  ['0x00000000', '(side neither Buy nor Sell)'], // placeOrdersBySig: no named error
  ...energyMarketAbi
    .filter((item) => item.type === 'error')
    .map((e): [Hex, string] => [toFunctionSelector(`${e.name}(${e.inputs.map((i) => i.type).join(',')})`), e.name]),
]);

const stringify = (v: unknown): string | number | boolean =>
  typeof v === 'bigint'
    ? v.toString()
    : typeof v === 'string'
      ? v
      : typeof v === 'number' || typeof v === 'boolean'
        ? v
        : String(v);

/** Errors by which nodes refuse a getLogs range as too wide (or its result as too large). */
const RANGE_TOO_LARGE = new RegExp(
  [
    'block range',
    'range (is )?too (large|wide|big)',
    'too many (blocks|results|logs)',
    'more than \\d+ results',
    'response size',
    'is limited to',
    'max(imum)? (block )?range',
    'query timeout',
  ].join('|'),
  'i',
);

export function isRangeTooLarge(error: unknown): boolean {
  return RANGE_TOO_LARGE.test(String((error as { message?: string })?.message ?? error));
}

/**
 * getLogs over [from, to]. A range the node refuses as too large is split in halves, down to `minBlocks`
 * (default 100); any other failure (an outage: the transport has already retried it) is thrown as it is.
 */
export async function logsInRange(
  client: PublicClient,
  market: Address,
  from: bigint,
  to: bigint,
  options: { minBlocks?: bigint } = {},
): Promise<Log[]> {
  const minBlocks = options.minBlocks ?? 100n;
  try {
    return await client.getLogs({ address: market, fromBlock: from, toBlock: to });
  } catch (error) {
    if (!isRangeTooLarge(error) || to - from + 1n < 2n * minBlocks) throw error;
    const mid = (from + to) / 2n;
    return [
      ...(await logsInRange(client, market, from, mid, options)),
      ...(await logsInRange(client, market, mid + 1n, to, options)),
    ];
  }
}

export async function exportWindows(
  client: PublicClient,
  market: Address,
  fromWindow: bigint,
  toWindow: bigint,
  options: { fromBlock?: bigint; chunkBlocks?: bigint } = {},
): Promise<ExportFile> {
  const m = getContract({ address: market, abi: energyMarketAbi, client });
  const [token, registry, windowDuration, settlementGrace] = await Promise.all([
    m.read.token(),
    m.read.registry(),
    m.read.windowDuration(),
    m.read.settlementGrace(),
  ]);
  const registryContract = getContract({ address: registry, abi: prosumerRegistryAbi, client });
  const tokenContract = getContract({ address: token, abi: energyTokenAbi, client });
  const head = await client.getBlockNumber();
  const chainId = await client.getChainId();
  const chunk = options.chunkBlocks ?? 10_000n;
  const raw: Log[] = [];
  for (let from = options.fromBlock ?? 0n; from <= head; from += chunk) {
    const to = from + chunk - 1n < head ? from + chunk - 1n : head;
    raw.push(...(await logsInRange(client, market, from, to)));
  }
  const windows = new Map<bigint, ExportedWindow>();
  const firstSettleBlock = new Map<bigint, bigint>();
  // Logs that are not the market's events (none expected) are left out by parseEventLogs.
  for (const log of parseEventLogs({ abi: energyMarketAbi, logs: raw })) {
    const args = (log.args ?? {}) as Record<string, unknown>;
    if (typeof args.windowId !== 'bigint') continue;
    const windowId = args.windowId;
    if (windowId < fromWindow || windowId > toWindow) continue;
    let w = windows.get(windowId);
    if (!w) {
      w = { windowId: windowId.toString(), prosumerIds: {}, fundsAtSettlement: {}, events: [] };
      windows.set(windowId, w);
    }
    const settles = log.eventName === 'TradeSettled' || log.eventName === 'WindowSettled';
    if (settles && !firstSettleBlock.has(windowId)) firstSettleBlock.set(windowId, log.blockNumber);
    const reasonName = typeof args.reason === 'string' ? errorNames.get(args.reason as Hex) : undefined;
    w.events.push({
      name: log.eventName,
      blockNumber: log.blockNumber.toString(),
      logIndex: log.logIndex,
      transactionHash: log.transactionHash,
      args: Object.fromEntries(Object.entries(args).map(([k, v]) => [k, stringify(v)])),
      ...(reasonName === undefined ? {} : { reasonName }),
    });
  }
  for (const [windowId, w] of windows) {
    const people = new Set<Address>();
    const buyers = new Set<Address>();
    for (const e of w.events) {
      for (const key of ['prosumer', 'buyer', 'seller']) {
        if (typeof e.args[key] === 'string') people.add(getAddress(e.args[key] as string));
      }
      if (e.name === 'TradeMatched') buyers.add(getAddress(e.args.buyer as string));
    }
    for (const p of people) w.prosumerIds[p] = (await registryContract.read.prosumerIdOf([p])).toString();
    const settleBlock = firstSettleBlock.get(windowId);
    if (settleBlock !== undefined) {
      for (const b of buyers) {
        const at = settleBlock - 1n;
        w.fundsAtSettlement[b] = {
          balance: (await tokenContract.read.balanceOf([b], { blockNumber: at })).toString(),
          allowance: (await tokenContract.read.allowance([b, market], { blockNumber: at })).toString(),
        };
      }
    }
  }
  return {
    format: EXPORT_FORMAT,
    chainId,
    market,
    token,
    registry,
    windowDuration: windowDuration.toString(),
    settlementGrace: settlementGrace.toString(),
    fromWindow: fromWindow.toString(),
    toWindow: toWindow.toString(),
    windows: [...windows.values()].sort((a, b) => (BigInt(a.windowId) < BigInt(b.windowId) ? -1 : 1)),
  };
}

export async function writeExport(path: string, file: ExportFile): Promise<void> {
  await writeFile(path, `${JSON.stringify(file, null, 2)}\n`);
}
