// Device plans from the dispatcher over HTTP: GET <url>?from=<windowId>&hours=<n> answers
// `{ "plans": [{ "prosumer": "0x..", "window": "<id>", "device": "battery", "energyWh": -1200 }] }`.
import { fetchJsonRows } from '../forecasts/tabular.js';
import type { PlanSource, RawPlanEntry } from './types.js';

export class HttpPlans implements PlanSource {
  readonly name = 'http';
  constructor(
    private readonly url: string,
    private readonly timeoutMs = 10_000,
  ) {}

  async fetch(windowIds: bigint[]): Promise<RawPlanEntry[]> {
    const rows = await fetchJsonRows(this.url, 'plans', windowIds, this.timeoutMs);
    return rows.map((o) => ({
      prosumer: String(o.prosumer ?? ''),
      window: o.window,
      device: o.device,
      energyWh: o.energyWh,
    }));
  }
}
