import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { privateKeyToAccount } from 'viem/accounts';
import { afterEach, describe, expect, it } from 'vitest';
import { makeClients } from '../src/chain.js';
import { KeeperMetrics } from '../src/metrics.js';
import { metricValue } from './fixture.js';

type Scripted = { status: number; headers?: Record<string, string>; body: (id: unknown) => unknown };

/** A JSON-RPC endpoint that answers each request with the next scripted response (the last one repeats). */
async function scriptedRpc(script: Scripted[]): Promise<{ url: string; server: Server; times: number[] }> {
  const times: number[] = [];
  let i = 0;
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      times.push(Date.now());
      // The keeper batches JSON-RPC requests: answer an array with an array.
      const request = JSON.parse(raw) as { id: unknown } | { id: unknown }[];
      const step = script[Math.min(i++, script.length - 1)]!;
      res.writeHead(step.status, { 'content-type': 'application/json', ...step.headers });
      const body = Array.isArray(request) ? request.map((r) => step.body(r.id)) : step.body(request.id);
      res.end(JSON.stringify(step.status === 200 ? body : step.body(undefined)));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, times };
}

const rpcError = (code: number, message: string) => (id: unknown) => ({ jsonrpc: '2.0', id, error: { code, message } });
const account = privateKeyToAccount(`0x${'11'.repeat(32)}`);

describe('RPC retries (owned by the viem transport)', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  it('retries HTTP 429 (honouring Retry-After), -32005, -32603 and -32007, and counts the retries', async () => {
    const rpc = await scriptedRpc([
      { status: 429, headers: { 'retry-after': '1' }, body: () => ({ error: 'slow down' }) },
      { status: 200, body: rpcError(-32005, 'limit exceeded') },
      { status: 200, body: rpcError(-32603, 'internal error') },
      { status: 200, body: rpcError(-32007, '10/second request limit reached') },
      { status: 200, body: (id) => ({ jsonrpc: '2.0', id, result: '0x64' }) },
    ]);
    server = rpc.server;
    const metrics = new KeeperMetrics();
    const clients = makeClients(
      { rpcUrls: [rpc.url], chainId: 100, rpcRetryCount: 4, rpcRetryDelayMs: 10, rpcTimeoutMs: 5_000 },
      account,
      metrics,
    );
    expect(await clients.public.getChainId()).toBe(100);
    expect(rpc.times).toHaveLength(5);
    expect(rpc.times[1]! - rpc.times[0]!).toBeGreaterThanOrEqual(950); // Retry-After: 1
    expect(metricValue(await metrics.registry.metrics(), 'keeper_rpc_retries_total')).toBe(4);
    expect(clients.chain.name).toBe('Gnosis'); // chain 100 from viem/chains
  });

  it('gives up after RPC_RETRY_COUNT retries; a deterministic error is not retried', async () => {
    const rpc = await scriptedRpc([{ status: 503, body: () => ({}) }]);
    server = rpc.server;
    const metrics = new KeeperMetrics();
    const clients = makeClients(
      { rpcUrls: [rpc.url], chainId: 31337, rpcRetryCount: 2, rpcRetryDelayMs: 5, rpcTimeoutMs: 5_000 },
      account,
      metrics,
    );
    await expect(clients.public.getBlockNumber()).rejects.toThrow(/503|HTTP request failed/);
    expect(rpc.times).toHaveLength(3);

    const invalid = await scriptedRpc([{ status: 200, body: rpcError(-32602, 'invalid params') }]);
    const other = makeClients(
      { rpcUrls: [invalid.url], chainId: 31337, rpcRetryCount: 2, rpcRetryDelayMs: 5, rpcTimeoutMs: 5_000 },
      account,
      metrics,
    );
    await expect(other.public.getBlockNumber()).rejects.toThrow(/invalid params|Invalid parameters/);
    expect(invalid.times).toHaveLength(1);
    invalid.server.close();
  });

  it('falls back to the next RPC of RPC_URLS when the first one is down', async () => {
    const good = await scriptedRpc([{ status: 200, body: (id) => ({ jsonrpc: '2.0', id, result: '0x7a69' }) }]);
    server = good.server;
    const clients = makeClients(
      {
        rpcUrls: ['http://127.0.0.1:1', good.url],
        chainId: 31337,
        rpcRetryCount: 0,
        rpcRetryDelayMs: 5,
        rpcTimeoutMs: 2_000,
      },
      account,
      new KeeperMetrics(),
    );
    expect(await clients.public.getChainId()).toBe(31337);
    expect(good.times.length).toBeGreaterThanOrEqual(1);
  });
});
