// Picks the household data source from the configuration.
import type { WebConfig } from '../config.js';
import { CsvHouseholdData } from './csv.js';
import { HttpHouseholdData } from './http.js';
import { SimulatedHouseholdData } from './simulated.js';
import type { HouseholdDataSource } from './types.js';

export function dataSourceFor(config: WebConfig): HouseholdDataSource {
  if (config.dataSource === 'csv') return new CsvHouseholdData(config.dataCsvPath as string);
  if (config.dataSource === 'http') return new HttpHouseholdData(config.dataHttpUrl as string);
  return SimulatedHouseholdData.fromSeed(config.dataSeed);
}
