// keeper verify-export: is an export file (export.ts) a true copy of the chain? It exports the same windows and
// blocks again from the chain, with the export's own code, and compares the two field by field: every event
// (block number and hash, transaction, log index, arguments), the events' order, and what the export carries that
// is not an event (prosumer IDs, buyers' funds at the stated block, the market's settings and addresses, the
// chain id, the hash of the last block). The chain's copy is "expected", the file's is "found".
import { getAddress, type Address, type PublicClient } from 'viem';
import { EXPORT_FORMAT, exportWindows, type ExportedEvent, type ExportedWindow, type ExportFile } from './export.js';

export interface Difference {
  /** The window the difference is in (absent: a field of the whole export). */
  window?: string;
  /** The event, as `Name (block N, log I)`. */
  event?: string;
  field: string;
  /** The chain's value. */
  expected: string;
  /** The export's value. */
  found: string;
}

/** What one window's verification covered: events by name, prosumer IDs, buyers' funds, distinct blocks. */
export interface WindowCheck {
  windowId: string;
  events: Record<string, number>;
  prosumerIds: number;
  funds: number;
  blocks: number;
}

export interface Verification {
  differences: Difference[];
  windows: WindowCheck[];
}

/** The claims the auditor brings (from the deployment file, not from the export): each must match the export. */
export interface Expectations {
  chainId?: number;
  market?: Address;
}

type Json = string | number | boolean | null | undefined | { [key: string]: Json };

const show = (v: Json): string => (v === undefined ? 'absent' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** Every leaf where `found` differs from `expected`, named by its dotted path. */
function diffValues(path: string, expected: Json, found: Json, out: (field: string, e: string, f: string) => void) {
  const isObject = (v: Json): v is { [key: string]: Json } => typeof v === 'object' && v !== null;
  if (isObject(expected) && isObject(found)) {
    for (const key of new Set([...Object.keys(expected), ...Object.keys(found)])) {
      diffValues(path === '' ? key : `${path}.${key}`, expected[key], found[key], out);
    }
  } else if (show(expected) !== show(found)) {
    out(path, show(expected), show(found));
  }
}

const eventKey = (e: ExportedEvent) => `${e.blockNumber}/${e.logIndex}`;
const eventLabel = (e: ExportedEvent) => `${e.name} (block ${e.blockNumber}, log ${e.logIndex})`;
const plain = <T>(value: T): Json => JSON.parse(JSON.stringify(value)) as Json;

function compareEvents(window: string, chain: ExportedEvent[], file: ExportedEvent[]): Difference[] {
  const out: Difference[] = [];
  const inChain = new Map(chain.map((e) => [eventKey(e), e]));
  const seen = new Set<string>();
  for (const e of file) {
    const key = eventKey(e);
    const original = inChain.get(key);
    if (original === undefined || seen.has(key)) {
      out.push({ window, event: eventLabel(e), field: 'event', expected: 'absent', found: 'in the export' });
      continue;
    }
    seen.add(key);
    diffValues('', plain(original), plain(e), (field, expected, found) =>
      out.push({ window, event: eventLabel(original), field, expected, found }),
    );
  }
  for (const e of chain) {
    if (!seen.has(eventKey(e))) {
      out.push({ window, event: eventLabel(e), field: 'event', expected: 'in the chain', found: 'missing' });
    }
  }
  if (out.length > 0) return out;
  // Same events: the replay takes them in the file's order, which must be the chain's.
  const i = chain.findIndex((e, k) => eventKey(e) !== eventKey(file[k] as ExportedEvent));
  if (i >= 0) {
    const found = eventLabel(file[i] as ExportedEvent);
    out.push({ window, field: 'order', expected: `event ${i} is ${eventLabel(chain[i] as ExportedEvent)}`, found });
  }
  return out;
}

function compareWindow(chain: ExportedWindow, file: ExportedWindow, out: Difference[]) {
  const window = chain.windowId;
  const { events: chainEvents, ...chainRest } = chain;
  const { events: fileEvents, ...fileRest } = file;
  diffValues('', plain(chainRest), plain(fileRest), (field, expected, found) =>
    out.push({ window, field, expected, found }),
  );
  out.push(...compareEvents(window, chainEvents, fileEvents));
}

/** The differences between the chain's copy and the file (empty: the file is the chain's). */
export function compareExports(chain: ExportFile, file: ExportFile): Difference[] {
  const out: Difference[] = [];
  const { windows: chainWindows, ...chainRest } = chain;
  const { windows: fileWindows, ...fileRest } = file;
  diffValues('', plain(chainRest), plain(fileRest), (field, expected, found) => out.push({ field, expected, found }));
  const inFile = new Map(fileWindows.map((w) => [w.windowId, w]));
  const inChain = new Set(chainWindows.map((w) => w.windowId));
  for (const w of chainWindows) {
    const copy = inFile.get(w.windowId);
    if (copy === undefined) {
      const expected = `in the chain (${w.events.length} events)`;
      out.push({ window: w.windowId, field: 'window', expected, found: 'missing' });
    } else {
      compareWindow(w, copy, out);
    }
  }
  for (const w of fileWindows) {
    if (!inChain.has(w.windowId)) {
      out.push({ window: w.windowId, field: 'window', expected: 'absent', found: 'in the export' });
    }
  }
  return out;
}

function summarize(w: ExportedWindow): WindowCheck {
  const events: Record<string, number> = {};
  for (const e of w.events) events[e.name] = (events[e.name] ?? 0) + 1;
  return {
    windowId: w.windowId,
    events,
    prosumerIds: Object.keys(w.prosumerIds).length,
    funds: Object.keys(w.fundsAtSettlement).length,
    blocks: new Set(w.events.map((e) => e.blockHash)).size,
  };
}

/**
 * Checks `file` against the chain behind `client`: first the format, the auditor's `expect`ations, the chain id
 * and that the chain reaches the export's last block (nothing else is compared when one of these fails), then
 * the export of the same windows and blocks taken again from the chain, field by field.
 */
export async function verifyExport(
  client: PublicClient,
  file: ExportFile,
  expect: Expectations = {},
): Promise<Verification> {
  const stop = (field: string, expected: string, found: string): Verification => ({
    differences: [{ field, expected, found }],
    windows: [],
  });
  if (file.format !== EXPORT_FORMAT) return stop('format', EXPORT_FORMAT, String(file.format));
  if (expect.chainId !== undefined && expect.chainId !== file.chainId) {
    return stop('chainId', `${expect.chainId} (--chain-id)`, String(file.chainId));
  }
  if (expect.market !== undefined && getAddress(expect.market) !== getAddress(file.market)) {
    return stop('market', `${getAddress(expect.market)} (--market-address)`, file.market);
  }
  const chainId = await client.getChainId();
  if (chainId !== file.chainId) return stop('chainId', String(chainId), String(file.chainId));
  const head = await client.getBlockNumber({ cacheTime: 0 });
  if (head < BigInt(file.toBlock)) return stop('toBlock', `at most the head, ${head}`, file.toBlock);
  if ((await client.getCode({ address: file.market })) === undefined) {
    return stop('market', `an EnergyMarket (no contract at this address on chain ${chainId})`, file.market);
  }
  const chain = await exportWindows(client, file.market, BigInt(file.fromWindow), BigInt(file.toWindow), {
    fromBlock: BigInt(file.fromBlock),
    toBlock: BigInt(file.toBlock),
  });
  return { differences: compareExports(chain, file), windows: chain.windows.map(summarize) };
}

/** `window W, event E, field F: expected X (chain), found Y (export)`. */
export function describeDifference(d: Difference): string {
  const where = [d.window && `window ${d.window}`, d.event && `event ${d.event}`, `field ${d.field}`];
  return `${where.filter(Boolean).join(', ')}: expected ${d.expected} (chain), found ${d.found} (export)`;
}

/** One line per window: `window W: N events (Name n, ...), P prosumer IDs, funds of B buyers, K blocks`. */
export function describeWindow(w: WindowCheck): string {
  const total = Object.values(w.events).reduce((a, b) => a + b, 0);
  const byName = Object.entries(w.events).map(([name, n]) => `${name} ${n}`);
  return (
    `window ${w.windowId}: ${total} events (${byName.join(', ')}), ${w.prosumerIds} prosumer IDs, ` +
    `funds of ${w.funds} buyers, ${w.blocks} block hashes`
  );
}
