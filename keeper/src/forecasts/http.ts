// Forecasts over HTTP: GET <url>?from=<windowId>&hours=<n> answers
// `{ "forecasts": [{ "prosumer": "0x..", "window": "<id>", "consumptionWh": 900, "productionWh": 2400 }] }`.
import type { ForecastSource, RawForecast } from './types.js';
import { fetchJsonRows } from './tabular.js';

export class HttpForecasts implements ForecastSource {
  readonly name = 'http';
  constructor(
    private readonly url: string,
    private readonly timeoutMs = 10_000,
  ) {}

  async fetch(windowIds: bigint[]): Promise<RawForecast[]> {
    const rows = await fetchJsonRows(this.url, 'forecasts', windowIds, this.timeoutMs);
    return rows.map((o) => ({
      prosumer: String(o.prosumer ?? ''),
      window: o.window,
      consumptionWh: o.consumptionWh,
      productionWh: o.productionWh,
    }));
  }
}
