// JSON logs (pino). Secrets never reach the logger: the config is logged through `redactConfig`.
import pino, { type Logger } from 'pino';
import type { KeeperConfig } from './config.js';

export type { Logger };

export function createLogger(level: KeeperConfig['logLevel'], chainId: number): Logger {
  return pino({
    level,
    base: { chainId },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['privateKey', 'keystorePassword', '*.privateKey', '*.keystorePassword'], censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
  });
}

export function redactConfig(config: KeeperConfig): Record<string, unknown> {
  const { privateKey: _key, keystorePassword: _password, ...rest } = config;
  return Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v]));
}
