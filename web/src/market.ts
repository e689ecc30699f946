// Typed reads of the market, the token and the registry from the browser (generated ABIs), and event scans.
import type { Address, Hex } from 'viem';
import { energyMarketAbi, energyTokenAbi, prosumerRegistryAbi } from '@p2p-energy/sdk';
import type { ChainWatch } from './chain.js';
import type { BookEntry } from './clearing.js';

export const WINDOW_STATUS = ['None', 'Open', 'Closing', 'Cleared', 'Settling', 'Settled'] as const;
export type WindowStatus = (typeof WINDOW_STATUS)[number];
export const TRADE_STATUS = ['Pending', 'Accepted', 'Rejected'] as const;
export const REJECT_WORDS = [
  '',
  'a meter reading is missing',
  'seller delivered less than sold',
  'buyer consumed less than bought',
  'buyer lacked tokens or allowance',
] as const;

export interface WindowView {
  id: bigint;
  status: WindowStatus;
  clearingPrice: bigint;
  clearedEnergyWh: bigint;
  orderCount: bigint;
  tradeCount: bigint;
  settledCount: bigint;
}

export interface OrderView {
  side: 0 | 1;
  energyWh: bigint;
  pricePerKWh: bigint;
  filledWh: bigint;
  live: boolean;
}

export interface TradeView {
  index: bigint;
  buyer: Address;
  seller: Address;
  energyWh: bigint;
  status: (typeof TRADE_STATUS)[number];
  reason: number;
}

const BOOK_PAGE = 100n;
const LOG_RANGE = 5000n;

export class MarketReads {
  constructor(private readonly watch: ChainWatch) {}

  private get c() {
    return this.watch.client;
  }

  private get market(): Address {
    return this.watch.config.market;
  }

  currentWindow(): Promise<bigint> {
    return this.c.readContract({ address: this.market, abi: energyMarketAbi, functionName: 'currentWindow' });
  }

  async window(id: bigint): Promise<WindowView> {
    const [status, clearingPrice, clearedEnergyWh, orderCount, tradeCount, settledCount] = await this.c.readContract({
      address: this.market,
      abi: energyMarketAbi,
      functionName: 'getWindow',
      args: [id],
    });
    return {
      id,
      status: WINDOW_STATUS[status] ?? 'None',
      clearingPrice,
      clearedEnergyWh,
      orderCount,
      tradeCount,
      settledCount,
    };
  }

  async order(windowId: bigint, prosumer: Address): Promise<OrderView> {
    const [side, energyWh, pricePerKWh, filledWh, live] = await this.c.readContract({
      address: this.market,
      abi: energyMarketAbi,
      functionName: 'getOrder',
      args: [windowId, prosumer],
    });
    return { side: side === 1 ? 1 : 0, energyWh, pricePerKWh, filledWh, live };
  }

  orderNonce(windowId: bigint, prosumer: Address): Promise<bigint> {
    return this.c.readContract({
      address: this.market,
      abi: energyMarketAbi,
      functionName: 'orderNonce',
      args: [windowId, prosumer],
    });
  }

  async trade(windowId: bigint, index: bigint): Promise<TradeView> {
    const [buyer, seller, energyWh, status, reason] = await this.c.readContract({
      address: this.market,
      abi: energyMarketAbi,
      functionName: 'getTrade',
      args: [windowId, index],
    });
    return { index, buyer, seller, energyWh, status: TRADE_STATUS[status] ?? 'Pending', reason };
  }

  async trades(windowId: bigint, count: bigint): Promise<TradeView[]> {
    return Promise.all(Array.from({ length: Number(count) }, (_, i) => this.trade(windowId, BigInt(i))));
  }

  /** One side of the book, best first, with each order's remaining energy. */
  async book(windowId: bigint, side: 0 | 1): Promise<BookEntry[]> {
    const owners: Address[] = [];
    for (let offset = 0n; ; offset += BOOK_PAGE) {
      const page = await this.c.readContract({
        address: this.market,
        abi: energyMarketAbi,
        functionName: 'getBook',
        args: [windowId, side, offset, BOOK_PAGE],
      });
      owners.push(...page);
      if (BigInt(page.length) < BOOK_PAGE) break;
    }
    const orders = await Promise.all(owners.map((p) => this.order(windowId, p)));
    return owners
      .map((prosumer, i) => ({ prosumer, o: orders[i]! }))
      .filter(({ o }) => o.live)
      .map(({ prosumer, o }) => ({ prosumer, energyWh: o.energyWh - o.filledWh, pricePerKWh: o.pricePerKWh }));
  }

  async domain() {
    const [, name, version, chainId, verifyingContract] = await this.c.readContract({
      address: this.market,
      abi: energyMarketAbi,
      functionName: 'eip712Domain',
    });
    return { name, version, chainId: Number(chainId), verifyingContract };
  }

  async tokenDomain() {
    const [, name, version, chainId, verifyingContract] = await this.c.readContract({
      address: this.watch.config.token,
      abi: energyTokenAbi,
      functionName: 'eip712Domain',
    });
    return { name, version, chainId: Number(chainId), verifyingContract };
  }

  balance(account: Address): Promise<bigint> {
    return this.c.readContract({
      address: this.watch.config.token,
      abi: energyTokenAbi,
      functionName: 'balanceOf',
      args: [account],
    });
  }

  allowance(account: Address): Promise<bigint> {
    return this.c.readContract({
      address: this.watch.config.token,
      abi: energyTokenAbi,
      functionName: 'allowance',
      args: [account, this.market],
    });
  }

  permitNonce(account: Address): Promise<bigint> {
    return this.c.readContract({
      address: this.watch.config.token,
      abi: energyTokenAbi,
      functionName: 'nonces',
      args: [account],
    });
  }

  async prosumer(account: Address) {
    const registry = this.watch.config.registry;
    const [id, batteries, pv] = await Promise.all([
      this.c.readContract({
        address: registry,
        abi: prosumerRegistryAbi,
        functionName: 'prosumerIdOf',
        args: [account],
      }),
      this.c.readContract({
        address: registry,
        abi: prosumerRegistryAbi,
        functionName: 'batteriesOf',
        args: [account],
      }),
      this.c.readContract({
        address: registry,
        abi: prosumerRegistryAbi,
        functionName: 'pvSystemsOf',
        args: [account],
      }),
    ]);
    return { id, batteries, pv };
  }

  /** Block ranges from the deployment block to the head, LOG_RANGE blocks each. */
  ranges(from: bigint, to: bigint): { fromBlock: bigint; toBlock: bigint }[] {
    const out: { fromBlock: bigint; toBlock: bigint }[] = [];
    for (let start = from; start <= to; start += LOG_RANGE) {
      out.push({ fromBlock: start, toBlock: start + LOG_RANGE - 1n < to ? start + LOG_RANGE - 1n : to });
    }
    return out;
  }

  async openedWindows(fromBlock: bigint, toBlock: bigint): Promise<bigint[]> {
    const logs = await Promise.all(
      this.ranges(fromBlock, toBlock).map((r) =>
        this.c.getContractEvents({ address: this.market, abi: energyMarketAbi, eventName: 'WindowOpened', ...r }),
      ),
    );
    return logs.flat().flatMap((l) => (l.args.windowId === undefined ? [] : [l.args.windowId]));
  }

  /** Windows in which `account` bought or sold, from TradeMatched filtered on the indexed buyer and seller. */
  async tradedWindows(account: Address, fromBlock: bigint, toBlock: bigint): Promise<bigint[]> {
    const scan = (args: { buyer: Address } | { seller: Address }) =>
      Promise.all(
        this.ranges(fromBlock, toBlock).map((r) =>
          this.c.getContractEvents({
            address: this.market,
            abi: energyMarketAbi,
            eventName: 'TradeMatched',
            args,
            ...r,
          }),
        ),
      );
    const [bought, sold] = await Promise.all([scan({ buyer: account }), scan({ seller: account })]);
    const ids = [...bought.flat(), ...sold.flat()].flatMap((l) =>
      l.args.windowId === undefined ? [] : [l.args.windowId],
    );
    return [...new Set(ids)];
  }

  maxPrice(): Promise<bigint> {
    return this.c.readContract({ address: this.market, abi: energyMarketAbi, functionName: 'MAX_PRICE_PER_KWH' });
  }

  /** Tokens moved by a window's accepted trades (TradeSettled with status Accepted). */
  async tokensMoved(windowId: bigint, fromBlock: bigint, toBlock: bigint): Promise<bigint> {
    let total = 0n;
    for (const [, s] of await this.settled(windowId, fromBlock, toBlock)) if (s.status === 1) total += s.cost;
    return total;
  }

  /** Each settled trade of a window (TradeSettled): status and cost, by trade index. */
  async settled(
    windowId: bigint,
    fromBlock: bigint,
    toBlock: bigint,
  ): Promise<Map<bigint, { status: number; cost: bigint }>> {
    const logs = await Promise.all(
      this.ranges(fromBlock, toBlock).map((r) =>
        this.c.getContractEvents({
          address: this.market,
          abi: energyMarketAbi,
          eventName: 'TradeSettled',
          args: { windowId },
          ...r,
        }),
      ),
    );
    const out = new Map<bigint, { status: number; cost: bigint }>();
    for (const l of logs.flat()) {
      if (l.args.tradeIndex !== undefined)
        out.set(l.args.tradeIndex, { status: l.args.status ?? 0, cost: l.args.cost ?? 0n });
    }
    return out;
  }
}

export type Hash = Hex;
