// The household data a prosumer reads about itself: hourly consumption and production, the battery's charge.
import type { Address } from 'viem';

/** One hour of a household: energy consumed (load) and produced (PV), in Wh. `start`: Unix seconds. */
export interface HourlyEnergy {
  start: number;
  consumptionWh: number;
  productionWh: number;
}

export interface BatteryCharge {
  /** Stored energy now, in Wh. */
  chargeWh: number;
  /** When it was measured (Unix seconds). */
  at: number;
}

/** What the server knows of the prosumer (from the registry) when asking a source. */
export interface Household {
  account: Address;
  pvPeakW: bigint;
  batteryPowerW: bigint;
  batteryCapacityWh: bigint;
}

/** Where household data comes from (simulated, csv, http). `from`: the first hour's start (Unix seconds). */
export interface HouseholdDataSource {
  readonly name: string;
  history(h: Household, from: number, hours: number): Promise<HourlyEnergy[]>;
  forecast(h: Household, from: number, hours: number): Promise<HourlyEnergy[]>;
  /** The battery's charge at `now`, or null when the household has no battery or no measurement. */
  battery(h: Household, now: number): Promise<BatteryCharge | null>;
}

export const HOUR_S = 3600;

/** The start of the hour holding `t` (Unix seconds). */
export function hourStart(t: number): number {
  return t - (t % HOUR_S);
}
