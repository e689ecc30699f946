// Web server configuration: environment variables validated with zod at start-up (clear message per setting).
import { z } from 'zod';

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte hex address');
const positiveInt = z.coerce.number().int().positive();

export const webConfigSchema = z
  .object({
    rpcUrl: z.url(),
    /** The RPC URL the browser uses (it reads the chain itself); RPC_URL when unset. */
    publicRpcUrl: z.url().optional(),
    chainId: positiveInt.optional(),
    marketAddress: address,
    relayerUrl: z.url(),
    startBlock: z.coerce.bigint().nonnegative().default(0n),
    port: z.coerce.number().int().min(0).max(65_535).default(8080),
    host: z.string().default('127.0.0.1'),
    /** The origin users open (scheme://host:port); SIWE messages must name its host. Request host when unset. */
    publicOrigin: z.url().optional(),
    sessionSecret: z.string().min(32, 'must be at least 32 characters').optional(),
    sessionTtlS: positiveInt.max(86_400).default(3600),
    dataSource: z.enum(['simulated', 'csv', 'http']).default('simulated'),
    dataSeed: z.coerce.number().int().default(7),
    dataCsvPath: z.string().min(1).optional(),
    dataHttpUrl: z.url().optional(),
    demoWallets: z.union([z.boolean(), z.stringbool()]).default(false),
    demoWalletFirstIndex: z.coerce.number().int().min(0).default(200),
    demoWalletCount: z.coerce.number().int().min(1).max(100).default(20),
    staticDir: z.string().min(1).optional(),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  })
  .refine((c) => c.dataSource !== 'csv' || c.dataCsvPath !== undefined, {
    message: 'DATA_SOURCE=csv needs DATA_CSV_PATH',
    path: ['dataCsvPath'],
  })
  .refine((c) => c.dataSource !== 'http' || c.dataHttpUrl !== undefined, {
    message: 'DATA_SOURCE=http needs DATA_HTTP_URL',
    path: ['dataHttpUrl'],
  });

export type WebConfig = z.infer<typeof webConfigSchema>;
export type WebConfigInput = z.input<typeof webConfigSchema>;

export const webEnvNames: Record<keyof WebConfigInput, string> = {
  rpcUrl: 'RPC_URL',
  publicRpcUrl: 'PUBLIC_RPC_URL',
  chainId: 'CHAIN_ID',
  marketAddress: 'MARKET_ADDRESS',
  relayerUrl: 'RELAYER_URL',
  startBlock: 'START_BLOCK',
  port: 'WEB_PORT',
  host: 'WEB_HOST',
  publicOrigin: 'PUBLIC_ORIGIN',
  sessionSecret: 'SESSION_SECRET',
  sessionTtlS: 'SESSION_TTL_S',
  dataSource: 'DATA_SOURCE',
  dataSeed: 'DATA_SEED',
  dataCsvPath: 'DATA_CSV_PATH',
  dataHttpUrl: 'DATA_HTTP_URL',
  demoWallets: 'DEMO_WALLETS',
  demoWalletFirstIndex: 'DEMO_WALLET_FIRST_INDEX',
  demoWalletCount: 'DEMO_WALLET_COUNT',
  staticDir: 'WEB_STATIC_DIR',
  logLevel: 'LOG_LEVEL',
};

export class WebConfigError extends Error {
  override name = 'WebConfigError';
}

/** Validates a config object (keys as in the schema); throws a WebConfigError naming each bad variable. */
export function parseWebConfig(input: Record<string, unknown>): WebConfig {
  const parsed = webConfigSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const key = issue.path[0] as keyof WebConfigInput | undefined;
    const missing = issue.code === 'invalid_type' && key !== undefined && input[key] === undefined;
    return `  ${key ? webEnvNames[key] : 'config'}: ${missing ? 'is required' : issue.message}`;
  });
  throw new WebConfigError(`invalid web configuration:\n${lines.join('\n')}`);
}

/** Reads the configuration from environment variables (empty values count as unset). */
export function webConfigFromEnv(env: NodeJS.ProcessEnv): WebConfig {
  const raw: Record<string, string | undefined> = {};
  for (const [key, name] of Object.entries(webEnvNames)) {
    const value = env[name];
    raw[key] = value === undefined || value.trim() === '' ? undefined : value.trim();
  }
  return parseWebConfig(raw);
}
