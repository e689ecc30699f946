// Validation of meter readings before they go on-chain. A refused reading is reported with its reason.
import { getAddress, isAddress, type Address } from 'viem';
import type { MeterReading, ProsumerContext, RawReading } from './types.js';

/** The market's internal range for energies (uint32 Wh). */
export const MAX_ENERGY_WH = 2n ** 32n - 1n;
/** Largest household load we accept, on top of charging the batteries, in W. */
export const MAX_HOUSEHOLD_LOAD_W = 25_000n;

export type RejectReason =
  | 'unknown_prosumer'
  | 'duplicate'
  | 'not_integer'
  | 'negative'
  | 'out_of_range'
  | 'implausible_export'
  | 'implausible_import';

export interface Rejection {
  prosumer: string;
  reason: RejectReason;
  detail: string;
}

function toWh(value: unknown): bigint | RejectReason {
  if (typeof value === 'bigint') return value < 0n ? 'negative' : value;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) return 'not_integer';
    return value < 0 ? 'negative' : BigInt(value);
  }
  if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) {
    const v = BigInt(value.trim());
    return v < 0n ? 'negative' : v;
  }
  return 'not_integer';
}

/**
 * Splits raw readings into valid ones and rejections. Plausible means: export at most what the PV
 * systems and batteries can deliver in the window, import at most a household's load plus battery charging.
 * The assets are those in force during the delivery hour (the keeper passes the largest of the views it
 * could read). A trader with no assets in any view is bounded by its own trades instead (export at most
 * what it sold, import at most the household load or what it bought, whichever is larger), never refused
 * for having no assets.
 */
export function validateReadings(
  raw: RawReading[],
  prosumers: ProsumerContext[],
  windowDuration: number,
): { valid: MeterReading[]; rejected: Rejection[] } {
  const known = new Map<Address, ProsumerContext>(prosumers.map((p) => [getAddress(p.account), p]));
  const seen = new Set<Address>();
  const valid: MeterReading[] = [];
  const rejected: Rejection[] = [];
  const hours = (watts: bigint) => (watts * BigInt(windowDuration)) / 3600n;
  for (const r of raw) {
    const reject = (reason: RejectReason, detail: string) =>
      rejected.push({ prosumer: String(r.prosumer), reason, detail });
    if (typeof r.prosumer !== 'string' || !isAddress(r.prosumer, { strict: false })) {
      reject('unknown_prosumer', 'not an address');
      continue;
    }
    const account = getAddress(r.prosumer);
    const context = known.get(account);
    if (!context) {
      reject('unknown_prosumer', 'not a trader of this window');
      continue;
    }
    if (seen.has(account)) {
      reject('duplicate', 'more than one reading for the window');
      continue;
    }
    const importWh = toWh(r.importWh);
    const exportWh = toWh(r.exportWh);
    if (typeof importWh === 'string' || typeof exportWh === 'string') {
      const reason = typeof importWh === 'string' ? importWh : (exportWh as RejectReason);
      reject(reason, `importWh=${String(r.importWh)} exportWh=${String(r.exportWh)}`);
      continue;
    }
    if (importWh > MAX_ENERGY_WH || exportWh > MAX_ENERGY_WH) {
      reject('out_of_range', `above ${MAX_ENERGY_WH} Wh`);
      continue;
    }
    const byTrades = tradeBounded(context);
    const maxExport = byTrades ? (context.soldWh ?? 0n) : hours(context.pvPeakW + context.batteryPowerW);
    if (exportWh > maxExport) {
      reject(
        'implausible_export',
        `exportWh=${exportWh} > ${maxExport} ` +
          `(${byTrades ? 'energy sold; no assets registered' : 'PV + battery power over the window'})`,
      );
      continue;
    }
    const loadWh = hours(MAX_HOUSEHOLD_LOAD_W + context.batteryPowerW);
    const maxImport = byTrades && (context.boughtWh ?? 0n) > loadWh ? (context.boughtWh ?? 0n) : loadWh;
    if (importWh > maxImport) {
      reject(
        'implausible_import',
        `importWh=${importWh} > ${maxImport} ` +
          `(household load + battery charging${byTrades ? ', or energy bought' : ''})`,
      );
      continue;
    }
    seen.add(account);
    valid.push({ prosumer: account, importWh, exportWh });
  }
  return { valid, rejected };
}

/** True for a trader without any registered asset: its reading is bounded by its own trades. */
export function tradeBounded(context: ProsumerContext): boolean {
  return (
    context.pvPeakW === 0n &&
    context.batteryPowerW === 0n &&
    (context.soldWh !== undefined || context.boughtWh !== undefined)
  );
}
