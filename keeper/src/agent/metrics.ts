// The agent's Prometheus metrics (its own registry and /metrics server).
import { createServer, type Server } from 'node:http';
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';

export type Decision =
  | 'placed'
  | 'manual'
  | 'already_placed'
  | 'below_threshold'
  | 'refused_input'
  | 'source_failed'
  | 'relayer_refused'
  | 'too_late';

export class AgentMetrics {
  readonly registry = new Registry();
  readonly decisions = new Counter({
    name: 'agent_decisions_total',
    help: 'What the agent did for a household in a window, by decision.',
    labelNames: ['decision'] as const,
    registers: [this.registry],
  });
  readonly inputsRejected = new Counter({
    name: 'agent_inputs_rejected_total',
    help: 'Forecast and device-plan rows refused by validation, by input (forecast, plan) and reason.',
    labelNames: ['input', 'reason'] as const,
    registers: [this.registry],
  });
  readonly capped = new Counter({
    name: 'agent_orders_capped_total',
    help: 'Orders whose energy was capped by the registered PV and battery limits.',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'agent_' });
  }

  serve(port: number, host: string): Promise<Server> {
    const server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end('not found');
        return;
      }
      this.registry
        .metrics()
        .then((body) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(body))
        .catch((error: unknown) => res.writeHead(500).end(String(error)));
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve(server));
    });
  }
}
