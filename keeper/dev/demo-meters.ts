// The demo's meters: the simulated measurements (keeper/src/meters/simulated.ts) of homes that keep their word.
// The orders come from noise-free forecasts, the measurements carry weather and load noise, and a trade is
// accepted only if the whole traded energy was measured. So a home with a battery makes up the difference from
// its battery, beyond the 30 % of its power the model already uses for smoothing: a seller exports the rest of
// what it sold, a buyer charges with the rest of what it bought, within the battery's power over the hour (its
// state of charge is not modelled). A home without a battery cannot, and its trade may be REJECTED.
import type { SimulatedMeters } from '../src/meters/simulated.js';
import type { MeterSource, ProsumerContext, RawReading } from '../src/meters/types.js';

/** Share of the battery's power left after the model's smoothing. */
const SPARE_SHARE = 7n;

export class HonestHomeMeters implements MeterSource {
  readonly name = 'simulated';

  constructor(private readonly meters: SimulatedMeters) {}

  async fetch(windowId: bigint, seconds: number, prosumers: ProsumerContext[]): Promise<RawReading[]> {
    return prosumers.map((p) => {
      const measured = this.meters.flows(windowId, seconds, p, true);
      const spare = (p.batteryPowerW * SPARE_SHARE * BigInt(seconds)) / 36_000n;
      const upTo = (measuredWh: bigint, tradedWh = 0n) =>
        tradedWh > measuredWh ? (tradedWh < measuredWh + spare ? tradedWh : measuredWh + spare) : measuredWh;
      return {
        prosumer: p.account,
        importWh: upTo(measured.importWh, p.boughtWh),
        exportWh: upTo(measured.exportWh, p.soldWh),
      };
    });
  }
}
