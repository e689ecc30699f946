import type { Address } from 'viem';
import type { ProsumerContext } from '../meters/types.js';

/** The flexible devices the dispatcher plans. */
export const DEVICES = ['battery', 'heat_pump', 'ev_charger'] as const;
export type Device = (typeof DEVICES)[number];

/** A device-plan row as a source delivers it (not trusted). `energyWh`: planned energy of the device in the
 *  window's delivery hour; negative = the device consumes (charging, heating), positive = it delivers. */
export interface RawPlanEntry {
  prosumer: string;
  window: unknown;
  device: unknown;
  energyWh: unknown;
}

export interface DevicePlan {
  prosumer: Address;
  windowId: bigint;
  /** Planned energy per device (devices without a row: 0). */
  devices: Partial<Record<Device, bigint>>;
  /** Sum over the devices. */
  totalWh: bigint;
}

/** Where the dispatcher's device plans come from. */
export interface PlanSource {
  readonly name: string;
  fetch(windowIds: bigint[], windowDuration: number, prosumers: ProsumerContext[]): Promise<RawPlanEntry[]>;
}
