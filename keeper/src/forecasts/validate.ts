// Validation of forecasts before the agent bids on them, like meter readings: unknown prosumers, duplicates,
// non-integers, negative or absurd values, and missing hours are refused with a reason, never bid on.
import { getAddress, isAddress, type Address } from 'viem';
import { MAX_ENERGY_WH, MAX_HOUSEHOLD_LOAD_W } from '../meters/validate.js';
import type { ProsumerContext } from '../meters/types.js';
import type { Forecast, RawForecast } from './types.js';

export type InputRejectReason =
  | 'unknown_prosumer'
  | 'unknown_window'
  | 'unknown_device'
  | 'duplicate'
  | 'not_integer'
  | 'negative'
  | 'out_of_range'
  | 'implausible_production'
  | 'implausible_consumption'
  | 'implausible_device'
  | 'missing';

export interface InputRejection {
  prosumer: string;
  windowId?: bigint;
  reason: InputRejectReason;
  detail: string;
}

/** An integer number of Wh (bigint, safe integer or decimal string), signed or not; else the reason. */
export function parseWh(value: unknown, signed: boolean): bigint | 'not_integer' | 'negative' | 'out_of_range' {
  let v: bigint;
  if (typeof value === 'bigint') v = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) v = BigInt(value);
  else if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) v = BigInt(value.trim());
  else return 'not_integer';
  if (!signed && v < 0n) return 'negative';
  if (v > MAX_ENERGY_WH || v < -MAX_ENERGY_WH) return 'out_of_range';
  return v;
}

/** A window id (non-negative integer) or undefined. */
export function parseWindow(value: unknown): bigint | undefined {
  const v = parseWh(value, false);
  return typeof v === 'bigint' ? v : undefined;
}

export const pairKey = (prosumer: Address, windowId: bigint) => `${prosumer}:${windowId}`;

/** Energy a power gives over a window. */
export const overWindow = (watts: bigint, windowDuration: number) => (watts * BigInt(windowDuration)) / 3600n;

/** A row's household and window, both among those asked for. */
export interface Identified {
  account: Address;
  windowId: bigint;
  context: ProsumerContext;
}

/** What a row check answers: the pair's value so far, a refusal of the whole pair, or `undefined` to skip the row. */
export type RowOutcome<V> = { value: V } | { reject: InputRejectReason; detail: string } | undefined;

/**
 * The frame both forecasts and device plans are validated in: each row is identified (unknown households are
 * refused, rows of windows not asked for ignored), then `check` folds it into its (prosumer, window) pair; a
 * refused pair stays refused. Every pair asked for that ends with no value and no refusal is `missing`.
 */
export function validateRows<R extends { prosumer: unknown; window: unknown }, V>(
  raw: readonly R[],
  prosumers: ProsumerContext[],
  windowIds: bigint[],
  missingDetail: string,
  check: (row: R, id: Identified, current: V | undefined, refused: boolean) => RowOutcome<V>,
): { valid: Map<string, V>; rejected: InputRejection[] } {
  const known = new Map(prosumers.map((p) => [getAddress(p.account), p]));
  const asked = new Set(windowIds);
  const valid = new Map<string, V>();
  const refused = new Set<string>();
  const rejected: InputRejection[] = [];
  for (const row of raw) {
    const id = identify(row.prosumer, row.window, known, asked);
    if ('reason' in id) {
      if (id.reason !== 'unknown_window') rejected.push(id);
      continue;
    }
    const key = pairKey(id.account, id.windowId);
    const outcome = check(row, id, valid.get(key), refused.has(key));
    if (outcome === undefined) continue;
    if ('reject' in outcome) {
      rejected.push({ prosumer: id.account, windowId: id.windowId, reason: outcome.reject, detail: outcome.detail });
      refused.add(key);
      valid.delete(key);
    } else valid.set(key, outcome.value);
  }
  for (const p of known.keys()) {
    for (const w of windowIds) {
      const key = pairKey(p, w);
      if (!valid.has(key) && !refused.has(key)) {
        rejected.push({ prosumer: p, windowId: w, reason: 'missing', detail: missingDetail });
      }
    }
  }
  return { valid, rejected };
}

/** Identifies the row's prosumer and window against those asked for; a string is the rejection reason. */
function identify(
  prosumer: unknown,
  window: unknown,
  known: Map<Address, ProsumerContext>,
  windowIds: Set<bigint>,
): Identified | InputRejection {
  const text = String(prosumer);
  if (typeof prosumer !== 'string' || !isAddress(prosumer, { strict: false })) {
    return { prosumer: text, reason: 'unknown_prosumer', detail: 'not an address' };
  }
  const account = getAddress(prosumer);
  const context = known.get(account);
  if (!context) return { prosumer: account, reason: 'unknown_prosumer', detail: 'not a household of this agent' };
  const windowId = parseWindow(window);
  if (windowId === undefined || !windowIds.has(windowId)) {
    return { prosumer: account, reason: 'unknown_window', detail: `window ${String(window)} was not asked for` };
  }
  return { account, windowId, context };
}

/**
 * Splits raw forecasts into one valid forecast per (prosumer, window) asked for and rejections. Plausible:
 * production at most the PV peak power over the window, consumption at most a household's largest load.
 * A duplicated (prosumer, window) is refused as a whole; a pair with no row is refused as `missing`.
 */
export function validateForecasts(
  raw: RawForecast[],
  prosumers: ProsumerContext[],
  windowIds: bigint[],
  windowDuration: number,
): { valid: Map<string, Forecast>; rejected: InputRejection[] } {
  return validateRows<RawForecast, Forecast>(
    raw,
    prosumers,
    windowIds,
    'no forecast for the hour',
    (r, id, seen, refused) => {
      if (seen !== undefined || refused) return { reject: 'duplicate', detail: 'more than one forecast for the hour' };
      const consumptionWh = parseWh(r.consumptionWh, false);
      const productionWh = parseWh(r.productionWh, false);
      if (typeof consumptionWh === 'string' || typeof productionWh === 'string') {
        const reason = typeof consumptionWh === 'string' ? consumptionWh : (productionWh as InputRejectReason);
        return {
          reject: reason,
          detail: `consumptionWh=${String(r.consumptionWh)} productionWh=${String(r.productionWh)}`,
        };
      }
      const maxProduction = overWindow(id.context.pvPeakW, windowDuration);
      if (productionWh > maxProduction) {
        const detail = `productionWh=${productionWh} > ${maxProduction} (PV peak over the window)`;
        return { reject: 'implausible_production', detail };
      }
      const maxConsumption = overWindow(MAX_HOUSEHOLD_LOAD_W, windowDuration);
      if (consumptionWh > maxConsumption) {
        const detail = `consumptionWh=${consumptionWh} > ${maxConsumption} (household load)`;
        return { reject: 'implausible_consumption', detail };
      }
      return { value: { prosumer: id.account, windowId: id.windowId, consumptionWh, productionWh } };
    },
  );
}
