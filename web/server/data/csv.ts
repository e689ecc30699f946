// Household data from a CSV file: header `prosumer,hour,consumptionWh,productionWh,batteryWh` (hour: Unix
// seconds of the hour's start; batteryWh: the charge at the end of that hour, may be empty). Past rows are the
// history, rows from the current hour on are the forecast.
import { readFile } from 'node:fs/promises';
import { getAddress, isAddress, type Address } from 'viem';
import { HOUR_S, type BatteryCharge, type Household, type HourlyEnergy, type HouseholdDataSource } from './types.js';

interface Row extends HourlyEnergy {
  prosumer: Address;
  batteryWh?: number;
}

const HEADER = ['prosumer', 'hour', 'consumptionWh', 'productionWh', 'batteryWh'];

function whole(value: string, what: string, line: number): number {
  if (!/^\d+$/.test(value)) throw new Error(`line ${line}: ${what} must be a non-negative integer, got "${value}"`);
  return Number(value);
}

export function parseHouseholdCsv(text: string, path = 'csv'): Row[] {
  const lines = text.split(/\r?\n/).map((l, i) => ({ l: l.trim(), n: i + 1 }));
  const content = lines.filter(({ l }) => l !== '' && !l.startsWith('#'));
  const header = content
    .shift()
    ?.l.split(',')
    .map((h) => h.trim());
  if (!header || HEADER.slice(0, 4).some((h, i) => header[i] !== h)) {
    throw new Error(`${path}: header must be ${HEADER.join(',')} (batteryWh optional)`);
  }
  return content.map(({ l, n }) => {
    const [prosumer = '', hour = '', consumption = '', production = '', battery = ''] = l
      .split(',')
      .map((c) => c.trim());
    if (!isAddress(prosumer, { strict: false })) throw new Error(`${path} line ${n}: "${prosumer}" is not an address`);
    const start = whole(hour, 'hour', n);
    if (start % HOUR_S !== 0) throw new Error(`${path} line ${n}: hour must be the start of an hour (Unix seconds)`);
    return {
      prosumer: getAddress(prosumer),
      start,
      consumptionWh: whole(consumption, 'consumptionWh', n),
      productionWh: whole(production, 'productionWh', n),
      ...(battery === '' ? {} : { batteryWh: whole(battery, 'batteryWh', n) }),
    };
  });
}

export class CsvHouseholdData implements HouseholdDataSource {
  readonly name = 'csv';

  constructor(private readonly path: string) {}

  /** Re-read on every request, so the file can be replaced while the server runs. */
  private async rows(account: Address): Promise<Row[]> {
    const rows = parseHouseholdCsv(await readFile(this.path, 'utf8'), this.path);
    return rows.filter((r) => r.prosumer === getAddress(account)).sort((a, b) => a.start - b.start);
  }

  private async range(h: Household, from: number, hours: number): Promise<HourlyEnergy[]> {
    const to = from + hours * HOUR_S;
    return (await this.rows(h.account))
      .filter((r) => r.start >= from && r.start < to)
      .map(({ start, consumptionWh, productionWh }) => ({ start, consumptionWh, productionWh }));
  }

  history(h: Household, from: number, hours: number): Promise<HourlyEnergy[]> {
    return this.range(h, from, hours);
  }

  forecast(h: Household, from: number, hours: number): Promise<HourlyEnergy[]> {
    return this.range(h, from, hours);
  }

  async battery(h: Household, now: number): Promise<BatteryCharge | null> {
    const past = (await this.rows(h.account)).filter((r) => r.batteryWh !== undefined && r.start + HOUR_S <= now);
    const last = past.at(-1);
    return last?.batteryWh === undefined ? null : { chargeWh: last.batteryWh, at: last.start + HOUR_S };
  }
}
