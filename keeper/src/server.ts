// The HTTP server of /metrics, /healthz (liveness) and /readyz (readiness).
import { createServer, type Server } from 'node:http';
import type { KeeperMetrics } from './metrics.js';

export interface HealthState {
  /** The loop is running (not stopped, not wedged). */
  alive(): boolean;
  /** RPC reachable, start-up checks passed, last tick recent. */
  ready(): Promise<boolean>;
}

export function startMetricsServer(
  metrics: KeeperMetrics,
  health: HealthState,
  port: number,
  host: string,
): Promise<Server> {
  const server = createServer((req, res) => {
    const reply = (status: number, body: string, type = 'text/plain') => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (req.url === '/metrics') {
      metrics.registry
        .metrics()
        .then((body) => reply(200, body, metrics.registry.contentType))
        .catch((error: unknown) => reply(500, String(error)));
    } else if (req.url === '/healthz') {
      const ok = health.alive();
      reply(ok ? 200 : 503, ok ? 'ok' : 'loop not running');
    } else if (req.url === '/readyz') {
      health
        .ready()
        .then((ok) => reply(ok ? 200 : 503, ok ? 'ready' : 'not ready'))
        .catch(() => reply(503, 'not ready'));
    } else {
      reply(404, 'not found');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
