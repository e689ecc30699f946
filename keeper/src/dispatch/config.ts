// Dispatcher output settings: environment variables, validated with zod at start-up (same conventions as
// keeper/src/config.ts). Unset DISPATCHER_URL: no output. DISPATCHER_SECRET is never logged.
import { z } from 'zod';
import { ConfigError } from '../config.js';

const positiveInt = z.coerce.number().int().positive();

export const dispatchSchema = z
  .object({
    dispatcherUrl: z.url().optional(),
    dispatcherSecret: z.string().min(16, 'must be at least 16 characters').optional(),
    dispatchAcksPath: z.string().min(1).default('dispatch-acks.jsonl'),
    dispatchTimeoutMs: positiveInt.default(10_000),
    dispatchRetries: z.coerce.number().int().min(0).default(5),
    dispatchLookbackWindows: positiveInt.default(48),
    dispatchIntervalMs: positiveInt.default(15_000),
  })
  .refine((c) => c.dispatcherUrl === undefined || c.dispatcherSecret !== undefined, {
    message: 'DISPATCHER_URL needs DISPATCHER_SECRET (the HMAC key of X-Market-Signature)',
    path: ['dispatcherSecret'],
  });

export type DispatchConfig = z.infer<typeof dispatchSchema> & { dispatcherUrl: string; dispatcherSecret: string };

export const dispatchEnvNames: Record<keyof z.input<typeof dispatchSchema>, string> = {
  dispatcherUrl: 'DISPATCHER_URL',
  dispatcherSecret: 'DISPATCHER_SECRET',
  dispatchAcksPath: 'DISPATCH_ACKS_PATH',
  dispatchTimeoutMs: 'DISPATCH_TIMEOUT_MS',
  dispatchRetries: 'DISPATCH_RETRIES',
  dispatchLookbackWindows: 'DISPATCH_LOOKBACK_WINDOWS',
  dispatchIntervalMs: 'DISPATCH_INTERVAL_MS',
};

/** The dispatcher settings from `env`; undefined when DISPATCHER_URL is unset. Throws ConfigError (no secrets). */
export function loadDispatchConfig(env: NodeJS.ProcessEnv): DispatchConfig | undefined {
  const keys = Object.keys(dispatchEnvNames) as (keyof typeof dispatchEnvNames)[];
  const value = (k: keyof typeof dispatchEnvNames) => env[dispatchEnvNames[k]] || undefined;
  const raw = Object.fromEntries(keys.map((k) => [k, value(k)]));
  const parsed = dispatchSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const key = issue.path[0] as keyof typeof dispatchEnvNames | undefined;
      return `  ${key ? dispatchEnvNames[key] : 'config'}: ${issue.message}`;
    });
    throw new ConfigError(`invalid dispatcher configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  if (c.dispatcherUrl === undefined || c.dispatcherSecret === undefined) return undefined;
  return { ...c, dispatcherUrl: c.dispatcherUrl, dispatcherSecret: c.dispatcherSecret };
}
