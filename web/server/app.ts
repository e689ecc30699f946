// The hono app: security headers, the browser's config, SIWE auth, the personal data API, the relayer proxy,
// and the built page (web/dist) with a fallback to index.html.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono } from 'hono';
import type { Logger } from 'pino';
import { authRoutes, requireSession, type AuthEnv, type AuthSettings } from './auth.js';
import type { ChainView } from './chain.js';
import type { WebConfig } from './config.js';
import { dataRoutes } from './data-routes.js';
import type { HouseholdDataSource } from './data/types.js';
import { ApiError, refuse } from './errors.js';
import { relayProxy } from './relay-proxy.js';
import type { SessionStore } from './sessions.js';

export interface AppParts {
  config: WebConfig;
  chain: ChainView;
  store: SessionStore;
  source: HouseholdDataSource;
  auth: AuthSettings;
  staticDir: string;
  log: Logger;
}

/** What the page needs to read the chain itself (no market figures: those it reads from the chain). */
function browserConfig(parts: AppParts): Record<string, unknown> {
  const { config, chain } = parts;
  const d = chain.deployment;
  return {
    chainId: d.chainId,
    rpcUrl: config.publicRpcUrl ?? config.rpcUrl,
    market: d.market,
    token: d.token,
    registry: d.registry,
    windowDuration: d.windowDuration.toString(),
    startBlock: config.startBlock.toString(),
    relayer: '/relayer',
    demoWallets: config.demoWallets ? { firstIndex: config.demoWalletFirstIndex, count: config.demoWalletCount } : null,
  };
}

function securityHeaders(rpcUrl: string): Record<string, string> {
  const rpc = new URL(rpcUrl).origin;
  return {
    'content-security-policy': [
      "default-src 'self'",
      `connect-src 'self' ${rpc}`,
      "img-src 'self' data:",
      "style-src 'self' 'unsafe-inline'",
      "script-src 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "form-action 'self'",
    ].join('; '),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
  };
}

export function createApp(parts: AppParts): Hono<AuthEnv> {
  const { store, auth, log } = parts;
  const app = new Hono<AuthEnv>();
  const headers = securityHeaders(parts.config.publicRpcUrl ?? parts.config.rpcUrl);
  app.use(async (c, next) => {
    await next();
    for (const [k, v] of Object.entries(headers)) c.res.headers.set(k, v);
  });
  app.onError((error, c) => {
    if (error instanceof ApiError) return refuse(c, error);
    log.error({ err: error.message, path: c.req.path }, 'request failed');
    return refuse(c, new ApiError(502, 'UPSTREAM_FAILED', 'the chain or the data source did not answer; try again'));
  });
  app.get('/healthz', (c) => c.text('ok'));
  app.get('/api/v1/config', (c) => c.json(browserConfig(parts), 200, { 'cache-control': 'no-store' }));
  app.route('/api/v1/auth', authRoutes(parts.chain, store, auth));
  const session = requireSession(store, auth.secret);
  app.get('/api/v1/me', session, (c) => {
    const s = c.get('session');
    return c.json({
      address: s.address,
      prosumerId: s.prosumerId.toString(),
      expiresAt: new Date(s.expiresAt).toISOString(),
    });
  });
  app.route('/api/v1', dataRoutes(parts.chain, parts.source, session));
  app.all('/api/*', (c) => refuse(c, new ApiError(404, 'NOT_FOUND', `no route ${c.req.path}`)));
  app.route('/relayer/v1', relayProxy(parts.config.relayerUrl));
  app.use('/*', serveStatic({ root: path.relative(process.cwd(), parts.staticDir) || '.' }));
  app.get('*', async (c) => {
    if (/\.[a-z0-9]+$/i.test(c.req.path)) return c.text('not found', 404);
    const index = await readFile(path.join(parts.staticDir, 'index.html'), 'utf8').catch(() => undefined);
    if (index === undefined) return c.text('web/dist is missing: run make web-build', 503);
    return c.html(index);
  });
  return app;
}
