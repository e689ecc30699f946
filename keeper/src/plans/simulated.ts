// Deterministic simulated device plans: the battery takes up to 30 % of its power from a surplus and gives as
// much into a deficit (the rule SimulatedMeters applies); no heat pump or EV charger.
import { expectedFlowsW, utcHour, type HourOf } from '../forecasts/simulated.js';
import type { ProsumerContext } from '../meters/types.js';
import type { PlanSource, RawPlanEntry } from './types.js';

export class SimulatedPlans implements PlanSource {
  readonly name = 'simulated';
  constructor(
    private readonly seed: number,
    private readonly hourOf: HourOf = utcHour,
  ) {}

  async fetch(windowIds: bigint[], windowDuration: number, prosumers: ProsumerContext[]): Promise<RawPlanEntry[]> {
    const scale = windowDuration / 3600;
    return windowIds.flatMap((w) =>
      prosumers.map((p) => {
        const f = expectedFlowsW(this.seed, this.hourOf(w, windowDuration), p);
        const net = f.pvW - f.loadW;
        const battery = Math.min(Math.abs(net), Number(p.batteryPowerW) * 0.3) * (net > 0 ? -1 : 1);
        return { prosumer: p.account, window: w, device: 'battery', energyWh: BigInt(Math.round(battery * scale)) };
      }),
    );
  }
}
