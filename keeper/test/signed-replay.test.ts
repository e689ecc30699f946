// Signed orders through the export and the forge replay: orders placed by signature (some rejected: another
// key's signature, a wrong nonce, a second order while one is live, a window not opened yet, a window already
// closed), a cancel by signature and a signed re-placement; the keeper clears and settles; the export replays,
// and tampered copies (a rejected order turned into a placed one and back, a changed reason, ...) fail.
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  createWalletClient,
  http,
  parseEventLogs,
  toFunctionSelector,
  type Chain,
  type PrivateKeyAccount,
  type Transport,
  type TypedDataDomain,
  type WalletClient,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SideModel } from '../bench/book-model.js';
import { CANCEL_TYPES, energyMarketAbi, ORDER_TYPES } from '@p2p-energy/sdk';
import { repoRoot } from '../dev/paths.js';
import { ANVIL_KEYS } from '../dev/test-keys.js';
import { createKeeperApp, type KeeperApp } from '../src/app.js';
import { makeChain } from '../src/chain.js';
import type { ExportedEvent, ExportFile } from '../src/export.js';
import { HOUR, setupMarket, type Fixture, type Prosumer } from './fixture.js';
import { runReplay } from './replay-run.js';
import { TOKEN_UNIT as TOKEN } from '../src/constants.js';

const SELECTOR = {
  InvalidSignature: toFunctionSelector('InvalidSignature(address)'),
  InvalidNonce: toFunctionSelector('InvalidNonce(address,uint256,uint256)'),
  AlreadyHasOrder: toFunctionSelector('AlreadyHasOrder(uint256,address)'),
  WindowNotOpen: toFunctionSelector('WindowNotOpen(uint256)'),
} as const;

interface Intent {
  who: Prosumer;
  /** Signs instead of `who` (a bad signature). */
  signer?: Prosumer;
  windowId: bigint;
  side: 0 | 1;
  energyWh: bigint;
  price: bigint;
  nonce: bigint;
}

describe('signed orders: export and forge replay', () => {
  let f: Fixture;
  let app: KeeperApp;
  let domain: TypedDataDomain;
  const relayer = privateKeyToAccount(ANVIL_KEYS[2]);
  /** The relayer's model of window w0's book (exact hints). */
  const book = { 0: new SideModel(0), 1: new SideModel(1) } as const;
  let wallet: WalletClient<Transport, Chain, PrivateKeyAccount>;

  beforeAll(async () => {
    f = await setupMarket({ prosumers: 8, startHour: 11 });
    const chain = makeChain(f.anvil.chainId, f.anvil.url);
    wallet = createWalletClient({ chain, transport: http(f.anvil.url), account: relayer });
    const [, name, version, chainId, verifyingContract] = await f.publicClient.readContract({
      address: f.deployment.market,
      abi: energyMarketAbi,
      functionName: 'eip712Domain',
    });
    domain = { name, version, chainId, verifyingContract };
    app = await createKeeperApp(f.keeperConfig({ METER_SEED: '11' }));
    await app.keeper.startupChecks();
  });

  afterAll(async () => {
    await app?.shutdown(0);
    await f?.stop();
  });

  /** Signs and relays a batch; hints from the model of w0's book for the orders that will be placed. */
  const relay = async (intents: Intent[], placedInW0: boolean[]) => {
    const orders = await Promise.all(
      intents.map(async (o, i) => {
        const message = {
          prosumer: o.who.address,
          windowId: o.windowId,
          side: o.side,
          energyWh: o.energyWh,
          pricePerKWh: o.price,
          nonce: o.nonce,
        };
        const signer = (o.signer ?? o.who).account;
        const signature = await signer.signTypedData({ domain, types: ORDER_TYPES, primaryType: 'Order', message });
        const hintPrev = placedInW0[i] ? book[o.side].insert(o.who.address, o.price) : book[o.side].hint(o.price);
        return { ...message, hintPrev, signature };
      }),
    );
    const hash = await wallet.writeContract({
      address: f.deployment.market,
      abi: energyMarketAbi,
      functionName: 'placeOrdersBySig',
      args: [orders],
    });
    const receipt = await f.publicClient.waitForTransactionReceipt({ hash });
    expect(receipt.status).toBe('success');
    const rejected = parseEventLogs({ abi: energyMarketAbi, logs: receipt.logs, eventName: 'SignedOrderRejected' });
    const placed = parseEventLogs({ abi: energyMarketAbi, logs: receipt.logs, eventName: 'OrderPlaced' });
    return {
      rejected: rejected.map((e) => [e.args.prosumer, e.args.windowId, e.args.nonce, e.args.reason]),
      placed: placed.map((e) => e.args.prosumer),
    };
  };

  const onChainBook = async (w: bigint, side: 0 | 1) =>
    f.publicClient.readContract({
      address: f.deployment.market,
      abi: energyMarketAbi,
      functionName: 'getBook',
      args: [w, side, 0n, 100n],
    });

  it('places, rejects, cancels and re-places by signature; the keeper clears and settles', async () => {
    const [A, B, C, D, E, G, H, K] = f.prosumers as [
      Prosumer,
      Prosumer,
      Prosumer,
      Prosumer,
      Prosumer,
      Prosumer,
      Prosumer,
      Prosumer,
    ];
    const w0 = f.start;
    const w1 = w0 + HOUR;
    await f.setTime(w0 + 5n);
    await app.keeper.tick(); // opens w0

    const first = await relay(
      [
        { who: A, windowId: w0, side: 0, energyWh: 700n, price: 25n * TOKEN, nonce: 0n },
        { who: B, windowId: w0, side: 0, energyWh: 700n, price: 23n * TOKEN, nonce: 0n },
        { who: C, windowId: w0, side: 1, energyWh: 1000n, price: 18n * TOKEN, nonce: 0n },
        { who: D, windowId: w0, side: 1, energyWh: 700n, price: 20n * TOKEN, nonce: 0n },
        // E's order signed by G: it would cross (and change the result) if it were placed.
        { who: E, signer: G, windowId: w0, side: 0, energyWh: 500n, price: 30n * TOKEN, nonce: 0n },
        { who: G, windowId: w0, side: 1, energyWh: 400n, price: 15n * TOKEN, nonce: 1n }, // first order: nonce 0
        { who: A, windowId: w0, side: 0, energyWh: 300n, price: 24n * TOKEN, nonce: 0n }, // A's is live
        { who: H, windowId: w1, side: 0, energyWh: 300n, price: 22n * TOKEN, nonce: 0n }, // w1 not opened yet
        { who: B, windowId: w0, side: 1, energyWh: 100n, price: 21n * TOKEN, nonce: 1n }, // B's is live
      ],
      [true, true, true, true, false, false, false, false, false],
    );
    expect(first.placed).toEqual([A.address, B.address, C.address, D.address]);
    expect(first.rejected).toEqual([
      [E.address, w0, 0n, SELECTOR.InvalidSignature],
      [G.address, w0, 1n, SELECTOR.InvalidNonce],
      [A.address, w0, 0n, SELECTOR.AlreadyHasOrder],
      [H.address, w1, 0n, SELECTOR.WindowNotOpen],
      [B.address, w0, 1n, SELECTOR.AlreadyHasOrder],
    ]);

    // D cancels by signature (nonce 0), then re-places at 21 with nonce 1; D's old order (nonce 0) is replayed
    // first in the same batch: InvalidNonce. K places directly.
    const signature = await D.account.signTypedData({
      domain,
      types: CANCEL_TYPES,
      primaryType: 'Cancel',
      message: { prosumer: D.address, windowId: w0, nonce: 0n },
    });
    const cancel = await wallet.writeContract({
      address: f.deployment.market,
      abi: energyMarketAbi,
      functionName: 'cancelOrderBySig',
      args: [D.address, w0, 0n, signature],
    });
    expect((await f.publicClient.waitForTransactionReceipt({ hash: cancel })).status).toBe('success');
    book[1].remove(D.address);
    const second = await relay(
      [
        { who: D, windowId: w0, side: 1, energyWh: 700n, price: 20n * TOKEN, nonce: 0n },
        { who: D, windowId: w0, side: 1, energyWh: 700n, price: 21n * TOKEN, nonce: 1n },
      ],
      [false, true],
    );
    expect(second).toEqual({ placed: [D.address], rejected: [[D.address, w0, 0n, SELECTOR.InvalidNonce]] });
    await f.placeOrder(K, w0, 0, 200n, 19n * TOKEN);
    book[0].insert(K.address, 19n * TOKEN);
    // The relayer's model is the book.
    for (const side of [0, 1] as const) {
      expect((await onChainBook(w0, side)).map((a) => a.toLowerCase())).toEqual(
        book[side].owners().map((a) => a.toLowerCase()),
      );
    }

    await f.setTime(w0 + HOUR + 5n);
    await app.keeper.tick(); // closes w0, opens w1
    const cleared = await app.reader.window(w0);
    expect(cleared.status).toBe('Cleared');
    // Bids A 700@25, B 700@23, K 200@19; asks C 1000@18, D 700@21: A and B fill C (1000) then B 400 of D...
    expect(cleared.clearedEnergyWh).toBe(1400n);
    expect(cleared.clearingPrice).toBe(21n * TOKEN); // D's ask partly filled
    // A late order for the closed window is rejected too (WindowNotOpen after the opening).
    const late = await relay(
      [{ who: H, windowId: w0, side: 0, energyWh: 300n, price: 22n * TOKEN, nonce: 0n }],
      [false],
    );
    expect(late.rejected).toEqual([[H.address, w0, 0n, SELECTOR.WindowNotOpen]]);

    for (const hours of [2n, 3n, 4n]) {
      await f.setTime(w0 + hours * HOUR + 5n);
      await app.keeper.tick();
    }
    expect((await app.reader.window(w0)).status).toBe('Settled');
    expect((await app.reader.window(w1)).status).toBe('Settled');
  });

  it('exports the rejections, replays with forge, and tampered copies fail', async () => {
    const run = promisify(execFile);
    const dir = path.join(repoRoot, 'exports');
    await mkdir(dir, { recursive: true });
    const out = path.join(dir, `signed-${f.anvil.chainId}.json`);
    const env = {
      ...process.env,
      RPC_URL: f.anvil.url,
      CHAIN_ID: String(f.anvil.chainId),
      MARKET_ADDRESS: f.deployment.market,
    };
    const args = [
      '--import',
      'tsx',
      'keeper/src/cli.ts',
      'export',
      '--from',
      String(f.start),
      '--to',
      String(f.start + HOUR),
      '--out',
      out,
    ];
    const exported = await run(process.execPath, args, { cwd: repoRoot, env });
    expect(exported.stdout).toContain('exported 2 windows');
    const file = JSON.parse(await readFile(out, 'utf8')) as ExportFile;
    const [win0, win1] = file.windows;
    if (!win0 || !win1) throw new Error('two windows expected');
    const rejections = (w: typeof win0) =>
      w.events
        .filter((e) => e.name === 'SignedOrderRejected')
        .map((e) => [e.args.prosumer, e.args.nonce, e.args.reason, e.reasonName]);
    const [, , , , , G, H] = f.prosumers as Prosumer[];
    expect(rejections(win0).map((r) => r[3])).toEqual([
      'InvalidSignature',
      'InvalidNonce',
      'AlreadyHasOrder',
      'AlreadyHasOrder',
      'InvalidNonce',
      'WindowNotOpen',
    ]);
    expect(rejections(win0)[1]).toEqual([G?.address, '1', SELECTOR.InvalidNonce, 'InvalidNonce']);
    // w1: the early order comes before WindowOpened.
    expect(win1.events.slice(0, 2).map((e) => e.name)).toEqual(['SignedOrderRejected', 'WindowOpened']);
    expect(rejections(win1)).toEqual([[H?.address, '0', SELECTOR.WindowNotOpen, 'WindowNotOpen']]);
    expect(win0.events.filter((e) => e.name === 'OrderPlaced')).toHaveLength(6);

    const ok = await runReplay(out);
    expect(ok.stdout).toContain('[PASS] test_replay_export()');
    expect(ok.code).toBe(0);

    const tamper = async (name: string, change: (events: ExportedEvent[]) => void) => {
      const copy = structuredClone(file);
      const events = copy.windows[0]?.events;
      if (!events) throw new Error('no events');
      change(events);
      const bad = out.replace(/\.json$/, `-${name}.json`);
      await writeFile(bad, JSON.stringify(copy));
      const result = await runReplay(bad);
      expect(result.code, name).not.toBe(0);
      expect(result.stdout, name).toContain('[FAIL');
      return result.stdout;
    };
    const find = (events: ExportedEvent[], name: string, reasonName?: string) => {
      const i = events.findIndex((e) => e.name === name && (reasonName === undefined || e.reasonName === reasonName));
      if (i < 0) throw new Error(`no ${name} ${reasonName ?? ''}`);
      return i;
    };
    // E's rejected order (bad signature) turned into a placed one: the clearing changes.
    const placedOut = await tamper('rejected-to-placed', (events) => {
      const i = find(events, 'SignedOrderRejected', 'InvalidSignature');
      const e = events[i] as ExportedEvent;
      events[i] = {
        ...e,
        name: 'OrderPlaced',
        reasonName: undefined,
        args: {
          windowId: e.args.windowId as string,
          prosumer: e.args.prosumer as string,
          side: 0,
          energyWh: '500',
          pricePerKWh: (30n * TOKEN).toString(),
        },
      };
    });
    expect(placedOut).toMatch(/clearing price|cleared energy|trade count|of trade/);
    // A's placed order turned into a rejection for a bad signature: A's later AlreadyHasOrder no longer holds.
    const rejectedOut = await tamper('placed-to-rejected', (events) => {
      const i = find(events, 'OrderPlaced');
      const e = events[i] as ExportedEvent;
      const args = {
        windowId: e.args.windowId as string,
        prosumer: e.args.prosumer as string,
        nonce: '0',
        reason: SELECTOR.InvalidSignature,
      };
      events[i] = { ...e, name: 'SignedOrderRejected', reasonName: 'InvalidSignature', args };
    });
    expect(rejectedOut).toContain('the prosumer has no live order in the replayed book');
    // G's wrong nonce reported as a bad signature: the signed nonce was not G's nonce.
    const reasonOut = await tamper('nonce-as-signature', (events) => {
      const e = events[find(events, 'SignedOrderRejected', 'InvalidNonce')] as ExportedEvent;
      e.args.reason = SELECTOR.InvalidSignature;
    });
    expect(reasonOut).toContain('the signed nonce is not the replayed orderNonce');
    const unknownOut = await tamper('unknown-reason', (events) => {
      const e = events[find(events, 'SignedOrderRejected', 'AlreadyHasOrder')] as ExportedEvent;
      e.args.reason = '0xdeadbeef';
    });
    expect(unknownOut).toContain('unknown reason');
    // An order placed after the late rejection (ordering was over): refused.
    const lateOut = await tamper('placed-after-close', (events) => {
      const late = events.map((e) => e.name).lastIndexOf('SignedOrderRejected');
      const placed = events[find(events, 'OrderPlaced')] as ExportedEvent;
      const k = f.prosumers[7]?.address ?? '';
      events.splice(late + 1, 0, { ...placed, args: { ...placed.args, prosumer: k } });
    });
    expect(lateOut).toContain('after a rejection for WindowNotOpen/OrderingClosed');
    // A bad signature reported for an account that was never registered (registration is checked first).
    const outsiderOut = await tamper('outsider-bad-signature', (events) => {
      const i = find(events, 'SignedOrderRejected', 'InvalidSignature');
      const e = events[i] as ExportedEvent;
      events.splice(i + 1, 0, { ...e, args: { ...e.args, prosumer: '0x00000000000000000000000000000000DeaDBeef' } });
    });
    expect(outsiderOut).toContain('the prosumer has no prosumer ID');
  }, 240_000);
});
