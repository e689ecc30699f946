// Device plans from a CSV file with the header `prosumer,window,device,energyWh` (negative = consumes).
import { readCsvRows } from '../forecasts/tabular.js';
import type { PlanSource, RawPlanEntry } from './types.js';

export const PLAN_CSV_HEADER = ['prosumer', 'window', 'device', 'energyWh'];

export class CsvPlans implements PlanSource {
  readonly name = 'csv';
  constructor(private readonly path: string) {}

  async fetch(windowIds: bigint[]): Promise<RawPlanEntry[]> {
    const rows = await readCsvRows(this.path, PLAN_CSV_HEADER, windowIds);
    return rows.map((r) => ({ prosumer: r.prosumer ?? '', window: r.window, device: r.device, energyWh: r.energyWh }));
  }
}
