// The bidding agent (the original platform's "user node"): for each household it acts for, when a window is
// open it computes the hour's net position from the forecasts and device plans and, beyond a threshold, signs
// one order and submits it through the relayer. Never two orders in a window: it checks its placement record
// and the chain's `orderNonce` first, so a restart does not repeat a placement.
import type { Address, Chain, LocalAccount, PublicClient, Transport } from 'viem';
import { energyMarketAbi, readSigningDomains, RelayerClient, RelayerRefusal } from '@p2p-energy/sdk';
import { MarketReader } from '../chain.js';
import type { ForecastSource } from '../forecasts/types.js';
import { pairKey, validateForecasts, type InputRejection } from '../forecasts/validate.js';
import type { Logger } from '../log.js';
import type { ProsumerContext } from '../meters/types.js';
import type { PlanSource } from '../plans/types.js';
import { validatePlans } from '../plans/validate.js';
import type { AgentMetrics, Decision } from './metrics.js';
import type { PlacementStore } from './placements.js';
import { BUY, netPosition, orderFor } from './position.js';
import { limitPrice, recentClearingPrices, type PriceStrategy } from './price.js';

export interface AgentHousehold {
  account: LocalAccount;
  /** manual: the agent never places an order for it. */
  mode: 'auto' | 'manual';
  price: PriceStrategy;
}

/** An order this agent signed and the relayer accepted. */
export interface SubmittedOrder {
  prosumer: Address;
  side: 0 | 1;
  energyWh: bigint;
  pricePerKWh: bigint;
  requestId: string;
}

export interface AgentSettings {
  thresholdWh: bigint;
  pollIntervalMs: number;
  /** No new order in the last seconds of a window (the relayer needs time to place it). */
  closeMarginS: number;
  /** How many windows back the median strategy looks for clearing prices. */
  medianScanWindows: number;
}

export interface AgentDeps {
  client: PublicClient<Transport, Chain>;
  market: Address;
  relayerUrl: string;
  forecasts: ForecastSource;
  plans: PlanSource;
  placements: PlacementStore;
  metrics: AgentMetrics;
  log: Logger;
}

/** Decisions that end the household's business with the window (the others are retried next poll). */
const FINAL = new Set<Decision>([
  'placed',
  'manual',
  'already_placed',
  'below_threshold',
  'refused_input',
  'relayer_refused',
  'too_late',
]);

export class BiddingAgent {
  private stopping = false;
  private wake: (() => void) | undefined;
  private readonly finished = new Map<bigint, Set<Address>>();
  private readonly orders = new Map<bigint, SubmittedOrder[]>();

  private constructor(
    private readonly settings: AgentSettings,
    private readonly households: AgentHousehold[],
    private readonly deps: AgentDeps,
    private readonly reader: MarketReader,
    private readonly relayer: RelayerClient,
    private readonly registry: Address,
    private readonly duration: bigint,
  ) {}

  static async create(settings: AgentSettings, households: AgentHousehold[], deps: AgentDeps): Promise<BiddingAgent> {
    const reader = new MarketReader(deps.client, deps.market);
    const [registry, duration, token] = await Promise.all([
      reader.registry(),
      reader.windowDuration(),
      deps.client.readContract({ address: deps.market, abi: energyMarketAbi, functionName: 'token' }),
    ]);
    const relayer = new RelayerClient(deps.relayerUrl, await readSigningDomains(deps.client, deps.market, token));
    deps.log.info(
      { households: households.map((h) => ({ account: h.account.address, mode: h.mode, price: h.price.strategy })) },
      'agent configured',
    );
    return new BiddingAgent(settings, households, deps, reader, relayer, registry, duration);
  }

  /** Acts for every household on `windowId` (must be Open); returns each household's decision. */
  async actOn(windowId: bigint): Promise<Map<Address, Decision>> {
    const decisions = new Map<Address, Decision>();
    const done = this.finished.get(windowId) ?? new Set<Address>();
    this.finished.set(windowId, done);
    const log = this.deps.log.child({ windowId: windowId.toString() });
    const decide = (h: AgentHousehold, d: Decision) => {
      decisions.set(h.account.address, d);
      if (FINAL.has(d)) {
        if (!done.has(h.account.address)) this.deps.metrics.decisions.inc({ decision: d });
        done.add(h.account.address);
      } else {
        this.deps.metrics.decisions.inc({ decision: d });
      }
    };
    const todo: AgentHousehold[] = [];
    for (const h of this.households.filter((x) => !done.has(x.account.address))) {
      if (h.mode === 'manual') {
        log.info({ household: h.account.address }, 'manual household: no automatic order');
        decide(h, 'manual');
      } else if (await this.alreadyPlaced(windowId, h.account.address)) {
        decide(h, 'already_placed');
      } else {
        todo.push(h);
      }
    }
    if (todo.length === 0) return decisions;
    const contexts = await Promise.all(todo.map((h) => this.assets(h.account.address)));
    const d = Number(this.duration);
    const inputs = await Promise.all([
      this.deps.forecasts.fetch([windowId], d, contexts),
      this.deps.plans.fetch([windowId], d, contexts),
    ]).catch((error: unknown) => {
      log.error(
        { err: error, forecasts: this.deps.forecasts.name, plans: this.deps.plans.name },
        'input source failed; will retry',
      );
      return undefined;
    });
    if (inputs === undefined) {
      for (const h of todo) decide(h, 'source_failed');
      return decisions;
    }
    const [forecasts, plans] = inputs;
    const f = validateForecasts(forecasts, contexts, [windowId], d);
    const p = validatePlans(plans, contexts, [windowId], d);
    this.report('forecast', f.rejected, log);
    this.report('plan', p.rejected, log);
    let history: bigint[] | undefined;
    for (const [i, h] of todo.entries()) {
      const account = h.account.address;
      const hlog = log.child({ household: account });
      const forecast = f.valid.get(pairKey(account, windowId));
      const plan = p.valid.get(pairKey(account, windowId));
      if (!forecast || !plan) {
        hlog.warn({ forecast: forecast ? 'ok' : 'refused', plan: plan ? 'ok' : 'refused' }, 'no order: input refused');
        decide(h, 'refused_input');
        continue;
      }
      const net = netPosition(forecast, plan);
      const order = orderFor(net, this.settings.thresholdWh, contexts[i] as ProsumerContext, d);
      if (!order) {
        hlog.info({ netWh: net.toString() }, 'no order: net position within the threshold');
        decide(h, 'below_threshold');
        continue;
      }
      if (order.capped) this.deps.metrics.capped.inc();
      if (h.price.strategy === 'median' && history === undefined) {
        history = await recentClearingPrices(
          this.reader,
          windowId,
          this.duration,
          1_000,
          this.settings.medianScanWindows,
        );
      }
      const pricePerKWh = limitPrice(h.price, order.side, history ?? []);
      decide(h, await this.submit(h, windowId, { ...order, pricePerKWh, net }, hlog));
    }
    return decisions;
  }

  private async submit(
    h: AgentHousehold,
    windowId: bigint,
    o: { side: 0 | 1; energyWh: bigint; pricePerKWh: bigint; net: bigint; capped: boolean },
    log: Logger,
  ): Promise<Decision> {
    const now = (await this.deps.client.getBlock({ blockTag: 'latest' })).timestamp;
    if (now >= windowId + this.duration - BigInt(this.settings.closeMarginS)) {
      log.warn('no order: too close to the end of the window');
      return 'too_late';
    }
    const side = o.side === BUY ? 'buy' : 'sell';
    const fields = { side, energyWh: o.energyWh.toString(), pricePerKWh: o.pricePerKWh.toString() } as const;
    try {
      const requestId = await this.relayer.submitOrder(h.account, {
        windowId,
        side: o.side,
        energyWh: o.energyWh,
        pricePerKWh: o.pricePerKWh,
        nonce: 0n,
      });
      await this.deps.placements.record({
        windowId: windowId.toString(),
        prosumer: h.account.address,
        requestId,
        ...fields,
        at: new Date().toISOString(),
      });
      log.info({ ...fields, netWh: o.net.toString(), capped: o.capped, requestId }, 'order signed and submitted');
      const list = this.orders.get(windowId) ?? [];
      list.push({
        prosumer: h.account.address,
        side: o.side,
        energyWh: o.energyWh,
        pricePerKWh: o.pricePerKWh,
        requestId,
      });
      this.orders.set(windowId, list);
      return 'placed';
    } catch (error) {
      if (error instanceof RelayerRefusal && error.code === 'ALREADY_QUEUED') {
        await this.deps.placements.record({
          windowId: windowId.toString(),
          prosumer: h.account.address,
          requestId: 'queued',
          at: new Date().toISOString(),
        });
        log.info('an order of this household is queued at the relayer already');
        return 'already_placed';
      }
      if (error instanceof RelayerRefusal && error.status < 500 && error.status !== 429) {
        log.warn({ status: error.status, code: error.code, err: error.message }, 'no order: the relayer refused it');
        return 'relayer_refused';
      }
      log.warn({ err: error }, 'relayer unreachable; will retry');
      return 'source_failed';
    }
  }

  /** In the record, or the chain has an order of it in the window (`orderNonce` > 0: placed, maybe cancelled). */
  private async alreadyPlaced(windowId: bigint, account: Address): Promise<boolean> {
    if (this.deps.placements.has(windowId, account)) return true;
    const nonce = await this.deps.client.readContract({
      address: this.deps.market,
      abi: energyMarketAbi,
      functionName: 'orderNonce',
      args: [windowId, account],
    });
    if (nonce === 0n) return false;
    await this.deps.placements.record({
      windowId: windowId.toString(),
      prosumer: account,
      requestId: 'chain',
      at: new Date().toISOString(),
    });
    return true;
  }

  private async assets(account: Address): Promise<ProsumerContext> {
    return { account, ...(await this.reader.assetTotals(this.registry, account)) };
  }

  private report(input: 'forecast' | 'plan', rejected: InputRejection[], log: Logger): void {
    for (const r of rejected) {
      this.deps.metrics.inputsRejected.inc({ input, reason: r.reason });
      log.warn(
        { input, prosumer: r.prosumer, reason: r.reason, detail: r.detail },
        `${input} refused; no order from it`,
      );
    }
  }

  /** The orders this process submitted for `windowId` (the last day's windows are kept). */
  submitted(windowId: bigint): SubmittedOrder[] {
    return [...(this.orders.get(windowId) ?? [])];
  }

  /** One poll: acts on the current window if it is open. */
  async tick(): Promise<Map<Address, Decision> | undefined> {
    const now = (await this.deps.client.getBlock({ blockTag: 'latest' })).timestamp;
    const current = now - (now % this.duration);
    for (const w of this.finished.keys()) if (w < current) this.finished.delete(w);
    for (const w of this.orders.keys()) if (w < current - 24n * this.duration) this.orders.delete(w);
    const window = await this.reader.window(current);
    if (window.status !== 'Open') return undefined;
    if ((this.finished.get(current)?.size ?? 0) === this.households.length) return undefined;
    return this.actOn(current);
  }

  async run(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.tick();
      } catch (error) {
        this.deps.log.error({ err: error }, 'agent poll failed; will retry');
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.settings.pollIntervalMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  stop(): void {
    this.stopping = true;
    this.wake?.();
  }
}
