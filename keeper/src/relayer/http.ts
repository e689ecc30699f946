// The relayer's HTTP API (node:http). Bodies are bounded (RELAY_MAX_BODY_BYTES), JSON only; every refusal is
// `{code, message}` with a 4xx (5xx only when the chain cannot be read or the journal cannot be written).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Address, Hex } from 'viem';
import type { Logger } from '../log.js';
import type { Relayer } from './index.js';
import { itemJson } from './index.js';
import { Refusal, type Kind } from './types.js';

/** Bytes read (and thrown away) from an oversized body before the connection is dropped. */
const DRAIN_LIMIT = 1_048_576;

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(text);
}

function refuse(res: ServerResponse, refusal: Refusal): void {
  send(
    res,
    refusal.status,
    { code: refusal.code, message: refusal.message, ...refusal.extra },
    refusal.status === 429 ? { 'retry-after': '60' } : {},
  );
}

/** Reads the body up to `max` bytes; a longer one is drained (up to DRAIN_LIMIT) and refused with 413. */
function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = declared > max;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) tooLarge = true;
      if (tooLarge) {
        chunks.length = 0;
        if (size > DRAIN_LIMIT) req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (tooLarge) reject(new Refusal(413, 'BODY_TOO_LARGE', `the body must be at most ${max} bytes`));
      else resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new Refusal(400, 'ABORTED', 'the request was not sent completely'));
    });
  });
}

const POST_ROUTES: Record<string, Kind> = { '/v1/orders': 'order', '/v1/cancels': 'cancel', '/v1/permits': 'permit' };

async function accept(
  relayer: Relayer,
  kind: Kind,
  req: IncomingMessage,
  res: ServerResponse,
  maxBody: number,
): Promise<void> {
  const text = await readBody(req, maxBody); // read (bounded) first, so the connection stays usable
  const type = String(req.headers['content-type'] ?? '');
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new Refusal(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the body as content-type: application/json');
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Refusal(400, 'MALFORMED_JSON', 'the body is not valid JSON');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new Refusal(400, 'INVALID_BODY', 'the body must be a JSON object');
  }
  const id = await relayer.submit(kind, body);
  return send(res, 202, { id, status: 'queued' });
}

async function handle(relayer: Relayer, req: IncomingMessage, res: ServerResponse, maxBody: number): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://relayer');
  const path = url.pathname;
  const kind = POST_ROUTES[path];
  if (kind && req.method === 'POST') {
    try {
      return await accept(relayer, kind, req, res, maxBody);
    } catch (error) {
      relayer.refused(kind);
      throw error;
    }
  }
  if (kind) throw new Refusal(405, 'METHOD_NOT_ALLOWED', `${path} takes POST`);
  if (req.method !== 'GET') throw new Refusal(405, 'METHOD_NOT_ALLOWED', `${path} takes GET`);
  if (path === '/v1/info') {
    const i = relayer.info;
    return send(res, 200, {
      chainId: i.chainId,
      market: i.market,
      token: i.token,
      domain: { ...i.marketDomain, chainId: i.chainId },
      tokenDomain: { ...i.tokenDomain, chainId: i.chainId },
      maxEnergyWh: i.maxEnergyWh.toString(),
      maxPricePerKWh: i.maxPricePerKWh.toString(),
      windowDuration: i.windowDuration.toString(),
    });
  }
  const order = /^\/v1\/orders\/([0-9]{1,78})\/(0x[0-9a-fA-F]{40})$/.exec(path);
  if (order) {
    const item = relayer.latestOrder(BigInt(order[1]!), order[2] as Address);
    if (!item) throw new Refusal(404, 'NOT_FOUND', `no order of ${order[2]} for window ${order[1]} was accepted`);
    return send(res, 200, itemJson(item));
  }
  const request = /^\/v1\/requests\/(0x[0-9a-fA-F]{64})$/.exec(path);
  if (request) {
    const item = relayer.get(request[1]!.toLowerCase() as Hex);
    if (!item) throw new Refusal(404, 'NOT_FOUND', `no request ${request[1]} was accepted`);
    return send(res, 200, itemJson(item));
  }
  throw new Refusal(404, 'NOT_FOUND', `no route ${path}`);
}

export function startRelayServer(
  relayer: Relayer,
  port: number,
  host: string,
  maxBody: number,
  log: Logger,
): Promise<Server> {
  const server = createServer({ maxHeaderSize: 8_192, requestTimeout: 15_000, headersTimeout: 10_000 }, (req, res) => {
    handle(relayer, req, res, maxBody).catch((error: unknown) => {
      if (res.headersSent) return;
      if (error instanceof Refusal) return refuse(res, error);
      log.error({ err: error }, 'relayer request failed');
      refuse(res, new Refusal(500, 'INTERNAL', 'the request could not be recorded; it was not accepted'));
    });
  });
  server.keepAliveTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
