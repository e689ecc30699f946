// Deterministic simulated forecasts: the noise-free profiles of SimulatedMeters (same seed, same households),
// as production and consumption. With the simulated plans, net = SimulatedMeters.forecast.
import { encodePacked, getAddress, hexToBigInt, keccak256, type Address } from 'viem';
import { loadW, pvShare } from '../meters/simulated.js';
import type { ProsumerContext } from '../meters/types.js';
import type { ForecastSource, RawForecast } from './types.js';

export type HourOf = (windowId: bigint, windowDuration: number) => number;
export const utcHour: HourOf = (w) => Number((w / 3600n) % 24n);

/** The seeded household base load, as SimulatedMeters draws it. */
export function baseLoadW(seed: number, account: Address): number {
  const h = keccak256(
    encodePacked(['uint256', 'address', 'uint256', 'string'], [BigInt(seed), getAddress(account), 0n, 'base']),
  );
  return 250 + 400 * (Number(hexToBigInt(h) % 1_000_000n) / 1_000_000);
}

/** Expected PV and load in W (cloud factor 0.875, no load noise). */
export function expectedFlowsW(seed: number, hour: number, p: ProsumerContext): { pvW: number; loadW: number } {
  return { pvW: Number(p.pvPeakW) * pvShare(hour) * 0.875, loadW: loadW(hour, baseLoadW(seed, p.account)) };
}

export class SimulatedForecasts implements ForecastSource {
  readonly name = 'simulated';
  constructor(
    private readonly seed: number,
    private readonly hourOf: HourOf = utcHour,
  ) {}

  async fetch(windowIds: bigint[], windowDuration: number, prosumers: ProsumerContext[]): Promise<RawForecast[]> {
    const scale = windowDuration / 3600;
    return windowIds.flatMap((w) =>
      prosumers.map((p) => {
        const f = expectedFlowsW(this.seed, this.hourOf(w, windowDuration), p);
        return {
          prosumer: p.account,
          window: w,
          consumptionWh: BigInt(Math.round(f.loadW * scale)),
          productionWh: BigInt(Math.round(f.pvW * scale)),
        };
      }),
    );
  }
}
