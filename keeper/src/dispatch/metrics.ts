// Dispatcher output metrics, registered on the keeper's registry (served by its /metrics).
import { Counter, Gauge, type Registry } from 'prom-client';

export type DispatchResult = 'acknowledged' | 'http_error' | 'timeout' | 'network' | 'build_failed';

export class DispatchMetrics {
  readonly pending: Gauge;
  readonly total: Counter<'result'>;

  constructor(registry: Registry) {
    this.pending = new Gauge({
      name: 'keeper_dispatch_pending_windows',
      help: 'Settled windows whose results the dispatcher has not acknowledged yet.',
      registers: [registry],
    });
    this.total = new Counter({
      name: 'keeper_dispatch_total',
      help:
        'Results deliveries to the dispatcher, by result (acknowledged, http_error, timeout, network, ' +
        'build_failed).',
      labelNames: ['result'] as const,
      registers: [registry],
    });
  }
}
