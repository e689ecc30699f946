// Typed reads of the market, the token and the registry from the browser (generated ABIs), and event scans.
import type { Address, Hex } from 'viem';
import {
  blockSpans,
  energyMarketAbi,
  energyTokenAbi,
  matchedTrades,
  prosumerRegistryAbi,
  readTrade,
  readTrades,
  readWindowState,
  type RejectReason,
  type SettledTrade,
  settledTrades,
  type Trade,
  type WindowState,
} from '@p2p-energy/sdk';
import type { ChainWatch } from './chain.js';
import type { BookEntry } from './clearing.js';

export const REJECT_WORDS: Record<RejectReason, string> = {
  None: '',
  MissingReading: 'a meter reading is missing',
  SellerShortfall: 'seller delivered less than sold',
  BuyerShortfall: 'buyer consumed less than bought',
  InsufficientFunds: 'buyer lacked tokens or allowance',
};

export type WindowView = WindowState;
export type TradeView = Trade;

export interface OrderView {
  side: 0 | 1;
  energyWh: bigint;
  pricePerKWh: bigint;
  filledWh: bigint;
  live: boolean;
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

  window(id: bigint): Promise<WindowView> {
    return readWindowState(this.c, this.market, id);
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

  trade(windowId: bigint, index: bigint): Promise<TradeView> {
    return readTrade(this.c, this.market, windowId, index);
  }

  trades(windowId: bigint, count: bigint): Promise<TradeView[]> {
    return readTrades(this.c, this.market, windowId, count);
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

  async openedWindows(fromBlock: bigint, toBlock: bigint): Promise<bigint[]> {
    const logs = await Promise.all(
      (await blockSpans(this.c, { fromBlock, toBlock, logRange: LOG_RANGE })).map((r) =>
        this.c.getContractEvents({ address: this.market, abi: energyMarketAbi, eventName: 'WindowOpened', ...r }),
      ),
    );
    return logs.flat().flatMap((l) => (l.args.windowId === undefined ? [] : [l.args.windowId]));
  }

  /** Windows in which `account` bought or sold (the SDK's TradeMatched scan on the indexed buyer and seller). */
  async tradedWindows(account: Address, fromBlock: bigint, toBlock: bigint): Promise<bigint[]> {
    const trades = await matchedTrades(this.c, this.market, account, { fromBlock, toBlock, logRange: LOG_RANGE });
    return [...new Set(trades.map((t) => t.windowId))];
  }

  maxPrice(): Promise<bigint> {
    return this.c.readContract({ address: this.market, abi: energyMarketAbi, functionName: 'MAX_PRICE_PER_KWH' });
  }

  /** Tokens moved by a window's accepted trades (TradeSettled with status Accepted). */
  async tokensMoved(windowId: bigint, fromBlock: bigint, toBlock: bigint): Promise<bigint> {
    let total = 0n;
    for (const [, s] of await this.settled(windowId, fromBlock, toBlock)) if (s.status === 'Accepted') total += s.cost;
    return total;
  }

  /** Each settled trade of a window (TradeSettled): status and cost, by trade index. */
  settled(windowId: bigint, fromBlock: bigint, toBlock: bigint): Promise<Map<bigint, SettledTrade>> {
    return settledTrades(this.c, this.market, windowId, { fromBlock, toBlock, logRange: LOG_RANGE });
  }
}

export type Hash = Hex;
