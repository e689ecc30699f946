// Readings from a meter data bus over HTTP: GET <url>?window=<windowId> answers
// `{ "window": "<id>", "readings": [{ "prosumer": "0x..", "importWh": 123, "exportWh": 0 }] }`.
import { withRetry } from '../retry.js';
import type { MeterSource, RawReading } from './types.js';

export class HttpMeters implements MeterSource {
  readonly name = 'http';

  constructor(
    private readonly url: string,
    private readonly timeoutMs = 10_000,
  ) {}

  async fetch(windowId: bigint): Promise<RawReading[]> {
    const url = new URL(this.url);
    url.searchParams.set('window', windowId.toString());
    const body = await withRetry(async () => {
      const res = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs) });
      if (res.status >= 500 || res.status === 429) throw new Error(`meter bus: HTTP ${res.status} (network)`);
      if (!res.ok) throw new Error(`meter bus answered HTTP ${res.status} for window ${windowId}`);
      return (await res.json()) as unknown;
    });
    const readings = (body as { readings?: unknown })?.readings;
    if (!Array.isArray(readings)) throw new Error(`meter bus: no "readings" array for window ${windowId}`);
    return readings.map((r) => {
      const o = (r ?? {}) as Record<string, unknown>;
      return { prosumer: String(o.prosumer ?? ''), importWh: o.importWh, exportWh: o.exportWh };
    });
  }
}
