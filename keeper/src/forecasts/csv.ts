// Forecasts from a CSV file with the header `prosumer,window,consumptionWh,productionWh`.
import type { ForecastSource, RawForecast } from './types.js';
import { readCsvRows } from './tabular.js';

export const FORECAST_CSV_HEADER = ['prosumer', 'window', 'consumptionWh', 'productionWh'];

export class CsvForecasts implements ForecastSource {
  readonly name = 'csv';
  constructor(private readonly path: string) {}

  async fetch(windowIds: bigint[]): Promise<RawForecast[]> {
    const rows = await readCsvRows(this.path, FORECAST_CSV_HEADER, windowIds);
    return rows.map((r) => ({
      prosumer: r.prosumer ?? '',
      window: r.window,
      consumptionWh: r.consumptionWh,
      productionWh: r.productionWh,
    }));
  }
}
