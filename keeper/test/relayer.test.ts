// The relayer in the keeper process, on anvil: gasless households sign permits and orders; the relayer places
// them; the window clears and settles exactly like the same orders placed directly. Forged, replayed and
// front-run orders, bad requests.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  createTestClient,
  createWalletClient,
  http,
  maxUint256,
  parseEther,
  parseEventLogs,
  zeroAddress,
  type Address,
} from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { energyMarketAbi, energyTokenAbi, prosumerRegistryAbi, RejectReason, TradeStatus } from '@p2p-energy/sdk';
import { createKeeperApp, type KeeperApp } from '../src/app.js';
import { makeChain } from '../src/chain.js';
import type { MeterSource, ProsumerContext, RawReading } from '../src/meters/types.js';
import type { Relayer } from '../src/relayer/index.js';
import { reasonName } from '../src/relayer/reasons.js';
import { HOUR, marketEvents, metricValue, setupMarket, type Fixture, type Prosumer } from './fixture.js';
import { settleModel, type ModelTrade, type Outcome } from './model.js';
import { cancelBody, get, orderBody, permitBody, post, signOrder, type OrderFields } from './relayer-helpers.js';
import { TOKEN_UNIT as TOKEN } from '../src/constants.js';

const N = 20;
const BUYERS = 10;

/** The same readings for every window: buyer 1 imports too little, seller 12 exports too little, buyer 2 has none. */
class FixedMeters implements MeterSource {
  readonly name = 'fixed';
  constructor(private readonly prosumers: Prosumer[]) {}
  async fetch(_windowId: bigint, _duration: number, contexts: ProsumerContext[]): Promise<RawReading[]> {
    const index = (a: Address) => this.prosumers.findIndex((p) => p.address === a);
    return contexts
      .filter((c) => index(c.account) !== 2)
      .map((c) => {
        const i = index(c.account);
        if (i < BUYERS) return { prosumer: c.account, importWh: i === 1 ? 50n : 1000n, exportWh: 0n };
        return { prosumer: c.account, importWh: 0n, exportWh: i === BUYERS + 2 ? 60n : 2000n };
      });
  }
}

/** Buyers 0-9 at 30..27 tokens/kWh (ties), sellers 10-19 at 18..22. */
function orderOf(i: number, windowId: bigint): OrderFields {
  if (i < BUYERS)
    return {
      windowId,
      side: 0,
      energyWh: 100n + 20n * BigInt(i),
      pricePerKWh: BigInt(30 - (i % 4)) * TOKEN,
      nonce: 0n,
    };
  return { windowId, side: 1, energyWh: 150n, pricePerKWh: BigInt(18 + (i % 5)) * TOKEN, nonce: 0n };
}
/** Submission (= placement) order: interleaved, so the hints of a batch depend on its own earlier orders. */
const SUBMISSION = [13, 2, 17, 0, 9, 11, 5, 19, 4, 10, 7, 15, 1, 12, 8, 18, 3, 14, 6, 16];

interface WindowResult {
  price: bigint;
  energy: bigint;
  trades: ModelTrade[];
  settled: Outcome[];
}

describe('relayer', () => {
  let f: Fixture;
  let app: KeeperApp;
  let relayer: Relayer;
  let base: string;
  let journal: string;
  let dir: string;
  const testClient = () =>
    createTestClient({ chain: makeChain(f.anvil.chainId, f.anvil.url), transport: http(f.anvil.url), mode: 'anvil' });
  const adminWallet = () =>
    createWalletClient({
      chain: makeChain(f.anvil.chainId, f.anvil.url),
      transport: http(f.anvil.url),
      account: f.admin,
    });
  const market = () => f.deployment.market;
  const read = {
    nonce: (w: bigint, p: Address) =>
      f.publicClient.readContract({
        address: market(),
        abi: energyMarketAbi,
        functionName: 'orderNonce',
        args: [w, p],
      }),
    order: (w: bigint, p: Address) =>
      f.publicClient.readContract({ address: market(), abi: energyMarketAbi, functionName: 'getOrder', args: [w, p] }),
    balance: (p: Address) =>
      f.publicClient.readContract({
        address: f.deployment.token,
        abi: energyTokenAbi,
        functionName: 'balanceOf',
        args: [p],
      }),
    allowance: (p: Address) =>
      f.publicClient.readContract({
        address: f.deployment.token,
        abi: energyTokenAbi,
        functionName: 'allowance',
        args: [p, market()],
      }),
  };
  const metrics = async () => app.metrics.registry.metrics();
  const currentWindow = async () => {
    const now = await f.now();
    return now - (now % HOUR);
  };

  /** Sends placeOrdersBySig straight to the market (from the admin); returns the SignedOrderRejected reasons. */
  async function straightToMarket(body: Record<string, string>): Promise<string[]> {
    const hash = await adminWallet().writeContract({
      address: market(),
      abi: energyMarketAbi,
      functionName: 'placeOrdersBySig',
      args: [
        [
          {
            prosumer: body.prosumer as Address,
            windowId: BigInt(body.windowId!),
            side: body.side === 'buy' ? 0 : 1,
            energyWh: BigInt(body.energyWh!),
            pricePerKWh: BigInt(body.pricePerKWh!),
            nonce: BigInt(body.nonce!),
            hintPrev: zeroAddress,
            signature: body.signature as `0x${string}`,
          },
        ],
      ],
    });
    const receipt = await f.publicClient.waitForTransactionReceipt({ hash });
    expect(receipt.status).toBe('success');
    return parseEventLogs({ abi: energyMarketAbi, logs: receipt.logs, eventName: 'SignedOrderRejected' }).map((e) =>
      reasonName(e.args.reason),
    );
  }

  async function windowResult(w: bigint): Promise<WindowResult> {
    const window = await app.reader.window(w);
    const trades: ModelTrade[] = [];
    for (let i = 0n; i < window.tradeCount; i++) {
      const t = await app.reader.trade(w, i);
      trades.push({ buyer: t.buyer, seller: t.seller, energyWh: t.energyWh });
    }
    const events = (await marketEvents(f, 'TradeSettled')) as unknown as {
      args: { windowId: bigint; tradeIndex: bigint; status: number; reason: number; cost: bigint };
    }[];
    const settled = events
      .filter((e) => e.args.windowId === w)
      .sort((a, b) => Number(a.args.tradeIndex - b.args.tradeIndex))
      .map((e) => ({
        status: TradeStatus[e.args.status] as Outcome['status'],
        reason: RejectReason[e.args.reason] as Outcome['reason'],
        cost: e.args.cost,
      }));
    return { price: window.clearingPrice, energy: window.clearedEnergyWh, trades, settled };
  }

  /** The settlement model's outcomes: readings from the chain, spendable = min(balance, allowance). */
  async function modelOutcomes(w: bigint, result: WindowResult): Promise<Outcome[]> {
    const readings = new Map<Address, { importWh: bigint; exportWh: bigint }>();
    const spendable = new Map<Address, bigint>();
    for (const p of f.prosumers.slice(0, N)) {
      const r = await app.reader.reading(w, p.address);
      if (r.submitted) readings.set(p.address, { importWh: r.importWh, exportWh: r.exportWh });
      const [balance, allowance] = [await read.balance(p.address), await read.allowance(p.address)];
      spendable.set(p.address, balance < allowance ? balance : allowance);
    }
    return settleModel(result.trades, result.price, readings, spendable);
  }

  beforeAll(async () => {
    f = await setupMarket({
      prosumers: N + 6,
      gasless: true,
      startHour: 11,
      assets: (i) => (i < BUYERS ? { pvPeakW: 300n, batteryPowerW: 200n } : { pvPeakW: 8000n, batteryPowerW: 3000n }),
    });
    dir = await mkdtemp(path.join(tmpdir(), 'relayer-'));
    journal = path.join(dir, 'journal.jsonl');
    app = await createKeeperApp(
      f.keeperConfig({
        RELAYER: 'true',
        RELAYER_PORT: '0',
        RELAY_INTERVAL_MS: '600000', // batches are driven by the test (relayer.flush())
        RELAY_BATCH: '10',
        RELAY_JOURNAL_PATH: journal,
        RELAY_RATE_LIMIT: '40',
        METRICS_PORT: '0',
      }),
      { meters: new FixedMeters(f.prosumers) },
    );
    await app.keeper.startupChecks();
    await f.setTime(f.start + 5n);
    await app.keeper.tick(); // opens the first window
    relayer = (await app.startRelayer()) as Relayer;
    base = `http://127.0.0.1:${relayer.port}`;
  });

  afterAll(async () => {
    await app?.shutdown(0);
    await f?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('places gasless orders and permits; the window settles like the same orders placed directly', async () => {
    const w0 = f.start;
    const w1 = w0 + HOUR;
    const prosumers = f.prosumers.slice(0, N);
    for (const p of prosumers) expect(await f.publicClient.getBalance({ address: p.address })).toBe(0n);

    // Permits: unlimited allowance for all but buyer 0, who allows 1 base unit (its trades: InsufficientFunds).
    const deadline = (await f.now()) + 10n * HOUR;
    const permitIds: string[] = [];
    for (const [i, p] of prosumers.entries()) {
      const reply = await post(
        base,
        '/v1/permits',
        await permitBody(f, p, { deadline, value: i === 0 ? 1n : maxUint256 }),
      );
      expect(reply.status).toBe(202);
      permitIds.push(reply.body.id!);
    }
    expect(metricValue(await metrics(), 'keeper_relay_queue_depth')).toBe(N);
    // The 10th order (RELAY_BATCH) wakes the batch loop: permits go first, then orders in batches of 10.
    const ids: string[] = [];
    for (const i of SUBMISSION) {
      const reply = await post(base, '/v1/orders', await orderBody(f, prosumers[i]!, orderOf(i, w0)));
      expect(reply).toEqual({ status: 202, body: { id: expect.stringMatching(/^0x[0-9a-f]{64}$/), status: 'queued' } });
      ids.push(reply.body.id!);
    }
    const queued = await get(base, `/v1/orders/${w0}/${prosumers[13]!.address}`);
    expect(queued.body).toMatchObject({ id: ids[0], status: 'queued', side: 'sell', energyWh: '150', nonce: '0' });
    // Everything accepted is on disk before the 202.
    const lines = (await readFile(journal, 'utf8')).trim().split('\n');
    expect(lines.filter((l) => l.includes('"t":"accept"'))).toHaveLength(2 * N);

    await relayer.flush(); // the round the 10th order started (or a new one)
    await relayer.flush();

    // Permits relayed one transaction each; allowances as signed.
    for (const [i, p] of prosumers.entries()) {
      const status = await get(base, `/v1/requests/${permitIds[i]}`);
      expect(status.body).toMatchObject({ kind: 'permit', status: 'relayed', txHash: expect.stringMatching(/^0x/) });
      expect(await read.allowance(p.address)).toBe(i === 0 ? 1n : maxUint256);
    }
    // Orders: two batches of 10 (RELAY_BATCH), in submission order, all placed.
    const statuses = await Promise.all(SUBMISSION.map((i) => get(base, `/v1/orders/${w0}/${prosumers[i]!.address}`)));
    const txs = statuses.map((s) => s.body.txHash);
    for (const s of statuses)
      expect(s.body).toMatchObject({ status: 'placed', blockNumber: expect.stringMatching(/^\d+$/) });
    expect(new Set(txs.slice(0, 10)).size).toBe(1);
    expect(new Set(txs.slice(10)).size).toBe(1);
    expect(txs[0]).not.toBe(txs[10]);
    for (const hash of new Set(txs)) {
      const receipt = await f.publicClient.getTransactionReceipt({ hash: hash as `0x${string}` });
      const events = parseEventLogs({ abi: energyMarketAbi, logs: receipt.logs });
      expect(events.filter((e) => e.eventName === 'OrderPlaced')).toHaveLength(10);
      expect(events.filter((e) => e.eventName === 'SignedOrderRejected')).toHaveLength(0);
      expect(receipt.from.toLowerCase()).toBe(app.sender.address.toLowerCase());
    }
    for (const i of SUBMISSION) {
      const [side, energyWh, pricePerKWh, , live] = await read.order(w0, prosumers[i]!.address);
      const o = orderOf(i, w0);
      expect([side, energyWh, pricePerKWh, live]).toEqual([o.side, o.energyWh, o.pricePerKWh, true]);
    }
    // The households never held or spent ether.
    for (const p of prosumers) {
      expect(await f.publicClient.getBalance({ address: p.address })).toBe(0n);
      expect(await f.publicClient.getTransactionCount({ address: p.address })).toBe(0);
    }
    const body = await metrics();
    expect(metricValue(body, 'keeper_relay_orders_total{result="accepted"}')).toBe(N);
    expect(metricValue(body, 'keeper_relay_orders_total{result="placed"}')).toBe(N);
    expect(metricValue(body, 'keeper_relay_orders_total{result="rejected"}')).toBe(0);
    expect(metricValue(body, 'keeper_relay_queue_depth')).toBe(0);
    expect(metricValue(body, 'keeper_relay_batch_size_count')).toBe(2);
    expect(metricValue(body, 'keeper_relay_batch_size_sum')).toBe(N);
    expect(metricValue(body, 'keeper_relay_gas_per_order_count')).toBe(2);
    const gasPerOrder = metricValue(body, 'keeper_relay_gas_per_order_sum') / 2;
    expect(gasPerOrder).toBeGreaterThan(30_000);
    expect(gasPerOrder).toBeLessThan(90_000);

    // Close w0 (and open w1); the same orders in the same order, placed directly by the same households.
    await f.setTime(w0 + HOUR + 5n);
    await app.keeper.tick();
    expect((await app.reader.window(w0)).status).toBe('Cleared');
    for (const p of prosumers) await testClient().setBalance({ address: p.address, value: parseEther('1') });
    for (const i of SUBMISSION) {
      const o = orderOf(i, w1);
      await f.placeOrder(prosumers[i]!, w1, o.side, o.energyWh, o.pricePerKWh);
    }

    // Readings and settlement of w0 (buyer 2 has no reading: settlement waits for the grace), then w1.
    await f.setTime(w0 + 2n * HOUR + 5n);
    await app.keeper.tick();
    const expected0 = await modelOutcomes(w0, await windowResult(w0));
    await f.setTime(w0 + 2n * HOUR + 1900n);
    await app.keeper.tick();
    expect((await app.reader.window(w0)).status).toBe('Settled');
    await f.setTime(w0 + 3n * HOUR + 5n);
    await app.keeper.tick();
    const expected1 = await modelOutcomes(w1, await windowResult(w1));
    await f.setTime(w0 + 3n * HOUR + 1900n);
    await app.keeper.tick();
    expect((await app.reader.window(w1)).status).toBe('Settled');

    const relayed = await windowResult(w0);
    const direct = await windowResult(w1);
    expect(relayed.trades.length).toBeGreaterThan(5);
    expect(relayed.energy).toBe(1500n); // every ask filled
    expect(relayed.settled).toEqual(expected0);
    expect(direct.settled).toEqual(expected1);
    expect(relayed).toEqual(direct);
    // All four settlement paths were exercised.
    expect(new Set(relayed.settled.map((s) => s.reason))).toEqual(new Set(RejectReason));
  });

  it('refuses a forged and a replayed order at the API; the market skips them when sent straight to it', async () => {
    const w = await currentWindow();
    const [X, Y] = [f.prosumers[N]!, f.prosumers[N + 1]!];
    const o: OrderFields = { windowId: w, side: 0, energyWh: 400n, pricePerKWh: 25n * TOKEN, nonce: 0n };

    const forged = await orderBody(f, X, o, Y); // X's order, signed by Y
    expect(await post(base, '/v1/orders', forged)).toMatchObject({ status: 422, body: { code: 'INVALID_SIGNATURE' } });
    const altered = { ...(await orderBody(f, X, o)), energyWh: '4000' };
    expect(await post(base, '/v1/orders', altered)).toMatchObject({ status: 422, body: { code: 'INVALID_SIGNATURE' } });
    const highS = await orderBody(f, X, o);
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const s = BigInt(`0x${highS.signature!.slice(66, 130)}`);
    const v = Number.parseInt(highS.signature!.slice(130), 16);
    highS.signature = `${highS.signature!.slice(0, 66)}${(n - s).toString(16).padStart(64, '0')}${(
      v === 27 ? 28 : 27
    ).toString(16)}`;
    expect(await post(base, '/v1/orders', highS)).toMatchObject({ status: 422, body: { code: 'INVALID_SIGNATURE' } });
    expect(await straightToMarket(forged)).toEqual(['InvalidSignature']);
    expect(await straightToMarket(altered)).toEqual(['InvalidSignature']);
    expect((await read.order(w, X.address))[4]).toBe(false);

    const genuine = await orderBody(f, X, o);
    const accepted = await post(base, '/v1/orders', genuine);
    expect(accepted.status).toBe(202);
    // Replayed while queued.
    expect(await post(base, '/v1/orders', genuine)).toEqual({
      status: 409,
      body: { code: 'ALREADY_QUEUED', message: expect.any(String), id: accepted.body.id },
    });
    await relayer.flush();
    expect((await get(base, `/v1/orders/${w}/${X.address}`)).body).toMatchObject({ status: 'placed' });
    // Replayed after placement: X's order is live; the market skips it for that.
    expect(await post(base, '/v1/orders', genuine)).toMatchObject({ status: 422, body: { code: 'ALREADY_HAS_ORDER' } });
    expect(await straightToMarket(genuine)).toEqual(['AlreadyHasOrder']);
    // X cancels by signature (through the relayer); the old order signature stays spent.
    const cancel = await post(base, '/v1/cancels', await cancelBody(f, X, w, 0n));
    expect(cancel.status).toBe(202);
    await relayer.flush();
    expect((await get(base, `/v1/requests/${cancel.body.id}`)).body).toMatchObject({
      kind: 'cancel',
      status: 'cancelled',
      txHash: expect.any(String),
    });
    expect((await read.order(w, X.address))[4]).toBe(false);
    expect(await post(base, '/v1/orders', genuine)).toMatchObject({
      status: 422,
      body: { code: 'INVALID_NONCE', expected: '1' },
    });
    expect(await straightToMarket(genuine)).toEqual(['InvalidNonce']);
    expect(await read.nonce(w, X.address)).toBe(1n);
    expect((await read.order(w, X.address))[4]).toBe(false);
    // A cancel replayed is refused too.
    expect(await post(base, '/v1/cancels', await cancelBody(f, X, w, 0n))).toMatchObject({
      status: 422,
      body: { code: 'NO_LIVE_ORDER' },
    });
  });

  it('reports a front-run order rejected with its reason; the batch still places the others', async () => {
    const w = await currentWindow();
    const [A, B, C] = [f.prosumers[N + 2]!, f.prosumers[N + 3]!, f.prosumers[N + 4]!];
    const before = metricValue(await metrics(), 'keeper_relay_orders_total{result="rejected"}');
    const o = (price: bigint, nonce = 0n): OrderFields => ({
      windowId: w,
      side: 1,
      energyWh: 300n,
      pricePerKWh: price * TOKEN,
      nonce,
    });
    expect((await post(base, '/v1/orders', await orderBody(f, A, o(21n)))).status).toBe(202);
    expect((await post(base, '/v1/orders', await orderBody(f, B, o(19n)))).status).toBe(202);
    expect((await post(base, '/v1/orders', await orderBody(f, C, o(20n)))).status).toBe(202);
    // A places directly between acceptance and batch; C is deregistered (the market skips C's order itself).
    await testClient().setBalance({ address: A.address, value: parseEther('1') });
    await f.placeOrder(A, w, 1, 999n, 23n * TOKEN);
    const deregister = await adminWallet().writeContract({
      address: f.deployment.registry,
      abi: prosumerRegistryAbi,
      functionName: 'deregister',
      args: [C.address],
    });
    await f.publicClient.waitForTransactionReceipt({ hash: deregister });
    await relayer.flush();

    const [a, b, c] = await Promise.all([A, B, C].map((p) => get(base, `/v1/orders/${w}/${p.address}`)));
    expect(a!.body).toMatchObject({ status: 'rejected', reason: 'AlreadyHasOrder' });
    expect(b!.body).toMatchObject({ status: 'placed', txHash: expect.any(String) });
    expect(c!.body).toMatchObject({ status: 'rejected', reason: 'NotRegistered', txHash: b!.body.txHash });
    expect(await read.order(w, A.address)).toEqual([1, 999n, 23n * TOKEN, 0n, true]); // A's own order stands
    expect((await read.order(w, B.address))[4]).toBe(true);

    // B replaces its order (signed cancel of nonce 0 + order nonce 1) but cancels directly before the relayer acts.
    const cancel = await post(base, '/v1/cancels', await cancelBody(f, B, w, 0n));
    expect(cancel.status).toBe(202);
    const replace = await post(base, '/v1/orders', await orderBody(f, B, o(18n, 1n)));
    expect(replace.status).toBe(202); // accepted although B's order is live: its cancel is queued
    await testClient().setBalance({ address: B.address, value: parseEther('1') });
    const wallet = createWalletClient({
      chain: makeChain(f.anvil.chainId, f.anvil.url),
      transport: http(f.anvil.url),
      account: B.account,
    });
    await f.publicClient.waitForTransactionReceipt({
      hash: await wallet.writeContract({
        address: market(),
        abi: energyMarketAbi,
        functionName: 'cancelOrder',
        args: [w],
      }),
    });
    await relayer.flush();
    expect((await get(base, `/v1/requests/${cancel.body.id}`)).body).toMatchObject({
      status: 'rejected',
      reason: 'NoLiveOrder',
    });
    expect((await get(base, `/v1/orders/${w}/${B.address}`)).body).toMatchObject({
      id: replace.body.id,
      status: 'placed',
      nonce: '1',
    });
    expect(await read.order(w, B.address)).toEqual([1, 300n, 18n * TOKEN, 0n, true]);
    expect(metricValue(await metrics(), 'keeper_relay_orders_total{result="rejected"}')).toBe(before + 2);
  });

  it('answers bad requests with a 4xx and a machine code', async () => {
    const w = await currentWindow();
    const P = f.prosumers[N + 5]!;
    const good = await orderBody(f, P, { windowId: w, side: 0, energyWh: 100n, pricePerKWh: 20n * TOKEN, nonce: 0n });
    const signed = async (o: Partial<OrderFields>) =>
      orderBody(f, P, { windowId: w, side: 0, energyWh: 100n, pricePerKWh: 20n * TOKEN, nonce: 0n, ...o });
    const expectCode = async (
      reply: Promise<{ status: number; body: Record<string, string> }>,
      status: number,
      code: string,
    ) => {
      const r = await reply;
      expect(r, code).toMatchObject({ status, body: { code, message: expect.any(String) } });
    };
    await expectCode(post(base, '/v1/orders', '{"prosumer": '), 400, 'MALFORMED_JSON');
    await expectCode(post(base, '/v1/orders', '[1,2]'), 400, 'INVALID_BODY');
    await expectCode(post(base, '/v1/orders', { ...good, energyWh: 100 }), 400, 'INVALID_FIELD');
    await expectCode(post(base, '/v1/orders', { ...good, side: 0 }), 400, 'INVALID_FIELD');
    await expectCode(post(base, '/v1/orders', { ...good, prosumer: '0x1234' }), 400, 'INVALID_FIELD');
    await expectCode(post(base, '/v1/orders', { ...good, signature: '0xzz' }), 400, 'INVALID_FIELD');
    await expectCode(post(base, '/v1/orders', { ...good, nonce: '-1' }), 400, 'INVALID_FIELD');
    await expectCode(post(base, '/v1/orders', { ...good, nonce: undefined }), 400, 'MISSING_FIELD');
    await expectCode(post(base, '/v1/orders', { ...good, hintPrev: zeroAddress }), 400, 'UNKNOWN_FIELD');
    await expectCode(
      post(base, '/v1/orders', { ...good, pricePerKWh: (maxUint256 + 1n).toString() }),
      400,
      'NUMBER_TOO_LARGE',
    );
    await expectCode(post(base, '/v1/orders', { ...good, pad: 'x'.repeat(20_000) }), 413, 'BODY_TOO_LARGE');
    await expectCode(
      post(base, '/v1/orders', JSON.stringify(good), { 'content-type': 'text/plain' }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    await expectCode(get(base, '/v1/orders'), 405, 'METHOD_NOT_ALLOWED');
    await expectCode(get(base, '/v1/nothing'), 404, 'NOT_FOUND');
    await expectCode(get(base, `/v1/orders/${w}/${P.address}`), 404, 'NOT_FOUND');
    await expectCode(get(base, `/v1/requests/0x${'00'.repeat(32)}`), 404, 'NOT_FOUND');

    await expectCode(post(base, '/v1/orders', await signed({ energyWh: 0n })), 422, 'ZERO_ENERGY');
    await expectCode(post(base, '/v1/orders', await signed({ energyWh: 2n ** 32n })), 422, 'ENERGY_OUT_OF_RANGE');
    await expectCode(post(base, '/v1/orders', await signed({ pricePerKWh: 0n })), 422, 'ZERO_PRICE');
    await expectCode(post(base, '/v1/orders', await signed({ pricePerKWh: 2n ** 80n })), 422, 'PRICE_OUT_OF_RANGE');
    await expectCode(post(base, '/v1/orders', await signed({ windowId: w + HOUR })), 422, 'WINDOW_NOT_OPEN');
    await expectCode(post(base, '/v1/orders', await signed({ windowId: w - HOUR })), 422, 'WINDOW_NOT_OPEN');
    await expectCode(post(base, '/v1/orders', await signed({ nonce: 1n })), 422, 'INVALID_NONCE');
    const deregistered = f.prosumers[N + 4]!; // deregistered in the previous test
    await expectCode(
      post(
        base,
        '/v1/orders',
        await orderBody(f, deregistered, { windowId: w, side: 0, energyWh: 1n, pricePerKWh: 1n, nonce: 1n }),
      ),
      422,
      'NOT_REGISTERED',
    );
    await expectCode(post(base, '/v1/cancels', await cancelBody(f, P, w, 0n)), 422, 'NO_LIVE_ORDER');
    const deadline = (await f.now()) + HOUR;
    await expectCode(
      post(base, '/v1/permits', await permitBody(f, P, { deadline, spender: f.admin.address })),
      422,
      'WRONG_SPENDER',
    );
    await expectCode(
      post(base, '/v1/permits', await permitBody(f, P, { deadline: (await f.now()) - 1n })),
      422,
      'PERMIT_EXPIRED',
    );
    const permit = await permitBody(f, P, { deadline, value: 5n });
    await expectCode(post(base, '/v1/permits', { ...permit, value: '6' }), 422, 'INVALID_SIGNATURE');
    await expectCode(post(base, '/v1/permits', { ...permit, v: 27 }), 400, 'INVALID_FIELD');
    expect(await signOrder(f, P, { windowId: w, side: 0, energyWh: 100n, pricePerKWh: 20n * TOKEN, nonce: 0n })).toBe(
      good.signature,
    );

    // Refusals are counted; nothing was queued.
    const body = await metrics();
    expect(metricValue(body, 'keeper_relay_orders_total{result="refused"}')).toBeGreaterThanOrEqual(25);
    expect(metricValue(body, 'keeper_relay_queue_depth')).toBe(0);

    // A window about to stop taking orders (within the batch interval + margin).
    await f.setTime(w + HOUR - 60n);
    await expectCode(post(base, '/v1/orders', good), 422, 'WINDOW_CLOSING');
    // Rate limit per address (RELAY_RATE_LIMIT=40 a minute, fixed clock minutes). 82 requests in under a minute
    // cross at most one minute boundary, so one side of it holds 41: refused whenever the boundary falls.
    let limited: { status: number; body: Record<string, string> } | undefined;
    for (let i = 0; i < 2 * 40 + 2 && !limited; i++) {
      const r = await post(base, '/v1/orders', await signed({ nonce: 7n }));
      if (r.status === 429) limited = r;
    }
    expect(limited?.body.code).toBe('RATE_LIMITED');
  });
  it('reports an order still queued when its window stops taking orders as rejected, never drops it', async () => {
    const w = (await currentWindow()) + HOUR;
    await f.setTime(w + 5n);
    await app.keeper.tick(); // opens w
    const P = f.prosumers[0]!;
    const before = metricValue(await metrics(), 'keeper_relay_orders_total{result="rejected"}');
    const reply = await post(base, '/v1/orders', await orderBody(f, P, orderOf(0, w)));
    expect(reply.status).toBe(202);
    await f.setTime(w + HOUR + 1n); // ordering over; nobody has closed the window yet
    await relayer.flush();
    expect((await get(base, `/v1/requests/${reply.body.id}`)).body).toMatchObject({
      status: 'rejected',
      reason: 'OrderingClosed',
    });
    expect((await read.order(w, P.address))[4]).toBe(false);
    expect(metricValue(await metrics(), 'keeper_relay_orders_total{result="rejected"}')).toBe(before + 1);
    expect(metricValue(await metrics(), 'keeper_relay_queue_depth')).toBe(0);
  });
});
