// JSON logs (pino). Secrets never reach the logger: the config is logged through `redactConfig` (keys
// dropped, URLs redacted) and errors through a serializer that logs type, message and stack with every URL
// in them redacted.
import pino, { type DestinationStream, type Logger } from 'pino';
import type { KeeperConfig } from './config.js';
import { redactText, redactUrl } from './redact.js';

export type { Logger };

/** Redacts URLs in every string of a serialized error (message, stack, viem's url, metaMessages, cause, ...). */
function redactDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value);
  if (depth > 5 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v, depth + 1)]));
}

/** An error as `{ type, message, stack, ... }` (pino's serializer) with URLs redacted; non-errors as text. */
export function serializeError(error: unknown): unknown {
  if (!(error instanceof Error)) return redactText(String(error));
  return redactDeep(pino.stdSerializers.err(error));
}

export function createLogger(
  level: KeeperConfig['logLevel'],
  chainId: number,
  destination?: DestinationStream,
): Logger {
  const options = {
    level,
    base: { chainId },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['privateKey', 'keystorePassword', '*.privateKey', '*.keystorePassword'], censor: '[redacted]' },
    serializers: { err: serializeError, error: serializeError },
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return destination ? pino(options, destination) : pino(options);
}

const URL_KEYS = new Set<string>(['rpcUrl', 'rpcUrls', 'meterHttpUrl']);
const redactValue = (key: string, v: unknown): unknown => {
  if (typeof v === 'bigint') return v.toString();
  if (!URL_KEYS.has(key)) return v;
  if (typeof v === 'string') return redactUrl(v);
  return Array.isArray(v) ? v.map((u) => (typeof u === 'string' ? redactUrl(u) : u)) : v;
};

export function redactConfig(config: KeeperConfig): Record<string, unknown> {
  const { privateKey: _key, keystorePassword: _password, ...rest } = config;
  return Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, redactValue(k, v)]));
}
