// Agent configuration: environment variables (same conventions as keeper/src/config.ts), validated with zod at
// start-up; the households it acts for in a JSON file (AGENT_HOUSEHOLDS_PATH), one keystore per household.
// Keys and passwords are never logged.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { privateKeyToAccount } from 'viem/accounts';
import type { Hex } from 'viem';
import { ConfigError } from '../config.js';
import { decryptKeystore } from '../keystore.js';
import type { AgentHousehold } from './agent.js';

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte hex address');
const positiveInt = z.coerce.number().int().positive();
const uint = z.string().regex(/^[1-9][0-9]*$/, 'must be a positive integer (token base units per kWh), as a string');

export const agentSchema = z
  .object({
    rpcUrl: z.url(),
    chainId: positiveInt,
    marketAddress: address,
    relayerUrl: z.url(),
    householdsPath: z.string().min(1),
    statePath: z.string().min(1).default('agent-placements.jsonl'),
    forecastSource: z.enum(['simulated', 'csv', 'http']).default('simulated'),
    forecastSeed: z.coerce.number().int().default(1),
    forecastCsvPath: z.string().min(1).optional(),
    forecastHttpUrl: z.url().optional(),
    planSource: z.enum(['simulated', 'csv', 'http']).default('simulated'),
    planCsvPath: z.string().min(1).optional(),
    planHttpUrl: z.url().optional(),
    thresholdWh: z.coerce.bigint().nonnegative().default(50n),
    pollIntervalMs: positiveInt.default(5_000),
    closeMarginS: z.coerce.number().int().min(0).default(60),
    medianScanWindows: positiveInt.max(1_000).default(168),
    metricsPort: z.coerce.number().int().min(0).max(65_535).default(9466),
    metricsHost: z.string().default('127.0.0.1'),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  })
  .refine((c) => c.forecastSource !== 'csv' || c.forecastCsvPath !== undefined, {
    message: 'FORECAST_SOURCE=csv needs FORECAST_CSV_PATH',
    path: ['forecastCsvPath'],
  })
  .refine((c) => c.forecastSource !== 'http' || c.forecastHttpUrl !== undefined, {
    message: 'FORECAST_SOURCE=http needs FORECAST_HTTP_URL',
    path: ['forecastHttpUrl'],
  })
  .refine((c) => c.planSource !== 'csv' || c.planCsvPath !== undefined, {
    message: 'PLAN_SOURCE=csv needs PLAN_CSV_PATH',
    path: ['planCsvPath'],
  })
  .refine((c) => c.planSource !== 'http' || c.planHttpUrl !== undefined, {
    message: 'PLAN_SOURCE=http needs PLAN_HTTP_URL',
    path: ['planHttpUrl'],
  });

export type AgentConfig = z.infer<typeof agentSchema>;

export const agentEnvNames: Record<keyof z.input<typeof agentSchema>, string> = {
  rpcUrl: 'RPC_URL',
  chainId: 'CHAIN_ID',
  marketAddress: 'MARKET_ADDRESS',
  relayerUrl: 'RELAYER_URL',
  householdsPath: 'AGENT_HOUSEHOLDS_PATH',
  statePath: 'AGENT_STATE_PATH',
  forecastSource: 'FORECAST_SOURCE',
  forecastSeed: 'FORECAST_SEED',
  forecastCsvPath: 'FORECAST_CSV_PATH',
  forecastHttpUrl: 'FORECAST_HTTP_URL',
  planSource: 'PLAN_SOURCE',
  planCsvPath: 'PLAN_CSV_PATH',
  planHttpUrl: 'PLAN_HTTP_URL',
  thresholdWh: 'AGENT_THRESHOLD_WH',
  pollIntervalMs: 'AGENT_POLL_INTERVAL_MS',
  closeMarginS: 'AGENT_CLOSE_MARGIN_S',
  medianScanWindows: 'AGENT_MEDIAN_SCAN_WINDOWS',
  metricsPort: 'AGENT_METRICS_PORT',
  metricsHost: 'AGENT_METRICS_HOST',
  logLevel: 'LOG_LEVEL',
};

export function loadAgentConfig(env: NodeJS.ProcessEnv): AgentConfig {
  const keys = Object.keys(agentEnvNames) as (keyof typeof agentEnvNames)[];
  const raw = Object.fromEntries(keys.map((k) => [k, env[agentEnvNames[k]] || undefined]));
  const parsed = agentSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const key = issue.path[0] as keyof typeof agentEnvNames | undefined;
      return `  ${key ? agentEnvNames[key] : 'config'}: ${issue.message}`;
    });
    throw new ConfigError(`invalid agent configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

const price = z.discriminatedUnion('strategy', [
  z.object({ strategy: z.literal('fixed'), pricePerKWh: uint }),
  z.object({
    strategy: z.literal('median'),
    lastN: z.number().int().positive().max(1_000).default(24),
    bandPercent: z.number().min(0).max(100).default(5),
    fallbackPricePerKWh: uint,
  }),
]);

export const householdsSchema = z.object({
  households: z
    .array(
      z
        .object({
          keystore: z.string().min(1),
          /** Name of the environment variable holding the keystore password. */
          passwordEnv: z
            .string()
            .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
            .optional(),
          /** File holding the keystore password (first line). */
          passwordFile: z.string().min(1).optional(),
          mode: z.enum(['auto', 'manual']).default('auto'),
          price,
        })
        .strict()
        .refine((h) => (h.passwordEnv === undefined) !== (h.passwordFile === undefined), {
          message: 'set exactly one of passwordEnv, passwordFile',
        }),
    )
    .min(1),
});

/** Reads the households file and decrypts each keystore (paths relative to the file). */
export async function loadHouseholds(file: string, env: NodeJS.ProcessEnv): Promise<AgentHousehold[]> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`AGENT_HOUSEHOLDS_PATH ${file}: ${(error as Error).message}`);
  }
  const parsed = householdsSchema.safeParse(json);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid households file ${file}:\n${lines.join('\n')}`);
  }
  const dir = path.dirname(file);
  const out: AgentHousehold[] = [];
  const seen = new Set<string>();
  for (const [i, h] of parsed.data.households.entries()) {
    let password: string | undefined;
    if (h.passwordEnv !== undefined) password = env[h.passwordEnv];
    else password = (await readFile(path.resolve(dir, h.passwordFile as string), 'utf8')).split(/\r?\n/)[0];
    if (password === undefined) throw new ConfigError(`households.${i}: ${h.passwordEnv} is not set`);
    let key: Hex;
    try {
      key = await decryptKeystore(path.resolve(dir, h.keystore), password);
    } catch (error) {
      throw new ConfigError(`households.${i}: keystore ${h.keystore}: ${(error as Error).message}`);
    }
    const account = privateKeyToAccount(key);
    if (seen.has(account.address)) throw new ConfigError(`households.${i}: ${account.address} is listed twice`);
    seen.add(account.address);
    const strategy =
      h.price.strategy === 'fixed'
        ? { strategy: 'fixed' as const, pricePerKWh: BigInt(h.price.pricePerKWh) }
        : { ...h.price, fallbackPricePerKWh: BigInt(h.price.fallbackPricePerKWh) };
    out.push({ account, mode: h.mode, price: strategy });
  }
  return out;
}
