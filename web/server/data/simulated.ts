// Household data from the keeper's deterministic meter model (keeper/src/meters/simulated.ts): the same
// profiles that give the readings and the demo's forecasts, split into consumption and production.
import { SimulatedMeters } from '../../../keeper/src/meters/simulated.js';
import {
  HOUR_S,
  hourStart,
  type BatteryCharge,
  type Household,
  type HourlyEnergy,
  type HouseholdDataSource,
} from './types.js';

/** The battery starts this share full 24 h before `now`, then follows the model's charging and discharging. */
const START_SHARE = 0.5;

export class SimulatedHouseholdData implements HouseholdDataSource {
  readonly name = 'simulated';

  constructor(private readonly meters: SimulatedMeters) {}

  static fromSeed(seed: number): SimulatedHouseholdData {
    return new SimulatedHouseholdData(new SimulatedMeters(seed));
  }

  private hours(h: Household, from: number, hours: number, noisy: boolean): HourlyEnergy[] {
    return Array.from({ length: hours }, (_, i) => {
      const start = from + i * HOUR_S;
      const f = this.meters.flows(BigInt(start), HOUR_S, h, noisy);
      return { start, consumptionWh: Number(f.consumptionWh), productionWh: Number(f.productionWh) };
    });
  }

  async history(h: Household, from: number, hours: number): Promise<HourlyEnergy[]> {
    return this.hours(h, from, hours, true);
  }

  async forecast(h: Household, from: number, hours: number): Promise<HourlyEnergy[]> {
    return this.hours(h, from, hours, false);
  }

  async battery(h: Household, now: number): Promise<BatteryCharge | null> {
    const capacity = Number(h.batteryCapacityWh);
    if (capacity === 0) return null;
    const current = hourStart(now);
    let charge = capacity * START_SHARE;
    for (let start = current - 24 * HOUR_S; start < current; start += HOUR_S) {
      const f = this.meters.flows(BigInt(start), HOUR_S, h, true);
      charge = Math.min(capacity, Math.max(0, charge + Number(f.batteryWh)));
    }
    return { chargeWh: Math.round(charge), at: current };
  }
}
