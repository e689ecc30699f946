// Keeper configuration: environment variables, overridden by command-line flags, validated with zod at
// start-up. ONE source of truth: `configFields` (types, defaults) and `optionSpecs` (variable, flag, help)
// generate the CLI's options (commander), its --help and the options table of docs/operators.md.
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { z } from 'zod';
import { isTestChain, TEST_CHAINS } from './constants.js';

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte hex address');
const privateKey = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'must be a 0x-prefixed 32-byte hex key');
const positiveInt = z.coerce.number().int().positive();

export const configFields = {
  rpcUrl: z.url().optional(),
  rpcUrls: z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((u) => u.trim())
        .filter((u) => u !== ''),
    )
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
  meterSource: z.enum(['simulated', 'csv', 'http']).optional(),
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
  shutdownGraceMs: z.coerce.number().int().min(0).default(25_000),
  readyProgressMs: positiveInt.default(75_000),
};

export type ConfigKey = keyof typeof configFields;

export const configSchema = z
  .object(configFields)
  .refine((c) => c.rpcUrl !== undefined || c.rpcUrls !== undefined, {
    message: 'set RPC_URL or RPC_URLS',
    path: ['rpcUrl'],
  })
  .refine((c) => c.privateKey !== undefined || c.keystorePath !== undefined, {
    message: 'set PRIVATE_KEY or KEYSTORE_PATH (with KEYSTORE_PASSWORD)',
    path: ['privateKey'],
  })
  // No default meter source: one forgotten variable must not put invented readings on a real chain.
  .refine((c) => !c.readings || c.meterSource !== undefined, {
    message:
      'required while READINGS=true: csv (METER_CSV_PATH), http (METER_HTTP_URL), or simulated (local/test chains)',
    path: ['meterSource'],
  })
  .superRefine((c, ctx) => {
    if (!c.readings || c.meterSource !== 'simulated' || isTestChain(c.chainId)) return;
    const known = Object.entries(TEST_CHAINS).map(([id, name]) => `${id} ${name}`);
    ctx.addIssue({
      code: 'custom',
      path: ['meterSource'],
      message:
        `simulated readings are invented and tokens would settle against them; chain ${c.chainId} is not a known ` +
        `local or test chain (${known.join(', ')}): use csv or http, or READINGS=false`,
    });
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

export interface OptionSpec {
  /** The environment variable. */
  env: string;
  help: string;
  /** Name of the flag's argument in --help (`<n>`); booleans take an optional `[bool]`. */
  arg?: string;
  bool?: true;
  /** Never a flag (visible in `ps` and shell history): the variable, or `<VAR>_FILE` naming a file. */
  secret?: true;
}

export const optionSpecs = {
  rpcUrl: { env: 'RPC_URL', arg: 'url', help: 'JSON-RPC endpoint (RPC_URL or RPC_URLS is required)' },
  rpcUrls: {
    env: 'RPC_URLS',
    arg: 'urls',
    help: "several endpoints, comma-separated, used in order through viem's fallback transport",
  },
  rpcRetryCount: {
    env: 'RPC_RETRY_COUNT',
    arg: 'n',
    help: 'retries of a retryable RPC failure (HTTP 408/429/5xx, JSON-RPC -32005/-32603/-32007, network)',
  },
  rpcRetryDelayMs: {
    env: 'RPC_RETRY_DELAY_MS',
    arg: 'ms',
    help: 'base of the exponential backoff between RPC retries (a Retry-After header wins)',
  },
  rpcTimeoutMs: { env: 'RPC_TIMEOUT_MS', arg: 'ms', help: 'timeout of one RPC request' },
  chainId: { env: 'CHAIN_ID', arg: 'id', help: 'expected chain id (checked against the RPC)' },
  marketAddress: { env: 'MARKET_ADDRESS', arg: 'address', help: 'the EnergyMarket (see deployments/<chainId>.json)' },
  startBlock: {
    env: 'START_BLOCK',
    arg: 'n',
    help: "the market's deployment block (startBlock in the deployment file): lower bound of block searches",
  },
  privateKey: {
    env: 'PRIVATE_KEY',
    secret: true,
    help: 'signer key (or PRIVATE_KEY_FILE: a file holding it); never a flag',
  },
  keystorePath: {
    env: 'KEYSTORE_PATH',
    arg: 'file',
    help: 'a v3 keystore file (geth/cast/ethers format) instead of PRIVATE_KEY',
  },
  keystorePassword: {
    env: 'KEYSTORE_PASSWORD',
    secret: true,
    help: 'its password (or KEYSTORE_PASSWORD_FILE); never a flag',
  },
  readings: {
    env: 'READINGS',
    bool: true,
    help: 'submit meter readings (false: only open/close/settle; no oracle role needed)',
  },
  meterSource: {
    env: 'METER_SOURCE',
    arg: 'source',
    help:
      'required while READINGS=true: csv (METER_CSV_PATH), http (METER_HTTP_URL) or simulated (METER_SEED; ' +
      'invented readings, local and test chains only)',
  },
  meterSeed: { env: 'METER_SEED', arg: 'n', help: 'seed of the simulated meters' },
  meterCsvPath: { env: 'METER_CSV_PATH', arg: 'file', help: 'prosumer,window,importWh,exportWh rows' },
  meterHttpUrl: { env: 'METER_HTTP_URL', arg: 'url', help: 'meter data bus: GET <url>?window=<id>' },
  readingsBatch: { env: 'READINGS_BATCH', arg: 'n', help: 'readings per transaction' },
  closeBatch: { env: 'CLOSE_BATCH', arg: 'n', help: 'orders per closeWindow transaction' },
  settleBatch: { env: 'SETTLE_BATCH', arg: 'n', help: 'trades per settleWindow transaction' },
  lookbackWindows: {
    env: 'LOOKBACK_WINDOWS',
    arg: 'n',
    help: 'past windows walked each tick (older ones only through checkUpkeep)',
  },
  confirmations: {
    env: 'CONFIRMATIONS',
    arg: 'n',
    help: 'confirmations to wait for (the receipt is read again at that depth)',
  },
  pollIntervalMs: {
    env: 'POLL_INTERVAL_MS',
    arg: 'ms',
    help: 'longest sleep between ticks (the keeper also wakes at each window boundary)',
  },
  txTimeoutMs: { env: 'TX_TIMEOUT_MS', arg: 'ms', help: 'time before a pending transaction is replaced' },
  feeBumpPercent: {
    env: 'FEE_BUMP_PERCENT',
    arg: 'percent',
    help: 'raise of both fee fields per replacement (minimum 12.5)',
  },
  maxReplacements: {
    env: 'MAX_REPLACEMENTS',
    arg: 'n',
    help: 'replacements before giving up on a nonce (then the nonce is re-synced)',
  },
  maxFeePerGasWei: { env: 'MAX_FEE_PER_GAS_WEI', arg: 'wei', help: 'fee cap; replacements stop raising fees there' },
  minBalanceWei: { env: 'MIN_BALANCE_WEI', arg: 'wei', help: 'start-up fails below this signer balance' },
  metricsPort: {
    env: 'METRICS_PORT',
    arg: 'port',
    help: 'HTTP server for /metrics, /healthz, /readyz (0: any free port)',
  },
  metricsHost: { env: 'METRICS_HOST', arg: 'host', help: 'its address' },
  dryRun: { env: 'DRY_RUN', bool: true, help: 'simulate and log, never send' },
  logLevel: { env: 'LOG_LEVEL', arg: 'level', help: 'pino level (trace, debug, info, warn, error, fatal, silent)' },
  maxTicks: { env: 'MAX_TICKS', arg: 'n', help: 'stop after this many ticks (tests)' },
  relayer: { env: 'RELAYER', bool: true, help: 'run the relayer of signed orders (not with DRY_RUN)' },
  relayerPort: { env: 'RELAYER_PORT', arg: 'port', help: 'its HTTP API (0: any free port)' },
  relayerHost: { env: 'RELAYER_HOST', arg: 'host', help: 'its address' },
  relayIntervalMs: { env: 'RELAY_INTERVAL_MS', arg: 'ms', help: 'longest wait between batches' },
  relayBatch: {
    env: 'RELAY_BATCH',
    arg: 'n',
    help: 'orders per placeOrdersBySig (max 500); a full batch goes at once',
  },
  relayQueueMax: { env: 'RELAY_QUEUE_MAX', arg: 'n', help: 'accepted requests not yet sent; beyond it 429 QUEUE_FULL' },
  relayJournalPath: { env: 'RELAY_JOURNAL_PATH', arg: 'file', help: 'the journal (put it on a persistent volume)' },
  relayMaxBodyBytes: { env: 'RELAY_MAX_BODY_BYTES', arg: 'bytes', help: 'largest request body (413 BODY_TOO_LARGE)' },
  relayRateLimit: {
    env: 'RELAY_RATE_LIMIT',
    arg: 'n',
    help: 'requests a minute per prosumer address (429 RATE_LIMITED)',
  },
  relayCloseMarginS: {
    env: 'RELAY_CLOSE_MARGIN_S',
    arg: 's',
    help: 'refuse (WINDOW_CLOSING) when ordering ends within the interval + this',
  },
  shutdownGraceMs: {
    env: 'SHUTDOWN_GRACE_MS',
    arg: 'ms',
    help: "on SIGTERM, how long the in-flight action may finish (below Kubernetes' 30 s)",
  },
  readyProgressMs: {
    env: 'READY_PROGRESS_MS',
    arg: 'ms',
    help: '/readyz fails when no RPC read, sent or confirmed transaction completed within this time',
  },
} as const satisfies Record<ConfigKey, OptionSpec>;

/** Environment variable for each config key. */
export const envNames = Object.fromEntries(Object.entries(optionSpecs).map(([k, v]) => [k, v.env])) as Record<
  ConfigKey,
  string
>;

export const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const keys = Object.keys(optionSpecs) as ConfigKey[];
const spec = (key: ConfigKey): OptionSpec => optionSpecs[key];

/** The flags of `keeper run`, one per setting that is not a secret. */
export function addConfigOptions(command: Command): Command {
  for (const key of keys) {
    const s = spec(key);
    if (s.secret) continue;
    const flag = s.bool ? `--${kebab(key)} [bool]` : `--${kebab(key)} <${s.arg ?? 'value'}>`;
    const option = new Option(flag, `${s.help} [env ${s.env}]`);
    command.addOption(s.bool ? option.preset('true') : option);
    if (s.bool) command.addOption(new Option(`--no-${kebab(key)}`, `same as --${kebab(key)} false`));
  }
  return command;
}

/** Secret flags refused on the command line, whatever their form (`--private-key x`, `--private-key=x`). */
export function refuseSecretFlags(argv: readonly string[]): void {
  for (const key of keys) {
    const s = spec(key);
    if (!s.secret) continue;
    const flag = `--${kebab(key)}`;
    if (argv.some((a) => a === flag || a.startsWith(`${flag}=`))) {
      throw new ConfigError(
        `${flag} is refused on the command line (visible in ps and shell history): ` +
          `set ${s.env}_FILE to a file holding it, or ${s.env}`,
      );
    }
  }
}

/** `<VAR>_FILE` for secrets: the file's content (trimmed) stands for the variable. */
function secretFromFile(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const file = env[`${name}_FILE`];
  const direct = env[name];
  if (file === undefined || file === '') return direct === '' ? undefined : direct;
  if (direct !== undefined && direct !== '')
    throw new ConfigError(`invalid keeper configuration:\n  ${name}: set ${name} or ${name}_FILE, not both`);
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '?';
    throw new ConfigError(`invalid keeper configuration:\n  ${name}_FILE: cannot read ${file} (${code})`);
  }
}

/** Parses `argv` as the flags of `keeper run` (commander); ConfigError on an unknown or malformed flag. */
export function parseFlags(argv: readonly string[]): Record<string, string | undefined> {
  refuseSecretFlags(argv);
  const command = addConfigOptions(new Command('run'))
    .exitOverride()
    .allowExcessArguments(false)
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  try {
    command.parse([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) throw new ConfigError(error.message.replace(/^error: /, ''));
    throw error;
  }
  return command.opts<Record<string, string | undefined>>();
}

/**
 * The configuration from `env` and flag values (commander's `opts()`, keyed by camelCase name; flags win).
 * Throws a ConfigError listing every invalid setting by its variable name; never echoes secrets.
 */
export function configFromValues(env: NodeJS.ProcessEnv, flags: Record<string, unknown>): KeeperConfig {
  const raw: Record<string, unknown> = {};
  for (const key of keys) {
    const s = spec(key);
    const fromEnv = s.secret ? secretFromFile(env, s.env) : env[s.env] === '' ? undefined : env[s.env];
    const flag = typeof flags[key] === 'boolean' ? String(flags[key]) : flags[key]; // --no-readings gives false
    raw[key] = s.secret ? fromEnv : (flag ?? fromEnv);
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const key = issue.path[0] as ConfigKey | undefined;
      const s = key ? spec(key) : undefined;
      const name = s ? (s.secret ? s.env : `${s.env} (--${kebab(key as string)})`) : 'config';
      return `  ${name}: ${issue.message}`;
    });
    throw new ConfigError(`invalid keeper configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** Reads the configuration from `env` and `argv` flags (`--rpc-url`, `--dry-run`, ...; flags win). */
export function loadConfig(env: NodeJS.ProcessEnv, argv: readonly string[] = []): KeeperConfig {
  return configFromValues(env, parseFlags(argv));
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}
