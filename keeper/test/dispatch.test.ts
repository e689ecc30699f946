// Results to the dispatcher: a fake dispatcher fails the first attempts, times out once, then acknowledges.
// Every settled window is acknowledged exactly once, the HMAC verifies, the payload matches its JSON Schema
// and the chain, and a kill -9 of the keeper between two windows loses nothing and repeats nothing.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MarketReader } from '../src/chain.js';
import { chainClient } from './chain-client.js';
import { loadDispatchConfig } from '../src/dispatch/config.js';
import type { ResultsPayload } from '../src/dispatch/payload.js';
import { idempotencyKey, signBody, verifySignature } from '../src/dispatch/sign.js';
import { startFakeDispatcher, payloadValidator, type Answer, type FakeDispatcher } from './dispatch-helpers.js';
import { HOUR, metricValue, setupMarket, type Fixture } from './fixture.js';
import { spawnKeeper, until, type KeeperProcess } from './process.js';
import { TOKEN_UNIT as TOKEN } from '../src/constants.js';

const SECRET = 'test-dispatcher-secret-0123456789';

describe('dispatcher config and signature', () => {
  it('needs the secret with the URL and never echoes it', () => {
    expect(loadDispatchConfig({})).toBeUndefined();
    expect(() => loadDispatchConfig({ DISPATCHER_URL: 'http://127.0.0.1:1/x' })).toThrow(/DISPATCHER_SECRET/);
    const url = 'http://127.0.0.1:1/x';
    expect(() => loadDispatchConfig({ DISPATCHER_URL: url, DISPATCHER_SECRET: 'short-secret' })).toThrow(
      /DISPATCHER_SECRET: must be at least 16/,
    );
    try {
      loadDispatchConfig({ DISPATCHER_URL: 'nope', DISPATCHER_SECRET: SECRET });
    } catch (error) {
      expect(String(error)).toMatch(/DISPATCHER_URL/);
      expect(String(error)).not.toContain(SECRET);
    }
    const c = loadDispatchConfig({ DISPATCHER_URL: url, DISPATCHER_SECRET: SECRET, DISPATCH_RETRIES: '3' });
    expect(c?.dispatchRetries).toBe(3);
    expect(c?.dispatchAcksPath).toBe('dispatch-acks.jsonl');
  });

  it('signs the raw body with HMAC-SHA256 (RFC 4231 test case 2)', () => {
    expect(signBody('what do ya want for nothing?', 'Jefe')).toBe(
      'sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
    expect(verifySignature('{"a":1}', SECRET, signBody('{"a":1}', SECRET))).toBe(true);
    expect(verifySignature('{"a":2}', SECRET, signBody('{"a":1}', SECRET))).toBe(false);
    expect(idempotencyKey(31337, '0x5fbdb2315678afecb367f032d93f642f64180aa3', 3600n)).toBe(
      '31337:0x5FbDB2315678afecb367f032d93F642f64180aa3:3600',
    );
  });
});

describe('results to the dispatcher, keeper killed in between', () => {
  let f: Fixture;
  let reader: MarketReader;
  let dispatcher: FakeDispatcher;
  let running: KeeperProcess | undefined;
  let dir: string;
  let releaseSecond = false;
  const metricsPort = 20_000 + Math.floor(Math.random() * 20_000);
  const key = (w: bigint) => idempotencyKey(f.anvil.chainId, f.deployment.market, w);
  const env = () =>
    f.keeperEnv({
      LOG_LEVEL: 'info',
      METRICS_PORT: String(metricsPort),
      DISPATCHER_URL: dispatcher.url,
      DISPATCHER_SECRET: SECRET,
      DISPATCH_ACKS_PATH: path.join(dir, 'acks.jsonl'),
      DISPATCH_TIMEOUT_MS: '400',
      DISPATCH_RETRIES: '20',
    });

  beforeAll(async () => {
    f = await setupMarket({ prosumers: 4, startHour: 11 });
    reader = new MarketReader(chainClient(f), f.deployment.market);
    dir = await mkdtemp(path.join(tmpdir(), 'dispatch-'));
    const first = () => key(f.start);
    dispatcher = await startFakeDispatcher(SECRET, (k, attempt): Answer => {
      if (k === first()) return attempt <= 2 ? 'fail' : attempt === 3 ? 'hang' : 'ack';
      return releaseSecond ? 'ack' : 'fail';
    });
  });

  afterAll(async () => {
    running?.child.kill('SIGKILL');
    await dispatcher?.close();
    await f?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('acknowledges every settled window exactly once', async () => {
    const [w0, w1] = [f.start, f.start + HOUR];
    const p = f.prosumers;
    await f.setTime(w0 + 5n);
    running = spawnKeeper(env());
    await until('w0 open', async () => (await reader.window(w0)).status === 'Open');
    await f.placeOrder(p[0]!, w0, 0, 1000n, 25n * TOKEN);
    await f.placeOrder(p[1]!, w0, 0, 800n, 23n * TOKEN);
    await f.placeOrder(p[2]!, w0, 1, 1200n, 18n * TOKEN);
    await f.placeOrder(p[3]!, w0, 1, 700n, 20n * TOKEN);
    await f.setTime(w1 + 5n);
    await until('w1 open', async () => (await reader.window(w1)).status === 'Open');
    await f.placeOrder(p[0]!, w1, 0, 500n, 30n * TOKEN);
    await f.placeOrder(p[1]!, w1, 0, 500n, 21n * TOKEN);
    await f.placeOrder(p[2]!, w1, 1, 400n, 19n * TOKEN);
    await f.placeOrder(p[3]!, w1, 1, 900n, 22n * TOKEN);
    await f.setTime(w0 + 3n * HOUR + 5n);

    // w0: two failures, one timeout, then the ack; w1 fails until the keeper is killed.
    await until('w1 attempted', async () => dispatcher.received.some((r) => r.key === key(w1)), 90_000);
    expect(dispatcher.acks.get(key(w0))).toBe(1);
    running.child.kill('SIGKILL');
    await running.exited;
    expect((await readFile(path.join(dir, 'acks.jsonl'), 'utf8')).trim().split('\n')).toHaveLength(1);

    releaseSecond = true;
    running = spawnKeeper(env());
    await until('w1 acknowledged', async () => dispatcher.acks.get(key(w1)) === 1, 60_000);
    const body = await until('metrics', async () => {
      const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).catch(() => undefined);
      const text = res ? await res.text() : '';
      return metricValue(text, 'keeper_dispatch_pending_windows') === 0 ? text : undefined;
    });
    expect(metricValue(body, 'keeper_dispatch_total{result="acknowledged"}')).toBe(1);
    await new Promise((r) => setTimeout(r, 1500)); // several passes of the dispatcher loop
    running.child.kill('SIGTERM');
    expect(await running.exited).toBe(0);
    expect(running.output()).toContain('results acknowledged by the dispatcher');
    expect(running.output()).not.toContain(SECRET);
    running = undefined;

    // Exactly once each; nothing sent after its ack; every request signed.
    expect([...dispatcher.acks.entries()]).toEqual([
      [key(w0), 1],
      [key(w1), 1],
    ]);
    expect(dispatcher.received.every((r) => r.signed)).toBe(true);
    const answers = (k: string) => dispatcher.received.filter((r) => r.key === k).map((r) => r.answer);
    expect(answers(key(w0))).toEqual(['fail', 'fail', 'hang', 'ack']);
    expect(answers(key(w1)).at(-1)).toBe('ack');
    expect(answers(key(w1)).filter((a) => a === 'ack')).toHaveLength(1);
    expect(answers(key(w1)).length).toBeGreaterThanOrEqual(2);

    const validate = payloadValidator();
    const a = (i: number): Address => p[i]!.address;
    const expected = {
      [key(w0)]: {
        w: w0,
        price: 20n * TOKEN,
        energy: 1800n,
        trades: [
          [0, 2, 1000n],
          [1, 2, 200n],
          [1, 3, 600n],
        ],
      },
      [key(w1)]: {
        w: w1,
        price: 22n * TOKEN,
        energy: 500n,
        trades: [
          [0, 2, 400n],
          [0, 3, 100n],
        ],
      },
    } as const;
    for (const r of dispatcher.received) {
      const payload = JSON.parse(r.body) as ResultsPayload;
      expect(validate(payload), JSON.stringify(validate.errors)).toBe(true);
      const e = expected[r.key]!;
      expect(payload.windowId).toBe(e.w.toString());
      expect(payload.windowStart).toBe(new Date(Number(e.w) * 1000).toISOString());
      expect(payload.market).toBe(f.deployment.market);
      expect(payload.chainId).toBe(f.anvil.chainId);
      expect(payload.clearingPrice).toBe(e.price.toString());
      expect(payload.clearedEnergyWh).toBe(e.energy.toString());
      expect(payload.trades).toHaveLength(e.trades.length);
      for (const [index, [buyer, seller, energy]] of e.trades.entries()) {
        const onChain = await reader.trade(e.w, BigInt(index));
        const status = onChain.status;
        expect(payload.trades[index]).toEqual({
          index,
          buyer: a(buyer),
          buyerProsumerId: String(buyer + 1),
          seller: a(seller),
          sellerProsumerId: String(seller + 1),
          energyWh: energy.toString(),
          status,
          reason: onChain.reason,
          cost: status === 'Accepted' ? ((energy * e.price) / 1000n).toString() : '0',
        });
      }
    }
  });
});
