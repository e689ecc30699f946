// Wallet: token balance, the market's allowance (a one-click ERC-2612 permit through the relayer when it is too
// small), and every trade of the windows the prosumer traded in, grouped by window, its own in bold.
import { dateTime, kWh, price, short, tokens } from '../format.js';
import { REJECT_WORDS, type TradeView, type WindowView } from '../market.js';
import { rejectionWords, whyRefused } from '../orders.js';
import type { Ctx, Page } from '../page.js';
import { dataTable, errorBox, fill, h, loading, section, stat } from '../ui.js';

interface WindowTrades {
  window: WindowView;
  trades: TradeView[];
}

const cost = (t: TradeView, w: WindowView) => (t.energyWh * w.clearingPrice) / 1000n;

export function walletPage(ctx: Ctx): Page {
  const me = ctx.me.address;
  const funds = h('div', {}, loading());
  const permitStatus = h('div', { id: 'permit-status', 'aria-live': 'polite' });
  const tradesBox = h('div', { id: 'trades' }, loading());
  const final = new Map<bigint, WindowTrades>();
  let permitting = false;
  // Windows the prosumer traded in, scanned once from the start block, then only the blocks since.
  const traded = new Set<bigint>();
  let scannedTo: bigint | undefined;
  const tradedWindows = async (): Promise<bigint[]> => {
    const head = ctx.watch.head?.number ?? 0n;
    const from = scannedTo === undefined ? ctx.config.startBlock : scannedTo + 1n;
    if (from <= head) {
      for (const id of await ctx.reads.tradedWindows(me, from, head)) traded.add(id);
      scannedTo = head;
    }
    return [...traded];
  };

  const el = h(
    'div',
    { class: 'page' },
    h('h1', {}, 'Wallet'),
    section('funds', 'Tokens', funds, permitStatus),
    section(
      'trades',
      'Your trades by window',
      h(
        'p',
        { class: 'legend' },
        h('span', { class: 'badge pending' }, 'Pending'),
        ' not settled yet · ',
        h('span', { class: 'badge accepted' }, 'Accepted'),
        ' paid · ',
        h('span', { class: 'badge rejected' }, 'Rejected'),
        ' no tokens moved. Your own trades are in bold.',
      ),
      tradesBox,
    ),
  );

  const onPermit = async () => {
    if (permitting) return;
    permitting = true;
    fill(permitStatus, h('p', { class: 'loading', role: 'status' }, 'Waiting for your signature on the permit…'));
    try {
      const id = await ctx.relay.permit(await ctx.signer(), ctx.watch.now());
      for (let i = 0; i < 120; i++) {
        const item = await ctx.relay.request(id).catch(() => undefined);
        if (item?.status === 'relayed') {
          fill(
            permitStatus,
            h('p', { class: 'ok', role: 'status' }, 'Allowance granted: the market may now collect your payments.'),
          );
          return;
        }
        if (item?.status === 'rejected') {
          fill(permitStatus, errorBox(`The permit was rejected: ${rejectionWords(item.reason ?? 'unknown')}.`));
          return;
        }
        fill(permitStatus, h('p', { class: 'pending', role: 'status' }, 'Permit queued at the relayer…'));
        await new Promise((r) => setTimeout(r, 1000));
      }
    } catch (error) {
      const text = whyRefused(error);
      fill(permitStatus, errorBox(`The permit was not sent: ${text}.`));
    } finally {
      permitting = false;
      void page.refresh();
    }
  };

  const windowTrades = async (id: bigint): Promise<WindowTrades> => {
    const cached = final.get(id);
    if (cached) return cached;
    const window = await ctx.reads.window(id);
    const result = { window, trades: await ctx.reads.trades(id, window.tradeCount) };
    if (window.status === 'Settled') final.set(id, result);
    return result;
  };

  const renderTrades = (groups: WindowTrades[]) => {
    if (groups.length === 0) return fill(tradesBox, h('p', {}, 'You have not traded yet.'));
    fill(
      tradesBox,
      ...groups.map(({ window: w, trades }) =>
        h(
          'div',
          { class: 'window-trades', 'data-window': w.windowId.toString() },
          h('h3', {}, `Window ${dateTime(w.windowId)} · ${w.status} · ${price(w.clearingPrice)}`),
          dataTable(
            {},
            ['#', 'Buyer', 'Seller', 'Energy', 'Cost', 'Status'],
            trades.map((t) => {
              const own = t.buyer === me || t.seller === me;
              const role = t.buyer === me ? 'you bought' : t.seller === me ? 'you sold' : '';
              const why = t.status === 'Rejected' ? `: ${REJECT_WORDS[t.reason] ?? 'rejected'}` : '';
              return {
                attrs: {
                  class: `trade ${t.status.toLowerCase()}${own ? ' own' : ''}`,
                  'data-trade': t.index.toString(),
                },
                cells: [
                  String(t.index),
                  h('span', { title: t.buyer }, t.buyer === me ? 'you' : short(t.buyer)),
                  h('span', { title: t.seller }, t.seller === me ? 'you' : short(t.seller)),
                  kWh(t.energyWh, 3),
                  tokens(cost(t, w)),
                  h(
                    'span',
                    {},
                    h('span', { class: `badge ${t.status.toLowerCase()}` }, t.status),
                    why,
                    role ? h('span', { class: 'sr-only' }, ` (${role})`) : null,
                  ),
                ],
              };
            }),
          ),
        ),
      ),
    );
  };

  const page: Page = {
    el,
    async refresh() {
      try {
        const current = await ctx.reads.currentWindow();
        const [balance, allowance, order, ids] = await Promise.all([
          ctx.reads.balance(me),
          ctx.reads.allowance(me),
          ctx.reads.order(current, me),
          tradedWindows(),
        ]);
        const groups = await Promise.all([...ids].sort((a, b) => (a > b ? -1 : 1)).map(windowTrades));
        // What the market may still collect: the open buy order at its limit price, and the pending purchases.
        const openBuy = order.live && order.side === 0 ? (order.energyWh * order.pricePerKWh) / 1000n : 0n;
        const pending = groups.flatMap((g) =>
          g.trades.filter((t) => t.buyer === me && t.status === 'Pending').map((t) => cost(t, g.window)),
        );
        const needed = pending.reduce((a, b) => a + b, openBuy);
        const short = allowance < needed;
        fill(
          funds,
          h(
            'dl',
            { class: 'stats' },
            stat('Balance', tokens(balance), 'balance'),
            stat('Market allowance', allowance > 10n ** 60n ? 'unlimited' : tokens(allowance), 'allowance'),
            stat('Needed for open orders', tokens(needed), 'needed'),
          ),
          balance < needed
            ? errorBox('Your balance does not cover your open orders: those trades would be rejected.')
            : null,
          short
            ? h(
                'div',
                { class: 'notice', id: 'allowance-low' },
                h('p', {}, "The market's allowance is too small for your open orders."),
                h(
                  'button',
                  { type: 'button', id: 'permit', onclick: () => void onPermit() },
                  'Grant the allowance (sign a permit)',
                ),
              )
            : null,
        );
        renderTrades(groups);
      } catch (error) {
        fill(tradesBox, errorBox(`Cannot read your trades: ${(error as Error).message.split('\n')[0]}`));
      }
    },
  };
  return page;
}
