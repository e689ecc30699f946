// Retry policy. RPC calls: viem's transport owns the retries (chain.ts: RPC_RETRY_COUNT, RPC_RETRY_DELAY_MS,
// Retry-After), so an error from viem is never retried again here (attempts would multiply). p-retry
// (`withRetry`) retries the rest: the meter bus and other outbound HTTP. Reverts abort at once.
import pRetry, { AbortError } from 'p-retry';
import { BaseError, HttpRequestError, TimeoutError } from 'viem';

/** JSON-RPC codes viem's transport retries: rate limits (-32005, -32007 QuickNode, 429) and internal errors. */
const RETRYABLE_RPC_CODES = new Set([-1, -32005, -32603, -32007, 429]);
const RETRYABLE_HTTP_STATUS = new Set([403, 408, 413, 429, 500, 502, 503, 504]);

/** What viem's transport retries (mirrors viem's shouldRetry): counted as `keeper_rpc_retries_total`. */
export function isRetryableRpcError(error: unknown): boolean {
  if (!(error instanceof BaseError)) return true; // a network failure
  // RpcError subclasses and viem's RpcRequestError both carry the JSON-RPC code.
  const code = (e: unknown) => (e as { code?: unknown }).code;
  const rpc = error.walk((e) => typeof code(e) === 'number' && RETRYABLE_RPC_CODES.has(code(e) as number));
  const httpError = error.walk((e) => e instanceof HttpRequestError) as HttpRequestError | null;
  if (rpc) return true;
  if (httpError) return httpError.status === undefined || RETRYABLE_HTTP_STATUS.has(httpError.status);
  return error.walk((e) => e instanceof TimeoutError) !== null;
}

/** True for failures worth retrying here: network errors and timeouts of outbound HTTP; never a viem error. */
export function isTransient(error: unknown): boolean {
  if (error instanceof BaseError) return false; // viem's transport has retried it already
  const text = String((error as { message?: string })?.message ?? error);
  return (
    /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|socket hang up|fetch failed|network|timeout/i.test(text) &&
    !/revert/i.test(text)
  );
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
