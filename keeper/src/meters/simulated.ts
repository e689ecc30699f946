// Deterministic simulated meters: seeded PV and household-load profiles per prosumer, scaled by the
// registered assets. The same model gives forecasts (without the weather noise) for the demo community.
import { getAddress, hexToBigInt, keccak256, encodePacked, type Address } from 'viem';
import type { MeterSource, ProsumerContext, RawReading } from './types.js';

/** A uniform number in [0, 1) from the seed, the prosumer and the window (stable across runs). */
function unit(seed: number, account: Address, windowId: bigint, salt: string): number {
  const h = keccak256(
    encodePacked(['uint256', 'address', 'uint256', 'string'], [BigInt(seed), getAddress(account), windowId, salt]),
  );
  return Number(hexToBigInt(h) % 1_000_000n) / 1_000_000;
}

/** Clear-sky PV output as a share of peak at a given hour of day (UTC), 0 at night. */
export function pvShare(hourOfDay: number): number {
  const x = (hourOfDay + 0.5 - 6) / 12;
  return x <= 0 || x >= 1 ? 0 : Math.sin(Math.PI * x);
}

/** Household load in W at an hour of day: base load with morning and evening peaks. */
export function loadW(hourOfDay: number, base: number): number {
  const morning = Math.exp(-((hourOfDay - 7.5) ** 2) / 2);
  const evening = Math.exp(-((hourOfDay - 19) ** 2) / 3);
  return base * (1 + 1.5 * morning + 2 * evening);
}

export interface EnergyBalance {
  importWh: bigint;
  exportWh: bigint;
}

export interface EnergyFlows extends EnergyBalance {
  productionWh: bigint;
  consumptionWh: bigint;
  /** Energy into the battery (negative: out of it). */
  batteryWh: bigint;
}

export class SimulatedMeters implements MeterSource {
  readonly name = 'simulated';

  constructor(
    private readonly seed: number,
    /** Hour of day the window is mapped to; by default its UTC hour. Lets short demo windows sweep a day. */
    private readonly hourOf: (windowId: bigint, windowDuration: number) => number = (w) => Number((w / 3600n) % 24n),
  ) {}

  /** Expected import/export of the delivery hour without weather noise (what a prosumer would bid on). */
  forecast(windowId: bigint, windowDuration: number, p: ProsumerContext): EnergyBalance {
    return this.balance(windowId, windowDuration, p, false);
  }

  async fetch(windowId: bigint, windowDuration: number, prosumers: ProsumerContext[]): Promise<RawReading[]> {
    return prosumers.map((p) => {
      const b = this.balance(windowId, windowDuration, p, true);
      return { prosumer: p.account, importWh: b.importWh, exportWh: b.exportWh };
    });
  }

  private balance(windowId: bigint, windowDuration: number, p: ProsumerContext, noisy: boolean): EnergyBalance {
    const f = this.flows(windowId, windowDuration, p, noisy);
    return { importWh: f.importWh, exportWh: f.exportWh };
  }

  /**
   * The window's energy flows: PV production, household consumption, the battery's share (positive while
   * charging) and the resulting grid import/export. `noisy` adds the weather and load noise of a measurement;
   * without it the figures are the forecast.
   */
  flows(windowId: bigint, windowDuration: number, p: ProsumerContext, noisy: boolean): EnergyFlows {
    const hour = this.hourOf(windowId, windowDuration);
    const base = 250 + 400 * unit(this.seed, p.account, 0n, 'base');
    const cloud = noisy ? 0.75 + 0.25 * unit(this.seed, p.account, windowId, 'cloud') : 0.875;
    const noise = noisy ? 0.9 + 0.2 * unit(this.seed, p.account, windowId, 'load') : 1;
    const pv = Number(p.pvPeakW) * pvShare(hour) * cloud;
    const load = loadW(hour, base) * noise;
    // The battery smooths the net flow by up to its power (charging from surplus, discharging into deficit).
    const battery = Number(p.batteryPowerW) * 0.3;
    const raw = pv - load;
    const net = raw > 0 ? Math.max(0, raw - battery) : Math.min(0, raw + battery);
    const scale = windowDuration / 3600;
    const wh = (w: number) => BigInt(Math.round(Math.abs(w) * scale));
    return {
      productionWh: wh(pv),
      consumptionWh: wh(load),
      batteryWh: BigInt(Math.round((raw - net) * scale)),
      ...(net >= 0 ? { importWh: 0n, exportWh: wh(net) } : { importWh: wh(net), exportWh: 0n }),
    };
  }
}
