import type { Address } from 'viem';
import type { ProsumerContext } from '../meters/types.js';

/** A forecast row as a source delivers it (not trusted): one prosumer, one window (the trading window id;
 *  the hour it forecasts is that window's delivery hour). */
export interface RawForecast {
  prosumer: string;
  window: unknown;
  consumptionWh: unknown;
  productionWh: unknown;
}

export interface Forecast {
  prosumer: Address;
  windowId: bigint;
  consumptionWh: bigint;
  productionWh: bigint;
}

/** Where production and consumption forecasts come from; `windowIds`: the hours asked for. */
export interface ForecastSource {
  readonly name: string;
  fetch(windowIds: bigint[], windowDuration: number, prosumers: ProsumerContext[]): Promise<RawForecast[]>;
}
