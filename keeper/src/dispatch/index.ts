// Wires the dispatcher output from its config (used by the keeper app when DISPATCHER_URL is set).
import type { Registry } from 'prom-client';
import type { MarketReader } from '../chain.js';
import type { Logger } from '../log.js';
import { AckStore } from './acks.js';
import type { DispatchConfig } from './config.js';
import { ResultsDispatcher } from './dispatcher.js';
import { DispatchMetrics } from './metrics.js';

export async function createDispatcher(
  config: DispatchConfig,
  keeper: { chainId: number; pollIntervalMs: number },
  reader: MarketReader,
  registry: Registry,
  log: Logger,
): Promise<ResultsDispatcher> {
  const acks = await AckStore.open(config.dispatchAcksPath);
  const { dispatcherSecret: _secret, ...shown } = config;
  log.info({ dispatch: shown, acknowledged: acks.size }, 'dispatcher output configured');
  const intervalMs = Math.min(config.dispatchIntervalMs, keeper.pollIntervalMs);
  const settings = { ...config, chainId: keeper.chainId, intervalMs };
  return new ResultsDispatcher(settings, reader, acks, new DispatchMetrics(registry), log);
}
