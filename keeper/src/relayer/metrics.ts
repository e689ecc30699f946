// The relayer's series, in the keeper's registry (served on the keeper's /metrics).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type RelayResult = 'accepted' | 'placed' | 'rejected' | 'refused';

export class RelayMetrics {
  readonly orders: Counter<'result'>;
  readonly queueDepth: Gauge;
  readonly batchSize: Histogram;
  readonly gasPerOrder: Histogram;
  readonly requests: Counter<'kind' | 'result'>;

  constructor(registry: Registry) {
    this.orders = new Counter({
      name: 'keeper_relay_orders_total',
      help:
        'Signed orders by result: accepted (202), placed or rejected (on-chain, or when their window ' +
        'stopped taking orders), refused (4xx).',
      labelNames: ['result'] as const,
      registers: [registry],
    });
    this.queueDepth = new Gauge({
      name: 'keeper_relay_queue_depth',
      help: 'Accepted orders, cancels and permits not yet sent.',
      registers: [registry],
    });
    this.batchSize = new Histogram({
      name: 'keeper_relay_batch_size',
      help: 'Orders per placeOrdersBySig transaction.',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
      registers: [registry],
    });
    this.gasPerOrder = new Histogram({
      name: 'keeper_relay_gas_per_order',
      help: 'Gas used by a placeOrdersBySig transaction divided by its orders.',
      buckets: [30_000, 40_000, 50_000, 60_000, 80_000, 100_000, 150_000, 250_000, 500_000],
      registers: [registry],
    });
    this.requests = new Counter({
      name: 'keeper_relay_requests_total',
      help: 'Relayer requests of each kind (order, cancel, permit) by result (accepted, refused, done, rejected).',
      labelNames: ['kind', 'result'] as const,
      registers: [registry],
    });
    for (const result of ['accepted', 'placed', 'rejected', 'refused'] as const) this.orders.inc({ result }, 0);
  }
}
