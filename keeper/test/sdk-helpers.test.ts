// The SDK's helpers on a real market: hints as the contract finds them, orders, cancels and permits signed and
// relayed, windows read back, and statements that add up against an independent calculation from the chain.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  cancelOrder,
  energyMarketAbi,
  energyTokenAbi,
  findHint,
  placeOrder,
  prosumerTrades,
  readDeployment,
  readWindow,
  RejectReason,
  signCancel,
  signOrder,
  signPermit,
  statements,
  submitSignedOrders,
  TradeStatus,
  WindowStatus,
} from '@p2p-energy/sdk';
import { loadDeployment } from '@p2p-energy/sdk/node';
import { createWalletClient, decodeFunctionData, getAddress, http, type Address, type Hash } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKEN_UNIT as TOKEN } from '../src/constants.js';
import { HOUR, setupMarket, type Fixture, type Prosumer } from './fixture.js';

describe('SDK helpers on anvil', () => {
  let f: Fixture;
  const wallet = (p: Prosumer | Fixture['admin']) =>
    createWalletClient({
      chain: f.publicClient.chain,
      transport: http(f.anvil.url),
      account: 'account' in p ? p.account : p,
    });
  const confirm = async (hash: Promise<Hash>) => {
    const receipt = await f.publicClient.waitForTransactionReceipt({ hash: await hash });
    expect(receipt.status).toBe('success');
    return receipt;
  };
  const contractHint = (w: bigint, side: 0 | 1, price: bigint) =>
    f.publicClient.readContract({
      address: f.deployment.market,
      abi: energyMarketAbi,
      functionName: 'findHint',
      args: [w, side, price],
    });
  const openWindow = async (w: bigint) => {
    await f.setTime(w + 5n);
    await confirm(
      wallet(f.admin).writeContract({ address: f.deployment.market, abi: energyMarketAbi, functionName: 'openWindow' }),
    );
  };

  beforeAll(async () => {
    f = await setupMarket({ prosumers: 7 });
  });

  afterAll(async () => {
    await f?.stop();
  });

  it("findHint is the market's findHint, placeOrder sends it, cancels and signed cancels take orders out", async () => {
    const w = f.start;
    await openWindow(w);
    const market = f.deployment.market;
    const book: [number, 'Buy' | 'Sell', bigint][] = [
      [0, 'Buy', 25n],
      [1, 'Buy', 23n],
      [2, 'Buy', 23n],
      [3, 'Sell', 18n],
      [4, 'Sell', 20n],
      [5, 'Sell', 20n],
    ];
    for (const [i, side, price] of book) {
      const order = { windowId: w, side, energyWh: 100n, pricePerKWh: price * TOKEN };
      const expected = await contractHint(w, side === 'Buy' ? 0 : 1, order.pricePerKWh);
      const hash = await placeOrder(wallet(f.prosumers[i]!), f.publicClient, market, order);
      await confirm(Promise.resolve(hash));
      const { args } = decodeFunctionData({
        abi: energyMarketAbi,
        data: (await f.publicClient.getTransaction({ hash })).input,
      });
      expect(args?.[4]).toBe(expected);
    }
    // A direct cancel and a signed one (relayed by the admin) leave tombstones in the book.
    await confirm(cancelOrder(wallet(f.prosumers[1]!), f.publicClient, market, w));
    const cancel = await signCancel(wallet(f.prosumers[4]!), f.publicClient, market, w);
    expect(cancel.nonce).toBe(0n);
    const { prosumer, windowId, nonce, signature } = cancel;
    await confirm(
      wallet(f.admin).writeContract({
        address: market,
        abi: energyMarketAbi,
        functionName: 'cancelOrderBySig',
        args: [prosumer, windowId, nonce, signature],
      }),
    );
    for (const i of [1, 4]) {
      const order = await f.publicClient.readContract({
        address: market,
        abi: energyMarketAbi,
        functionName: 'getOrder',
        args: [w, f.prosumers[i]!.address],
      });
      expect(order[4]).toBe(false); // not live
    }
    for (const side of [0, 1] as const) {
      for (const price of [10n, 18n, 20n, 23n, 25n, 30n]) {
        const ours = await findHint(f.publicClient, market, { windowId: w, side, pricePerKWh: price * TOKEN });
        expect(ours, `${side} @ ${price}`).toBe(await contractHint(w, side, price * TOKEN));
      }
    }
    // The cancelled prosumer places again with a signed order: the nonce read is now 1.
    const again = await signOrder(wallet(f.prosumers[4]!), f.publicClient, market, {
      windowId: w,
      side: 'Sell',
      energyWh: 100n,
      pricePerKWh: 19n * TOKEN,
    });
    expect(again).toMatchObject({ nonce: 1n, side: 1, hintPrev: '0x0000000000000000000000000000000000000000' });
    await confirm(submitSignedOrders(wallet(f.admin), f.publicClient, market, [again]));
    const placed = await f.publicClient.readContract({
      address: market,
      abi: energyMarketAbi,
      functionName: 'getOrder',
      args: [w, f.prosumers[4]!.address],
    });
    expect(placed).toEqual([1, 100n, 19n * TOKEN, 0n, true]);
  });

  it('readWindow, prosumerTrades and statements add up against the chain, through settlement', async () => {
    const w = f.start + HOUR;
    await openWindow(w);
    const { market, token } = f.deployment;
    const p = (i: number) => f.prosumers[i]!;
    const [p0, p1, p2, p3, p4, p5, p6] = [p(0), p(1), p(2), p(3), p(4), p(5), p(6)];
    // p1 lowers its allowance with a signed permit (relayed by the admin): its purchase fails for funds.
    const permit = await signPermit(wallet(p1), f.publicClient, token, {
      spender: market,
      value: 1n,
      deadline: w + 10n * HOUR,
    });
    await confirm(
      wallet(f.admin).writeContract({
        address: token,
        abi: energyTokenAbi,
        functionName: 'permit',
        args: [permit.owner, permit.spender, permit.value, permit.deadline, permit.v, permit.r, permit.s],
      }),
    );
    expect(
      await f.publicClient.readContract({
        address: token,
        abi: energyTokenAbi,
        functionName: 'allowance',
        args: [p1.address, market],
      }),
    ).toBe(1n);
    const orders: [Prosumer, 'Buy' | 'Sell', bigint, bigint][] = [
      [p0, 'Buy', 3000n, 25n],
      [p1, 'Buy', 2000n, 23n],
      [p2, 'Buy', 1000n, 22n],
      [p3, 'Sell', 2500n, 18n],
      [p4, 'Sell', 2000n, 20n],
      [p5, 'Sell', 1500n, 21n],
      [p6, 'Sell', 1000n, 30n],
    ];
    for (const [p, side, energyWh, price] of orders) {
      await confirm(
        placeOrder(wallet(p), f.publicClient, market, { windowId: w, side, energyWh, pricePerKWh: price * TOKEN }),
      );
    }
    await f.setTime(w + HOUR + 5n);
    await confirm(
      wallet(f.admin).writeContract({
        address: market,
        abi: energyMarketAbi,
        functionName: 'closeWindow',
        args: [w, 100n],
      }),
    );
    const range = { fromBlock: BigInt(f.deployment.startBlock), logRange: 7n };
    const pending = await prosumerTrades(f.publicClient, market, p0.address, range);
    expect(pending.length).toBeGreaterThan(0);
    for (const t of pending) {
      expect(t).toMatchObject({ role: 'buyer', status: 'Pending', reason: 'None' });
      expect(t.cost).toBeUndefined();
    }

    // Readings: p5 none (MissingReading), p3 exports less than it sold (SellerShortfall); the rest plenty.
    await f.setTime(w + 2n * HOUR + 5n);
    const read = [p0, p1, p2, p3, p4].map((p) => p.address);
    const exported = [0n, 0n, 0n, 2000n, 2000n];
    const imported = [10_000n, 10_000n, 10_000n, 0n, 0n];
    await confirm(
      wallet(f.admin).writeContract({
        address: market,
        abi: energyMarketAbi,
        functionName: 'submitMeterReadings',
        args: [w, read, imported, exported],
      }),
    );
    const balance = (a: Address) =>
      f.publicClient.readContract({ address: token, abi: energyTokenAbi, functionName: 'balanceOf', args: [a] });
    const before = await Promise.all(f.prosumers.map((p) => balance(p.address)));
    await f.setTime(w + 2n * HOUR + 1800n + 5n); // the grace: p5 never reports
    await confirm(
      wallet(f.admin).writeContract({
        address: market,
        abi: energyMarketAbi,
        functionName: 'settleWindow',
        args: [w, 100n],
      }),
    );
    const after = await Promise.all(f.prosumers.map((p) => balance(p.address)));

    // Independent: the raw getWindow and getTrade, the protocol's cost rule, the token balances.
    const [status, price, cleared, orderCount, tradeCount, settledCount] = await f.publicClient.readContract({
      address: market,
      abi: energyMarketAbi,
      functionName: 'getWindow',
      args: [w],
    });
    const raw = await Promise.all(
      Array.from({ length: Number(tradeCount) }, (_, i) =>
        f.publicClient.readContract({
          address: market,
          abi: energyMarketAbi,
          functionName: 'getTrade',
          args: [w, BigInt(i)],
        }),
      ),
    );
    const window = await readWindow(f.publicClient, market, w);
    expect(window).toEqual({
      windowId: w,
      status: WindowStatus[status],
      clearingPrice: price,
      clearedEnergyWh: cleared,
      orderCount,
      tradeCount,
      settledCount,
      trades: raw.map(([buyer, seller, energyWh, s, reason], i) => ({
        index: BigInt(i),
        buyer,
        seller,
        energyWh,
        status: TradeStatus[s],
        reason: RejectReason[reason],
      })),
    });
    expect(new Set(window.trades.map((t) => t.reason))).toEqual(
      new Set(['None', 'InsufficientFunds', 'MissingReading', 'SellerShortfall']),
    );

    for (const [k, prosumer] of f.prosumers.entries()) {
      const expected = {
        windowId: w,
        boughtWh: 0n,
        soldWh: 0n,
        paidWei: 0n,
        receivedWei: 0n,
        accepted: 0,
        rejected: 0,
        pending: 0,
      };
      for (const [buyer, seller, energyWh, s] of raw) {
        const mine = getAddress(buyer) === prosumer.address || getAddress(seller) === prosumer.address;
        if (!mine) continue;
        const cost = s === 1 ? (energyWh * price) / 1000n : 0n;
        if (getAddress(buyer) === prosumer.address) {
          expected.boughtWh += energyWh;
          expected.paidWei += cost;
        } else {
          expected.soldWh += energyWh;
          expected.receivedWei += cost;
        }
        if (s === 1) expected.accepted++;
        else expected.rejected++;
      }
      const got = await statements(f.publicClient, market, prosumer.address, range);
      const traded = expected.accepted + expected.rejected > 0;
      expect(got, `prosumer ${k}`).toEqual(traded ? [expected] : []);
      expect(after[k]! - before[k]!, `prosumer ${k} balance`).toBe(expected.receivedWei - expected.paidWei);
      const trades = await prosumerTrades(f.publicClient, market, prosumer.address, range);
      for (const t of trades) {
        expect(t.cost).toBe(t.status === 'Accepted' ? (t.energyWh * price) / 1000n : 0n);
        expect(t.role).toBe(getAddress(raw[Number(t.index)]![0]) === prosumer.address ? 'buyer' : 'seller');
      }
    }
    // The previous window's trades (none: nothing crossed there) and this one's, from the first block on.
    expect((await statements(f.publicClient, market, p0.address, range)).map((s) => s.windowId)).toEqual([w]);
  });
});

describe('deployment files', () => {
  const file = {
    admin: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
    chainId: 31337,
    keeper: '0x0000000000000000000000000000000000000000',
    market: '0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0',
    registry: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
    settlementGrace: 1800,
    startBlock: 0,
    token: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
    windowDuration: 3600,
  };

  it('readDeployment keeps the seven fields, checksummed, and names a bad one', () => {
    expect(readDeployment(JSON.stringify(file))).toEqual({
      chainId: 31337,
      market: '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0',
      token: file.token,
      registry: file.registry,
      windowDuration: 3600,
      settlementGrace: 1800,
      startBlock: 0,
    });
    const { market: _, ...noMarket } = file;
    expect(() => readDeployment(noMarket)).toThrow('market is missing');
    expect(() => readDeployment({ ...file, token: '0x1234' })).toThrow(/token must be a 0x-prefixed 20-byte/);
    expect(() => readDeployment({ ...file, windowDuration: 7.5 })).toThrow(/windowDuration must be a whole number/);
    expect(() => readDeployment({ ...file, startBlock: '0' })).toThrow(/startBlock/);
    expect(() => readDeployment([])).toThrow('expected a JSON object');
  });

  it('loadDeployment reads a file and checks its chain id', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sdk-deployment-'));
    try {
      const at = path.join(dir, '31337.json');
      await writeFile(at, JSON.stringify(file));
      expect((await loadDeployment(at, 31337)).market).toBe('0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0');
      await expect(loadDeployment(at, 1)).rejects.toThrow('deployment of chain 31337, not 1');
      await writeFile(at, JSON.stringify({ ...file, registry: 'none' }));
      await expect(loadDeployment(at)).rejects.toThrow(`${at}: deployment: registry must be`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
