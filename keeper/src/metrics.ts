// Prometheus metrics on a registry of their own (served by server.ts).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type Action = 'open' | 'close' | 'settle' | 'readings' | 'relay' | 'relay_cancel' | 'relay_permit';

export class KeeperMetrics {
  readonly registry = new Registry();
  readonly actions = new Counter({
    name: 'keeper_actions_total',
    help: 'Actions attempted, by action and result (success, reverted, failed, skipped, dry_run).',
    labelNames: ['action', 'result'] as const,
    registers: [this.registry],
  });
  readonly actionDuration = new Histogram({
    name: 'keeper_action_duration_seconds',
    help: 'Time from simulation to confirmed receipt, by action.',
    labelNames: ['action'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  readonly txSent = new Counter({
    name: 'keeper_transactions_sent_total',
    help: 'Transactions broadcast (first attempts).',
    registers: [this.registry],
  });
  readonly txReplaced = new Counter({
    name: 'keeper_transactions_replaced_total',
    help: 'Transactions re-broadcast at the same nonce with higher fees.',
    registers: [this.registry],
  });
  readonly lastSuccess = new Gauge({
    name: 'keeper_last_success_timestamp_seconds',
    help: 'Unix time of the last successful action, by action.',
    labelNames: ['action'] as const,
    registers: [this.registry],
  });
  readonly overdue = new Gauge({
    name: 'keeper_oldest_due_action_overdue_seconds',
    help: 'Chain seconds since the oldest due action became due (0 when nothing is due).',
    registers: [this.registry],
  });
  readonly balance = new Gauge({
    name: 'keeper_signer_balance_wei',
    help: 'Native balance of the signer.',
    registers: [this.registry],
  });
  readonly readingsSubmitted = new Counter({
    name: 'keeper_readings_submitted_total',
    help: 'Meter readings submitted on-chain.',
    registers: [this.registry],
  });
  readonly readingsRejected = new Counter({
    name: 'keeper_readings_rejected_total',
    help: 'Meter readings refused by validation, by reason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly batchHalvings = new Counter({
    name: 'keeper_batch_halvings_total',
    help: 'Batches retried at half their size after a revert or a gas-limit failure, by action.',
    labelNames: ['action'] as const,
    registers: [this.registry],
  });
  readonly windowsSkipped = new Counter({
    name: 'keeper_windows_skipped_total',
    help: 'Windows left for the next tick because their action failed even with a batch of one, by action.',
    labelNames: ['action'] as const,
    registers: [this.registry],
  });
  readonly assetHistoryUnavailable = new Counter({
    name: 'keeper_asset_history_unavailable_total',
    help: 'Historical asset reads the node could not serve (pruned state); the current assets were used instead.',
    registers: [this.registry],
  });
  readonly readingsTradeBounded = new Counter({
    name: 'keeper_readings_trade_bounded_total',
    help: 'Readings of traders without any registered asset, validated against their own traded energy.',
    registers: [this.registry],
  });
  readonly rpcRetries = new Counter({
    name: 'keeper_rpc_retries_total',
    help:
      'RPC requests that failed with a retryable error (rate limit, internal error, 5xx, network); ' +
      'the transport retries them up to RPC_RETRY_COUNT times.',
    registers: [this.registry],
  });
  readonly lastTick = new Gauge({
    name: 'keeper_last_tick_timestamp_seconds',
    help: 'Unix time the main loop last completed a tick.',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'keeper_' });
  }
}
