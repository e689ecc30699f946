// Wires a keeper from a validated config (used by the CLI and by tests).
import type { Server } from 'node:http';
import { privateKeyToAccount } from 'viem/accounts';
import type { Address, Hex } from 'viem';
import { MarketReader, makeClients } from './chain.js';
import type { KeeperConfig } from './config.js';
import { Keeper } from './keeper.js';
import { loadDispatchConfig, type DispatchConfig } from './dispatch/config.js';
import type { ResultsDispatcher } from './dispatch/dispatcher.js';
import { createDispatcher } from './dispatch/index.js';
import { decryptKeystore } from './keystore.js';
import { createLogger, redactConfig, type Logger } from './log.js';
import { CsvMeters } from './meters/csv.js';
import { HttpMeters } from './meters/http.js';
import { SimulatedMeters } from './meters/simulated.js';
import { warnWhileSimulated } from './meters/simulated-warning.js';
import type { MeterSource } from './meters/types.js';
import { KeeperMetrics } from './metrics.js';
import { startMetricsServer } from './server.js';
import { Relayer } from './relayer/index.js';
import { TxSender } from './tx.js';

export interface KeeperApp {
  keeper: Keeper;
  metrics: KeeperMetrics;
  sender: TxSender;
  reader: MarketReader;
  log: Logger;
  server?: Server;
  /** The relayer (RELAYER=true): created by `run()` (after the start-up checks), stopped by `shutdown()`. */
  relayer?: Relayer;
  /** Results to the dispatcher (DISPATCHER_URL set): runs beside the keeper loop. */
  dispatcher?: ResultsDispatcher;
  /** Replays the relayer's journal and starts its API and batch loop (RELAYER=true; `run()` calls it). */
  startRelayer(): Promise<Relayer | undefined>;
  /** Runs the keeper loop until `shutdown()`. */
  run(): Promise<void>;
  /** Stops taking work, lets the in-flight send finish (or abandons it after `graceMs`), closes the server. */
  shutdown(graceMs?: number): Promise<void>;
}

/** The configured meter source; none with READINGS=false (the config requires one otherwise). */
export function meterSourceFor(config: KeeperConfig): MeterSource | undefined {
  if (config.meterSource === 'csv') return new CsvMeters(config.meterCsvPath as string);
  if (config.meterSource === 'http') return new HttpMeters(config.meterHttpUrl as string);
  if (config.meterSource === 'simulated') return new SimulatedMeters(config.meterSeed);
  return undefined;
}

export async function createKeeperApp(
  config: KeeperConfig,
  options: {
    meters?: MeterSource;
    /** Seconds of delivery a window's readings cover (KeeperSettings.deliverySeconds; the demo's compressed hours). */
    deliverySeconds?: number;
    serve?: boolean;
    logger?: Logger;
    dispatch?: DispatchConfig;
  } = {},
): Promise<KeeperApp> {
  const log = options.logger ?? createLogger(config.logLevel, config.chainId);
  const key: Hex = config.privateKey
    ? (config.privateKey as Hex)
    : await decryptKeystore(config.keystorePath as string, config.keystorePassword ?? '');
  const account = privateKeyToAccount(key);
  const metrics = new KeeperMetrics();
  const clients = makeClients(config, account, metrics);
  const reader = new MarketReader(clients.public, config.marketAddress as Address);
  const sender = new TxSender(clients, config, metrics, log);
  const meters = options.meters ?? meterSourceFor(config);
  const settings = { ...config, deliverySeconds: options.deliverySeconds };
  const keeper = new Keeper(settings, clients, reader, sender, meters, metrics, log);
  sender.onProgress = () => keeper.noteProgress();
  log.info({ config: redactConfig(config), signer: account.address }, 'keeper configured');
  const server =
    options.serve === false
      ? undefined
      : await startMetricsServer(metrics, keeper, config.metricsPort, config.metricsHost);
  const dispatch = options.dispatch ?? loadDispatchConfig(process.env);
  const dispatcher = dispatch && (await createDispatcher(dispatch, config, reader, metrics.registry, log));
  let loop: Promise<void> | undefined;
  let stopWarning: (() => void) | undefined;
  const app: KeeperApp = {
    keeper,
    metrics,
    sender,
    reader,
    log,
    server,
    dispatcher,
    async startRelayer() {
      if (!config.relayer || app.relayer) return app.relayer;
      app.relayer = await Relayer.create(config, clients.public, sender, metrics, log);
      await app.relayer.start();
      return app.relayer;
    },
    run() {
      if (config.readings && meters?.name === 'simulated') stopWarning ??= warnWhileSimulated(log, config.chainId);
      loop = app.startRelayer().then(async () => {
        await Promise.all([keeper.run().finally(() => dispatcher?.stop()), dispatcher?.run()]);
      });
      return loop;
    },
    async shutdown(graceMs = 30_000) {
      keeper.stop();
      stopWarning?.();
      dispatcher?.stop();
      await app.relayer?.stop(graceMs);
      loop ??= Promise.resolve();
      await Promise.race([loop, new Promise((r) => setTimeout(r, graceMs))]);
      if (sender.inFlight.length > 0)
        log.warn({ txHashes: sender.inFlight }, 'abandoning an in-flight transaction; the next run re-reads the chain');
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    },
  };
  return app;
}
