// Keeper configuration: environment variables, overridden by CLI flags, validated with zod at start-up.
import { parseArgs } from 'node:util';
import { z } from 'zod';

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte hex address');
const privateKey = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'must be a 0x-prefixed 32-byte hex key');
const positiveInt = z.coerce.number().int().positive();

export const configSchema = z
  .object({
    rpcUrl: z.url().optional(),
    rpcUrls: z
      .string()
      .transform((v) => v.split(',').map((u) => u.trim()).filter((u) => u !== ''))
      .pipe(z.array(z.url()).min(1, 'give at least one URL'))
      .optional(),
    rpcRetryCount: z.coerce.number().int().min(0).max(10).default(3),
    rpcRetryDelayMs: positiveInt.default(250),
    rpcTimeoutMs: positiveInt.default(10_000),
    chainId: positiveInt,
    marketAddress: address,
    startBlock: z.coerce.bigint().nonnegative().default(0n),
    privateKey: privateKey.optional(),
    keystorePath: z.string().min(1).optional(),
    keystorePassword: z.string().optional(),
    readings: z.stringbool().default(true),
    meterSource: z.enum(['simulated', 'csv', 'http']).default('simulated'),
    meterSeed: z.coerce.number().int().default(1),
    meterCsvPath: z.string().min(1).optional(),
    meterHttpUrl: z.url().optional(),
    readingsBatch: positiveInt.default(200),
    closeBatch: positiveInt.default(300),
    settleBatch: positiveInt.default(200),
    lookbackWindows: positiveInt.default(24),
    confirmations: z.coerce.number().int().min(1).default(1),
    pollIntervalMs: positiveInt.default(15_000),
    txTimeoutMs: positiveInt.default(60_000),
    feeBumpPercent: z.coerce.number().min(12.5).default(12.5),
    maxReplacements: z.coerce.number().int().min(0).default(5),
    maxFeePerGasWei: z.coerce.bigint().positive().default(500_000_000_000n),
    minBalanceWei: z.coerce.bigint().nonnegative().default(10_000_000_000_000_000n),
    metricsPort: z.coerce.number().int().min(0).max(65_535).default(9464),
    metricsHost: z.string().default('127.0.0.1'),
    dryRun: z.stringbool().default(false),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    maxTicks: z.coerce.number().int().positive().optional(),
    relayer: z.stringbool().default(false),
    relayerPort: z.coerce.number().int().min(0).max(65_535).default(9465),
    relayerHost: z.string().default('127.0.0.1'),
    relayIntervalMs: positiveInt.default(5_000),
    relayBatch: positiveInt.max(500).default(50),
    relayQueueMax: positiveInt.default(10_000),
    relayJournalPath: z.string().min(1).default('relayer-journal.jsonl'),
    relayMaxBodyBytes: positiveInt.max(1_048_576).default(8_192),
    relayRateLimit: positiveInt.default(30),
    relayCloseMarginS: z.coerce.number().int().min(0).default(30),
  })
  .refine((c) => c.rpcUrl !== undefined || c.rpcUrls !== undefined, {
    message: 'set RPC_URL or RPC_URLS',
    path: ['rpcUrl'],
  })
  .refine((c) => c.privateKey !== undefined || c.keystorePath !== undefined, {
    message: 'set PRIVATE_KEY or KEYSTORE_PATH (with KEYSTORE_PASSWORD)',
    path: ['privateKey'],
  })
  .refine((c) => c.meterSource !== 'csv' || c.meterCsvPath !== undefined, {
    message: 'METER_SOURCE=csv needs METER_CSV_PATH',
    path: ['meterCsvPath'],
  })
  .refine((c) => c.meterSource !== 'http' || c.meterHttpUrl !== undefined, {
    message: 'METER_SOURCE=http needs METER_HTTP_URL',
    path: ['meterHttpUrl'],
  })
  .refine((c) => !(c.relayer && c.dryRun), {
    message: 'RELAYER=true cannot run with DRY_RUN=true (nothing accepted could ever be placed)',
    path: ['relayer'],
  })
  // RPC_URLS wins; rpcUrl is the first endpoint (the one tools and logs name).
  .transform((c) => {
    const rpcUrls = c.rpcUrls ?? [c.rpcUrl as string];
    return { ...c, rpcUrls, rpcUrl: rpcUrls[0] as string };
  });

export type KeeperConfig = z.infer<typeof configSchema>;

/** Environment variable for each config key; the CLI flag is the key in kebab-case. */
export const envNames: Record<keyof z.input<typeof configSchema>, string> = {
  rpcUrl: 'RPC_URL',
  rpcUrls: 'RPC_URLS',
  rpcRetryCount: 'RPC_RETRY_COUNT',
  rpcRetryDelayMs: 'RPC_RETRY_DELAY_MS',
  rpcTimeoutMs: 'RPC_TIMEOUT_MS',
  chainId: 'CHAIN_ID',
  marketAddress: 'MARKET_ADDRESS',
  startBlock: 'START_BLOCK',
  privateKey: 'PRIVATE_KEY',
  keystorePath: 'KEYSTORE_PATH',
  keystorePassword: 'KEYSTORE_PASSWORD',
  readings: 'READINGS',
  meterSource: 'METER_SOURCE',
  meterSeed: 'METER_SEED',
  meterCsvPath: 'METER_CSV_PATH',
  meterHttpUrl: 'METER_HTTP_URL',
  readingsBatch: 'READINGS_BATCH',
  closeBatch: 'CLOSE_BATCH',
  settleBatch: 'SETTLE_BATCH',
  lookbackWindows: 'LOOKBACK_WINDOWS',
  confirmations: 'CONFIRMATIONS',
  pollIntervalMs: 'POLL_INTERVAL_MS',
  txTimeoutMs: 'TX_TIMEOUT_MS',
  feeBumpPercent: 'FEE_BUMP_PERCENT',
  maxReplacements: 'MAX_REPLACEMENTS',
  maxFeePerGasWei: 'MAX_FEE_PER_GAS_WEI',
  minBalanceWei: 'MIN_BALANCE_WEI',
  metricsPort: 'METRICS_PORT',
  metricsHost: 'METRICS_HOST',
  dryRun: 'DRY_RUN',
  logLevel: 'LOG_LEVEL',
  maxTicks: 'MAX_TICKS',
  relayer: 'RELAYER',
  relayerPort: 'RELAYER_PORT',
  relayerHost: 'RELAYER_HOST',
  relayIntervalMs: 'RELAY_INTERVAL_MS',
  relayBatch: 'RELAY_BATCH',
  relayQueueMax: 'RELAY_QUEUE_MAX',
  relayJournalPath: 'RELAY_JOURNAL_PATH',
  relayMaxBodyBytes: 'RELAY_MAX_BODY_BYTES',
  relayRateLimit: 'RELAY_RATE_LIMIT',
  relayCloseMarginS: 'RELAY_CLOSE_MARGIN_S',
};

const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/**
 * Reads the configuration from `env` and `argv` flags (`--rpc-url`, `--dry-run`, ...; flags win).
 * Throws a ConfigError listing every invalid setting by its variable name; never echoes secrets.
 */
export function loadConfig(env: NodeJS.ProcessEnv, argv: string[] = []): KeeperConfig {
  const keys = Object.keys(envNames) as (keyof typeof envNames)[];
  const options = Object.fromEntries(
    keys.map((k) => [kebab(k), { type: 'string' as const }]),
  ) as Record<string, { type: 'string' }>;
  // Boolean flags may be given bare (`--dry-run`).
  const normalised = argv.map((a) => (a === '--dry-run' ? '--dry-run=true' : a === '--no-readings' ? '--readings=false' : a));
  const { values } = parseArgs({ args: normalised, options, allowPositionals: true, strict: true });
  const raw: Record<string, string | undefined> = {};
  for (const key of keys) {
    const flag = (values as Record<string, string | undefined>)[kebab(key)];
    const fromEnv = env[envNames[key]];
    raw[key] = flag ?? (fromEnv === '' ? undefined : fromEnv);
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const key = issue.path[0] as keyof typeof envNames | undefined;
      const name = key ? `${envNames[key]} (--${kebab(key)})` : 'config';
      return `  ${name}: ${issue.message}`;
    });
    throw new ConfigError(`invalid keeper configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}
