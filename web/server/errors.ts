// API refusals: `{code, message}` with a 4xx status (the relayer's shape, so the page handles both alike).
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function refuse(c: Context, error: ApiError): Response {
  return c.json({ code: error.code, message: error.message }, error.status, { 'cache-control': 'no-store' });
}
