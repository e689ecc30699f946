// Household data from a metering back end over HTTP:
//   GET <url>/history?prosumer=0x..&from=<unix>&hours=<n>  and  GET <url>/forecast?...
//     answer { "hours": [{ "start": <unix>, "consumptionWh": 123, "productionWh": 45 }] }
//   GET <url>/battery?prosumer=0x..&at=<unix>  answers { "chargeWh": 4200, "at": <unix> } or { "chargeWh": null }
import { z } from 'zod';
import { withRetry } from '../../../keeper/src/retry.js';
import type { BatteryCharge, Household, HourlyEnergy, HouseholdDataSource } from './types.js';

const wh = z.number().int().nonnegative();
const hoursSchema = z.object({
  hours: z.array(z.object({ start: z.number().int().nonnegative(), consumptionWh: wh, productionWh: wh })),
});
const batterySchema = z.object({ chargeWh: wh.nullable(), at: z.number().int().nonnegative().optional() });

export class HttpHouseholdData implements HouseholdDataSource {
  readonly name = 'http';

  constructor(
    private readonly url: string,
    private readonly timeoutMs = 10_000,
  ) {}

  private async get(path: string, params: Record<string, string>): Promise<unknown> {
    const url = new URL(`${this.url.replace(/\/$/, '')}/${path}`);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return withRetry(
      async () => {
        const res = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs) });
        if (res.status >= 500 || res.status === 429) throw new Error(`household data: HTTP ${res.status} (network)`);
        if (!res.ok) throw new Error(`household data answered HTTP ${res.status} for ${path}`);
        return (await res.json()) as unknown;
      },
      { retries: 2 },
    );
  }

  private async hours(path: string, h: Household, from: number, hours: number): Promise<HourlyEnergy[]> {
    const body = await this.get(path, { prosumer: h.account, from: String(from), hours: String(hours) });
    const parsed = hoursSchema.safeParse(body);
    if (!parsed.success)
      throw new Error(`household data: malformed ${path} answer (${parsed.error.issues[0]?.message})`);
    return parsed.data.hours;
  }

  history(h: Household, from: number, hours: number): Promise<HourlyEnergy[]> {
    return this.hours('history', h, from, hours);
  }

  forecast(h: Household, from: number, hours: number): Promise<HourlyEnergy[]> {
    return this.hours('forecast', h, from, hours);
  }

  async battery(h: Household, now: number): Promise<BatteryCharge | null> {
    const parsed = batterySchema.safeParse(await this.get('battery', { prosumer: h.account, at: String(now) }));
    if (!parsed.success) throw new Error('household data: malformed battery answer');
    const { chargeWh, at } = parsed.data;
    return chargeWh === null ? null : { chargeWh, at: at ?? now };
  }
}
