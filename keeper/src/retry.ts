// Retry policy: p-retry owns retries of transient RPC failures (viem's own transport retries are off);
// reverts and other deterministic failures abort at once.
import pRetry, { AbortError } from 'p-retry';
import { BaseError, ContractFunctionRevertedError, HttpRequestError, TimeoutError } from 'viem';

/** True for failures worth retrying: network errors, timeouts, 429/5xx, connection refused. */
export function isTransient(error: unknown): boolean {
  if (error instanceof BaseError) {
    if (error.walk((e) => e instanceof ContractFunctionRevertedError)) return false;
    const http = error.walk((e) => e instanceof HttpRequestError) as HttpRequestError | null;
    if (http) return http.status === undefined || http.status === 429 || http.status >= 500;
    if (error.walk((e) => e instanceof TimeoutError)) return true;
  }
  const text = String((error as { message?: string })?.message ?? error);
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|socket hang up|fetch failed|network|timeout/i.test(text) &&
    !/revert/i.test(text);
}

export interface RetryOptions {
  retries?: number;
  onRetry?: (error: unknown, attempt: number) => void;
}

export async function withRetry<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  return pRetry(
    async () => {
      try {
        return await fn();
      } catch (error) {
        if (!isTransient(error)) throw new AbortError(error instanceof Error ? error : new Error(String(error)));
        throw error;
      }
    },
    {
      retries: options.retries ?? 5,
      minTimeout: 200,
      maxTimeout: 5_000,
      randomize: true,
      onFailedAttempt: ({ error, attemptNumber }) => options.onRetry?.(error, attemptNumber),
    },
  );
}
