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

/** Identifies the row's prosumer and window against those asked for; a string is the rejection reason. */
export function identify(
  prosumer: unknown,
  window: unknown,
  known: Map<Address, ProsumerContext>,
  windowIds: Set<bigint>,
): { account: Address; windowId: bigint; context: ProsumerContext } | InputRejection {
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
  const known = new Map(prosumers.map((p) => [getAddress(p.account), p]));
  const asked = new Set(windowIds);
  const valid = new Map<string, Forecast>();
  const refused = new Set<string>();
  const rejected: InputRejection[] = [];
  for (const r of raw) {
    const id = identify(r.prosumer, r.window, known, asked);
    if ('reason' in id) {
      if (id.reason !== 'unknown_window') rejected.push(id);
      continue;
    }
    const key = pairKey(id.account, id.windowId);
    const reject = (reason: InputRejectReason, detail: string) => {
      rejected.push({ prosumer: id.account, windowId: id.windowId, reason, detail });
      refused.add(key);
      valid.delete(key);
    };
    if (valid.has(key) || refused.has(key)) {
      reject('duplicate', 'more than one forecast for the hour');
      continue;
    }
    const consumptionWh = parseWh(r.consumptionWh, false);
    const productionWh = parseWh(r.productionWh, false);
    if (typeof consumptionWh === 'string' || typeof productionWh === 'string') {
      const reason = typeof consumptionWh === 'string' ? consumptionWh : (productionWh as InputRejectReason);
      reject(reason, `consumptionWh=${String(r.consumptionWh)} productionWh=${String(r.productionWh)}`);
      continue;
    }
    const maxProduction = overWindow(id.context.pvPeakW, windowDuration);
    if (productionWh > maxProduction) {
      reject('implausible_production', `productionWh=${productionWh} > ${maxProduction} (PV peak over the window)`);
      continue;
    }
    const maxConsumption = overWindow(MAX_HOUSEHOLD_LOAD_W, windowDuration);
    if (consumptionWh > maxConsumption) {
      reject('implausible_consumption', `consumptionWh=${consumptionWh} > ${maxConsumption} (household load)`);
      continue;
    }
    valid.set(key, { prosumer: id.account, windowId: id.windowId, consumptionWh, productionWh });
  }
  for (const p of known.keys()) {
    for (const w of windowIds) {
      const key = pairKey(p, w);
      if (!valid.has(key) && !refused.has(key)) {
        rejected.push({ prosumer: p, windowId: w, reason: 'missing', detail: 'no forecast for the hour' });
      }
    }
  }
  return { valid, rejected };
}
