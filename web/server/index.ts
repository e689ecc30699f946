// startWebServer(config): the web app's Node server (the built page, SIWE sessions, the data API, the relayer
// proxy). `make web` runs it from web/server/cli.ts; the demo imports it.
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import pino, { type Logger } from 'pino';
import type { Address } from 'viem';
import { createApp } from './app.js';
import { ChainView } from './chain.js';
import { parseWebConfig, type WebConfig, type WebConfigInput } from './config.js';
import { dataSourceFor } from './data/index.js';
import type { HouseholdDataSource } from './data/types.js';
import { SessionStore } from './sessions.js';

export type { WebConfig, WebConfigInput } from './config.js';
export type { HouseholdDataSource, Household, HourlyEnergy, BatteryCharge } from './data/types.js';
export { SimulatedHouseholdData } from './data/simulated.js';

export const defaultStaticDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist');

export interface WebServer {
  url: string;
  close(): Promise<void>;
}

export interface WebServerOptions {
  /** Household data instead of the configured source (the demo passes its own simulated community). */
  source?: HouseholdDataSource;
  logger?: Logger;
}

/** Validates the config (zod), connects to the chain, and listens. Throws a clear error when anything is off. */
export async function startWebServer(
  input: WebConfig | WebConfigInput,
  options: WebServerOptions = {},
): Promise<WebServer> {
  const config = parseWebConfig(input as Record<string, unknown>);
  const log = options.logger ?? pino({ level: config.logLevel, base: { service: 'web' } });
  const chain = await ChainView.connect(config.rpcUrl, config.marketAddress as Address, config.chainId);
  const secret = config.sessionSecret ?? randomBytes(32).toString('base64url');
  const app = createApp({
    config,
    chain,
    store: new SessionStore(config.sessionTtlS * 1000),
    source: options.source ?? dataSourceFor(config),
    auth: { secret, ttlS: config.sessionTtlS, ...(config.publicOrigin ? { publicOrigin: config.publicOrigin } : {}) },
    staticDir: config.staticDir ?? defaultStaticDir,
    log,
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => resolve(s));
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  log.info(
    { url, chainId: chain.deployment.chainId, market: chain.deployment.market, dataSource: config.dataSource },
    'web server listening',
  );
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
