// Readings from a CSV file with the header `prosumer,window,importWh,exportWh` (window = window id).
import { readFile } from 'node:fs/promises';
import type { MeterSource, RawReading } from './types.js';

export class CsvMeters implements MeterSource {
  readonly name = 'csv';

  constructor(private readonly path: string) {}

  async fetch(windowId: bigint): Promise<RawReading[]> {
    const text = await readFile(this.path, 'utf8');
    const lines = text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    const header = lines
      .shift()
      ?.split(',')
      .map((h) => h.trim());
    const expected = ['prosumer', 'window', 'importWh', 'exportWh'];
    if (!header || expected.some((h, i) => header[i] !== h)) {
      throw new Error(`${this.path}: header must be ${expected.join(',')}`);
    }
    const readings: RawReading[] = [];
    for (const line of lines) {
      const [prosumer = '', window = '', importWh, exportWh] = line.split(',').map((c) => c.trim());
      if (!/^\d+$/.test(window) || BigInt(window) !== windowId) continue;
      readings.push({ prosumer, importWh, exportWh });
    }
    return readings;
  }
}
