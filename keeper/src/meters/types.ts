import type { Address } from 'viem';

/** What the keeper knows of a prosumer when asking for its reading. */
export interface ProsumerContext {
  account: Address;
  pvPeakW: bigint;
  batteryPowerW: bigint;
  batteryCapacityWh: bigint;
  /** Energy the prosumer bought / sold in the window's trades (set by the keeper for traders). */
  boughtWh?: bigint;
  soldWh?: bigint;
}

/** A reading as a source delivers it: not trusted, validated before it goes on-chain. */
export interface RawReading {
  prosumer: string;
  importWh: unknown;
  exportWh: unknown;
}

export interface MeterReading {
  prosumer: Address;
  importWh: bigint;
  exportWh: bigint;
}

/** Where meter readings come from. `windowId` is the start of the trading hour; the delivery hour follows it. */
export interface MeterSource {
  readonly name: string;
  fetch(windowId: bigint, windowDuration: number, prosumers: ProsumerContext[]): Promise<RawReading[]>;
}
