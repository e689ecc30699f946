// The batch hints against a brute-force book: each order's hint is the node just before its place in the book as
// the book before the batch and the batch's earlier orders leave it.
import { createPublicClient, createWalletClient, getAddress, http, zeroAddress, type Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchHints, type BookNode, computeHints, energyMarketAbi } from '@p2p-energy/sdk';
import { makeChain } from '../src/chain.js';
import type { OrderData, Side } from '../src/relayer/types.js';
import { setupMarket, type Fixture } from './fixture.js';
import { TOKEN_UNIT as TOKEN } from '../src/constants.js';

const addr = (i: number): Address => getAddress(`0x${(i + 1).toString(16).padStart(40, '0')}`);

/** Inserts like the market: after every node at an equal or better price. Returns the predecessor. */
function insert(book: BookNode[], side: Side, node: BookNode): Address {
  let at = 0;
  while (at < book.length && (side === 0 ? book[at]!.price >= node.price : book[at]!.price <= node.price)) at++;
  book.splice(at, 0, node);
  return at === 0 ? zeroAddress : book[at - 1]!.prosumer;
}

function lcg(seed: number) {
  let s = seed;
  return () => (s = (s * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
}

describe('batch hints', () => {
  it('equal the predecessor in a simulated book for random batches over a random book', () => {
    const rand = lcg(42);
    for (let round = 0; round < 300; round++) {
      const books: [BookNode[], BookNode[]] = [[], []];
      let n = 0;
      // A book before the batch (live orders only, so findHint is the last node at an equal or better price).
      for (let i = Math.floor(rand() * 12); i > 0; i--) {
        const side: Side = rand() < 0.5 ? 0 : 1;
        insert(books[side], side, { prosumer: addr(n++), price: BigInt(1 + Math.floor(rand() * 6)) });
      }
      const batch = Array.from({ length: 1 + Math.floor(rand() * 20) }, () => ({
        prosumer: addr(n++),
        side: (rand() < 0.5 ? 0 : 1) as Side,
        pricePerKWh: BigInt(1 + Math.floor(rand() * 6)),
      }));
      const before: [BookNode[], BookNode[]] = [[...books[0]], [...books[1]]];
      const findHint = (side: Side, price: bigint) => {
        const book = before[side];
        let last: BookNode | undefined;
        for (const node of book) if (side === 0 ? node.price >= price : node.price <= price) last = node;
        return last;
      };
      const hints = batchHints(
        batch,
        batch.map((o) => findHint(o.side, o.pricePerKWh)),
      );
      const expected = batch.map((o) => insert(books[o.side], o.side, { prosumer: o.prosumer, price: o.pricePerKWh }));
      expect(hints).toEqual(expected);
    }
  });

  it('names the head for the best price and the batch order just before for ties', () => {
    const [a, b, c] = [addr(1), addr(2), addr(3)];
    const batch = [
      { prosumer: a, side: 0 as Side, pricePerKWh: 10n },
      { prosumer: b, side: 0 as Side, pricePerKWh: 10n },
      { prosumer: c, side: 0 as Side, pricePerKWh: 12n },
    ];
    expect(batchHints(batch, [undefined, undefined, undefined])).toEqual([zeroAddress, a, zeroAddress]);
    // An older node at 10 comes before both batch orders at 10.
    const old = { prosumer: addr(9), price: 10n };
    expect(batchHints(batch, [old, old, undefined])).toEqual([old.prosumer, a, zeroAddress]);
  });
});

describe('batch hints on anvil', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await setupMarket({ prosumers: 16, startHour: 11 });
  });
  afterAll(async () => {
    await f?.stop();
  });

  it("equal the market's own findHint before each placement, over a book with tombstones and ties", async () => {
    const w = f.start;
    await f.setTime(w + 5n);
    const chain = makeChain(f.anvil.chainId, f.anvil.url);
    const client = createPublicClient({ chain, transport: http(f.anvil.url) });
    const admin = createWalletClient({ chain, transport: http(f.anvil.url), account: f.admin });
    await client.waitForTransactionReceipt({
      hash: await admin.writeContract({
        address: f.deployment.market,
        abi: energyMarketAbi,
        functionName: 'openWindow',
      }),
    });
    // A book before the batch: bids and asks with equal prices, two of them cancelled (tombstones).
    const before: [number, Side, bigint][] = [
      [0, 0, 25n],
      [1, 0, 23n],
      [2, 0, 23n],
      [3, 1, 18n],
      [4, 1, 20n],
      [5, 1, 20n],
    ];
    for (const [i, side, price] of before) await f.placeOrder(f.prosumers[i]!, w, side, 100n, price * TOKEN);
    for (const i of [1, 4]) {
      const wallet = createWalletClient({ chain, transport: http(f.anvil.url), account: f.prosumers[i]!.account });
      await client.waitForTransactionReceipt({
        hash: await wallet.writeContract({
          address: f.deployment.market,
          abi: energyMarketAbi,
          functionName: 'cancelOrder',
          args: [w],
        }),
      });
    }
    const prices: [Side, bigint][] = [
      [0, 23n],
      [1, 20n],
      [0, 30n],
      [0, 23n],
      [1, 17n],
      [1, 20n],
      [0, 10n],
      [1, 25n],
      [0, 25n],
      [1, 18n],
    ];
    const batch: OrderData[] = prices.map(([side, price], k) => ({
      prosumer: f.prosumers[6 + k]!.address,
      windowId: w,
      side,
      energyWh: 100n,
      pricePerKWh: price * TOKEN,
      nonce: 0n,
      signature: '0x',
    }));
    const hints = await computeHints(client, f.deployment.market, batch, await client.getBlockNumber({ cacheTime: 0 }));
    for (const [k, o] of batch.entries()) {
      const market = await client.readContract({
        address: f.deployment.market,
        abi: energyMarketAbi,
        functionName: 'findHint',
        args: [w, o.side, o.pricePerKWh],
      });
      expect(hints[k], `order ${k}`).toBe(market);
      await f.placeOrder(f.prosumers[6 + k]!, w, o.side, o.energyWh, o.pricePerKWh);
    }
  });
});
