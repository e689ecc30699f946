// Wires a bidding agent: from its config (`keeper agent`), or for households the caller holds (the demo).
import type { Server } from 'node:http';
import { createPublicClient, http, type Address, type Chain, type PublicClient, type Transport } from 'viem';
import { makeChain } from '../chain.js';
import { CsvForecasts } from '../forecasts/csv.js';
import { HttpForecasts } from '../forecasts/http.js';
import { SimulatedForecasts, type HourOf } from '../forecasts/simulated.js';
import type { ForecastSource } from '../forecasts/types.js';
import { createLogger, type Logger } from '../log.js';
import { CsvPlans } from '../plans/csv.js';
import { HttpPlans } from '../plans/http.js';
import { SimulatedPlans } from '../plans/simulated.js';
import type { PlanSource } from '../plans/types.js';
import { BiddingAgent, type AgentHousehold, type AgentSettings } from './agent.js';
import { loadHouseholds, type AgentConfig } from './config.js';
import { AgentMetrics } from './metrics.js';
import { PlacementStore } from './placements.js';

export function forecastSourceFor(c: AgentConfig, hourOf?: HourOf): ForecastSource {
  if (c.forecastSource === 'csv') return new CsvForecasts(c.forecastCsvPath as string);
  if (c.forecastSource === 'http') return new HttpForecasts(c.forecastHttpUrl as string);
  return new SimulatedForecasts(c.forecastSeed, hourOf);
}

export function planSourceFor(c: AgentConfig, hourOf?: HourOf): PlanSource {
  if (c.planSource === 'csv') return new CsvPlans(c.planCsvPath as string);
  if (c.planSource === 'http') return new HttpPlans(c.planHttpUrl as string);
  return new SimulatedPlans(c.forecastSeed, hourOf);
}

export interface AgentRunOptions {
  client: PublicClient<Transport, Chain>;
  market: Address;
  relayerUrl: string;
  forecasts: ForecastSource;
  plans: PlanSource;
  /** Placement record file (undefined: in memory; the chain check still prevents doubles). */
  statePath?: string;
  settings?: Partial<AgentSettings>;
  log: Logger;
  metrics?: AgentMetrics;
  /** AgentDeps.deliverySeconds (the demo's compressed hours). */
  deliverySeconds?: number;
}

export const DEFAULT_SETTINGS: AgentSettings = {
  thresholdWh: 50n,
  pollIntervalMs: 5_000,
  closeMarginS: 60,
  medianScanWindows: 168,
};

/** An agent for `households` (not started: call `run()`, or `actOn(windowId)` yourself). */
export async function runAgentFor(households: AgentHousehold[], o: AgentRunOptions): Promise<BiddingAgent> {
  const placements = await PlacementStore.open(o.statePath);
  return BiddingAgent.create({ ...DEFAULT_SETTINGS, ...o.settings }, households, {
    client: o.client,
    market: o.market,
    relayerUrl: o.relayerUrl,
    forecasts: o.forecasts,
    plans: o.plans,
    placements,
    metrics: o.metrics ?? new AgentMetrics(),
    log: o.log,
    deliverySeconds: o.deliverySeconds,
  });
}

/** `keeper agent`: households from the file, sources from the config, metrics served. */
export async function createAgentApp(
  c: AgentConfig,
  env: NodeJS.ProcessEnv,
): Promise<{ agent: BiddingAgent; server: Server; log: Logger }> {
  const log = createLogger(c.logLevel, c.chainId).child({ component: 'agent' });
  const households = await loadHouseholds(c.householdsPath, env);
  const chain = makeChain(c.chainId, c.rpcUrl);
  const client = createPublicClient({ chain, transport: http(c.rpcUrl, { timeout: 10_000 }) });
  const chainId = await client.getChainId();
  if (chainId !== c.chainId) throw new Error(`RPC is chain ${chainId}, config says CHAIN_ID=${c.chainId}`);
  const metrics = new AgentMetrics();
  const agent = await runAgentFor(households, {
    client,
    market: c.marketAddress as Address,
    relayerUrl: c.relayerUrl.replace(/\/$/, ''),
    forecasts: forecastSourceFor(c),
    plans: planSourceFor(c),
    statePath: c.statePath,
    settings: c,
    log,
    metrics,
  });
  const server = await metrics.serve(c.metricsPort, c.metricsHost);
  return { agent, server, log };
}
