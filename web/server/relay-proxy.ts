// Forwards the page's relayer calls (/relayer/v1/...) to RELAYER_URL, so the browser needs no CORS from the
// relayer. It passes signed requests through untouched: the relayer and the market check every signature.
import { Hono } from 'hono';
import { ApiError } from './errors.js';

const MAX_BODY = 16_384;
const ALLOWED = /^\/v1\/(orders|cancels|permits|info|requests\/0x[0-9a-fA-F]{64}|orders\/\d{1,78}\/0x[0-9a-fA-F]{40})$/;

export function relayProxy(relayerUrl: string): Hono {
  const app = new Hono();
  const base = relayerUrl.replace(/\/$/, '');
  app.all('/*', async (c) => {
    const path = new URL(c.req.url).pathname.replace(/^\/relayer/, '');
    if (!ALLOWED.test(path)) throw new ApiError(404, 'NOT_FOUND', `no relayer route ${path}`);
    if (c.req.method !== 'GET' && c.req.method !== 'POST') throw new ApiError(405, 'METHOD_NOT_ALLOWED', 'GET or POST');
    const body = c.req.method === 'POST' ? await c.req.text() : undefined;
    if (body !== undefined && body.length > MAX_BODY) throw new ApiError(413, 'BODY_TOO_LARGE', 'body too large');
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method: c.req.method,
        headers: body === undefined ? {} : { 'content-type': c.req.header('content-type') ?? 'application/json' },
        body,
        signal: AbortSignal.timeout(15_000),
      });
    } catch {
      throw new ApiError(502, 'RELAYER_UNREACHABLE', 'the relayer does not answer; try again in a minute');
    }
    return new Response(await res.text(), {
      status: res.status,
      headers: { 'content-type': res.headers.get('content-type') ?? 'application/json', 'cache-control': 'no-store' },
    });
  });
  return app;
}
