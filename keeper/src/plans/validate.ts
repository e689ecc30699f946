// Validation of the dispatcher's device plans: a battery within its registered power, a heat pump and an EV
// charger only consuming and within their largest household ratings; unknown prosumers or devices, duplicates
// and missing hours refused. Every household asked for needs at least one row per hour (0 for none planned).
import { getAddress, type Address } from 'viem';
import {
  identify,
  overWindow,
  pairKey,
  parseWh,
  type InputRejectReason,
  type InputRejection,
} from '../forecasts/validate.js';
import type { ProsumerContext } from '../meters/types.js';
import { DEVICES, type Device, type DevicePlan, type RawPlanEntry } from './types.js';

/** Largest ratings we accept for the devices the registry does not record, in W. */
export const MAX_HEAT_PUMP_W = 15_000n;
export const MAX_EV_CHARGER_W = 22_000n;

export function validatePlans(
  raw: RawPlanEntry[],
  prosumers: ProsumerContext[],
  windowIds: bigint[],
  windowDuration: number,
): { valid: Map<string, DevicePlan>; rejected: InputRejection[] } {
  const known = new Map(prosumers.map((p) => [getAddress(p.account), p]));
  const asked = new Set(windowIds);
  const valid = new Map<string, DevicePlan>();
  const refused = new Set<string>();
  const rejected: InputRejection[] = [];
  for (const r of raw) {
    const id = identify(r.prosumer, r.window, known, asked);
    if ('reason' in id) {
      if (id.reason !== 'unknown_window') rejected.push(id);
      continue;
    }
    const key = pairKey(id.account, id.windowId);
    if (refused.has(key)) continue;
    const reject = (reason: InputRejectReason, detail: string) => {
      rejected.push({ prosumer: id.account, windowId: id.windowId, reason, detail });
      refused.add(key);
      valid.delete(key);
    };
    const device = String(r.device) as Device;
    if (!DEVICES.includes(device)) {
      reject('unknown_device', `device ${String(r.device)} (known: ${DEVICES.join(', ')})`);
      continue;
    }
    const plan = valid.get(key) ?? { prosumer: id.account, windowId: id.windowId, devices: {}, totalWh: 0n };
    if (plan.devices[device] !== undefined) {
      reject('duplicate', `more than one ${device} plan for the hour`);
      continue;
    }
    const energyWh = parseWh(r.energyWh, true);
    if (typeof energyWh === 'string') {
      reject(energyWh, `${device} energyWh=${String(r.energyWh)}`);
      continue;
    }
    const bound = deviceBound(device, id.context, windowDuration);
    if (energyWh < -bound.consumeWh || energyWh > bound.deliverWh) {
      reject('implausible_device', `${device} energyWh=${energyWh} outside [-${bound.consumeWh}, ${bound.deliverWh}]`);
      continue;
    }
    plan.devices[device] = energyWh;
    plan.totalWh += energyWh;
    valid.set(key, plan);
  }
  for (const p of known.keys() as Iterable<Address>) {
    for (const w of windowIds) {
      const key = pairKey(p, w);
      if (!valid.has(key) && !refused.has(key)) {
        rejected.push({ prosumer: p, windowId: w, reason: 'missing', detail: 'no device plan for the hour' });
      }
    }
  }
  return { valid, rejected };
}

function deviceBound(device: Device, p: ProsumerContext, d: number): { consumeWh: bigint; deliverWh: bigint } {
  if (device === 'battery')
    return { consumeWh: overWindow(p.batteryPowerW, d), deliverWh: overWindow(p.batteryPowerW, d) };
  if (device === 'heat_pump') return { consumeWh: overWindow(MAX_HEAT_PUMP_W, d), deliverWh: 0n };
  return { consumeWh: overWindow(MAX_EV_CHARGER_W, d), deliverWh: 0n };
}
