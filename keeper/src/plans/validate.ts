// Validation of the dispatcher's device plans: a battery within its registered power, a heat pump and an EV
// charger only consuming and within their largest household ratings; unknown prosumers or devices, duplicates
// and missing hours refused. Every household asked for needs at least one row per hour (0 for none planned).
import { overWindow, parseWh, validateRows, type InputRejection } from '../forecasts/validate.js';
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
  return validateRows<RawPlanEntry, DevicePlan>(
    raw,
    prosumers,
    windowIds,
    'no device plan for the hour',
    (r, id, seen, refused) => {
      if (refused) return undefined;
      const device = String(r.device) as Device;
      if (!DEVICES.includes(device)) {
        return { reject: 'unknown_device', detail: `device ${String(r.device)} (known: ${DEVICES.join(', ')})` };
      }
      const plan = seen ?? { prosumer: id.account, windowId: id.windowId, devices: {}, totalWh: 0n };
      if (plan.devices[device] !== undefined)
        return { reject: 'duplicate', detail: `more than one ${device} plan for the hour` };
      const energyWh = parseWh(r.energyWh, true);
      if (typeof energyWh === 'string') return { reject: energyWh, detail: `${device} energyWh=${String(r.energyWh)}` };
      const bound = deviceBound(device, id.context, windowDuration);
      if (energyWh < -bound.consumeWh || energyWh > bound.deliverWh) {
        const detail = `${device} energyWh=${energyWh} outside [-${bound.consumeWh}, ${bound.deliverWh}]`;
        return { reject: 'implausible_device', detail };
      }
      plan.devices[device] = energyWh;
      plan.totalWh += energyWh;
      return { value: plan };
    },
  );
}

function deviceBound(device: Device, p: ProsumerContext, d: number): { consumeWh: bigint; deliverWh: bigint } {
  if (device === 'battery')
    return { consumeWh: overWindow(p.batteryPowerW, d), deliverWh: overWindow(p.batteryPowerW, d) };
  if (device === 'heat_pump') return { consumeWh: overWindow(MAX_HEAT_PUMP_W, d), deliverWh: 0n };
  return { consumeWh: overWindow(MAX_EV_CHARGER_W, d), deliverWh: 0n };
}
