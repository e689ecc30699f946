// Marketplace: the open window and its countdown, the order form (signed, through the relayer), the book as
// two step curves with where it would clear now, a suggested order, and the past windows.
import type { Chart } from 'chart.js';
import type { Hex } from 'viem';
import { data, type Hours } from '../api.js';
import { bookChart, setBook } from '../charts.js';
import { clear, stepCurve, type BookEntry } from '../clearing.js';
import { dateTime, duration, kWh, price, time, tokens } from '../format.js';
import type { OrderView, WindowView } from '../market.js';
import { type RelayedStatus } from '@p2p-energy/sdk';
import { rejectionWords, validateOrder, whyRefused } from '../orders.js';
import type { Ctx, Page } from '../page.js';
import { dataTable, errorBox, fill, h, loading, section, stat } from '../ui.js';
import { WindowList, windowLabel } from '../windows.js';

const PAGE_SIZE = 10;
const cleared = (w: WindowView) => w.status === 'Cleared' || w.status === 'Settling' || w.status === 'Settled';
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const FOLLOW_MS = 1000;
const FOLLOW_LIMIT = 180;

function field(id: string, label: string, input: HTMLInputElement, hint: string): HTMLElement {
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    input,
    h('p', { class: 'hint', id: `${id}-hint` }, hint),
    h('p', { class: 'field-error', id: `${id}-error`, 'aria-live': 'polite' }),
  );
}

export function marketplacePage(ctx: Ctx): Page {
  const d = ctx.config.windowDuration;
  const list = new WindowList(ctx.watch, ctx.reads);
  let open: WindowView | undefined;
  let mine: OrderView | undefined;
  let bids: BookEntry[] = [];
  let asks: BookEntry[] = [];
  let maxPrice: bigint | undefined;
  let pageIndex = 0;
  let chart: Chart<'scatter', { x: number; y: number }[]> | undefined;
  let following = false;
  let shownWindow: bigint | undefined;
  let forecast: { hour: number; data: Hours } | undefined;

  // The open window and the countdown.
  const windowInfo = h('div', {}, loading());
  const countdown = h('span', { id: 'countdown', 'aria-live': 'off' }, '–');
  const ownOrder = h('div', { id: 'own-order' });

  // The order form.
  const side = h(
    'select',
    { id: 'order-side', name: 'side', 'aria-describedby': 'order-side-hint' },
    h('option', { value: 'buy' }, 'Buy'),
    h('option', { value: 'sell' }, 'Sell'),
  );
  const energy = h('input', {
    id: 'order-energy',
    name: 'energy',
    inputmode: 'decimal',
    autocomplete: 'off',
    'aria-describedby': 'order-energy-hint order-energy-error',
  });
  const priceInput = h('input', {
    id: 'order-price',
    name: 'price',
    inputmode: 'decimal',
    autocomplete: 'off',
    'aria-describedby': 'order-price-hint order-price-error',
  });
  const submit = h('button', { type: 'submit', id: 'order-submit' }, 'Sign and send the order');
  const orderStatus = h('div', { id: 'order-status', 'aria-live': 'polite', tabindex: -1 });
  const closedNote = h('p', { hidden: true }, 'Orders can be placed again when the next window opens.');
  const suggestion = h('div', { id: 'suggestion' }, loading('Working out a suggestion from your forecast…'));
  const form = h(
    'form',
    { id: 'order-form', novalidate: true, onsubmit: (e: Event) => void onSubmit(e) },
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'order-side' }, 'Buy or sell'),
      side,
      h('p', { class: 'hint', id: 'order-side-hint' }, 'One order per window.'),
      h('p', { class: 'field-error', id: 'order-side-error' }),
    ),
    field('order-energy', 'Energy (kWh)', energy, 'For the delivery hour after this window, e.g. 2.5'),
    field('order-price', 'Price (tokens per kWh)', priceInput, 'Buy: the most you pay. Sell: the least you take.'),
    submit,
  );

  // The book.
  const canvas = h('canvas', { role: 'img', 'aria-label': 'Order book: demand and supply step curves' });
  const clearNow = h('p', { id: 'clear-now' });
  const chartBox = h('div', { class: 'chart' }, canvas);
  const bookTable = h('div', {});

  // Past windows.
  const past = h('div', { id: 'past-windows' }, loading());

  const el = h(
    'div',
    { class: 'page' },
    h('h1', {}, 'Marketplace'),
    section('open', 'Open window', windowInfo, ownOrder),
    section('place', 'Add a buy or sell request', closedNote, suggestion, form, orderStatus),
    section('book', 'Current book', clearNow, chartBox, bookTable),
    section('past', 'Past market windows', past),
  );

  const setError = (id: string, text: string) => {
    const e = el.querySelector(`#${id}-error`);
    if (e) e.textContent = text;
    el.querySelector(`#${id}`)?.setAttribute('aria-invalid', text ? 'true' : 'false');
  };

  const follow = async (id: Hex, what: string, done: (item: RelayedStatus) => string) => {
    following = true;
    try {
      for (let i = 0; i < FOLLOW_LIMIT; i++) {
        const item = await ctx.relay.request(id).catch(() => undefined);
        if (item && item.status !== 'queued') {
          if (item.status === 'rejected') {
            fill(orderStatus, errorBox(`${what} rejected: ${rejectionWords(item.reason ?? 'unknown reason')}.`));
          } else fill(orderStatus, h('p', { class: 'ok', role: 'status' }, done(item)));
          orderStatus.focus();
          return;
        }
        fill(
          orderStatus,
          h('p', { class: 'pending', role: 'status' }, `${what} queued at the relayer; waiting for the chain…`),
        );
        await new Promise((r) => setTimeout(r, FOLLOW_MS));
      }
      fill(orderStatus, errorBox(`${what}: the relayer has not sent it yet. It may still arrive.`));
    } finally {
      following = false;
      void page.refresh();
    }
  };

  async function onSubmit(e: Event): Promise<void> {
    e.preventDefault();
    if (following) return;
    const w = open;
    if (!w || windowLabel(w, ctx.watch.now(), d) !== 'Open') {
      fill(orderStatus, errorBox('No window is open for orders right now.'));
      return;
    }
    maxPrice ??= await ctx.reads.maxPrice();
    const check = validateOrder(side.value, energy.value, priceInput.value, maxPrice);
    setError('order-side', check.ok ? '' : (check.errors.side ?? ''));
    setError('order-energy', check.ok ? '' : (check.errors.energy ?? ''));
    setError('order-price', check.ok ? '' : (check.errors.price ?? ''));
    if (!check.ok) {
      (el.querySelector('[aria-invalid="true"]') as HTMLElement | null)?.focus();
      return;
    }
    submit.disabled = true;
    fill(orderStatus, h('p', { class: 'loading', role: 'status' }, 'Waiting for your signature…'));
    try {
      const signer = await ctx.signer();
      const { id } = await ctx.relay.placeOrder(signer, w.windowId, check.order);
      const o = check.order;
      await follow(
        id,
        'Order',
        (item) =>
          `Order placed: ${o.side === 1 ? 'sell' : 'buy'} ${kWh(o.energyWh, 3)} at ${price(o.pricePerKWh)}` +
          (item.txHash ? ` (transaction ${item.txHash.slice(0, 10)}…).` : '.'),
      );
    } catch (error) {
      const text = whyRefused(error);
      fill(orderStatus, errorBox(`The order was not sent: ${text}.`));
    } finally {
      submit.disabled = false;
    }
  }

  const onCancel = async () => {
    if (!open || following) return;
    fill(orderStatus, h('p', { class: 'loading', role: 'status' }, 'Waiting for your signature on the cancel…'));
    try {
      const id = await ctx.relay.cancel(await ctx.signer(), open.windowId);
      await follow(id, 'Cancel', () => 'Your order is cancelled; you may place a new one.');
    } catch (error) {
      const text = whyRefused(error);
      fill(orderStatus, errorBox(`The cancel was not sent: ${text}.`));
    }
  };

  const tick = () => {
    if (!open) return;
    const left = Number(open.windowId + d - ctx.watch.now());
    countdown.textContent = left > 0 ? duration(left) : 'closed, clearing…';
  };
  const timer = setInterval(tick, 1000);

  const renderOpen = () => {
    if (!open || open.status === 'None') {
      fill(windowInfo, h('p', {}, 'No window is open right now; the keeper opens one at every window boundary.'));
      fill(ownOrder);
      form.hidden = true;
      closedNote.hidden = false;
      return;
    }
    form.hidden = open.status !== 'Open' || mine?.live === true;
    closedNote.hidden = open.status === 'Open';
    if (shownWindow !== undefined && shownWindow !== open.windowId) {
      // A new window: the last one's message and values no longer apply.
      fill(orderStatus);
      energy.value = '';
      priceInput.value = '';
    }
    shownWindow = open.windowId;
    fill(
      windowInfo,
      h(
        'dl',
        { class: 'stats' },
        stat('Window', `${dateTime(open.windowId)} – ${time(open.windowId + d)}`, 'open-window'),
        stat('Closes in', countdown),
        stat('Orders', String(open.orderCount)),
      ),
    );
    tick();
    if (mine?.live) {
      fill(
        ownOrder,
        h(
          'p',
          {},
          h('strong', {}, 'Your order: '),
          `${mine.side === 1 ? 'sell' : 'buy'} ${kWh(mine.energyWh, 3)} at ${price(mine.pricePerKWh)}`,
        ),
        h(
          'button',
          { type: 'button', class: 'secondary', id: 'order-cancel', onclick: () => void onCancel() },
          'Cancel my order (signed)',
        ),
      );
    } else fill(ownOrder, h('p', {}, 'You have no order in this window.'));
  };

  const renderBook = () => {
    const c = clear(bids, asks);
    chart ??= bookChart(canvas);
    const demand = stepCurve(bids);
    const supply = stepCurve(asks);
    const point = c.energyWh > 0n ? { x: Number(c.energyWh) / 1000, y: Number(c.pricePerKWh) / 1e18 } : null;
    setBook(chart, demand, supply, point);
    chartBox.hidden = bids.length + asks.length === 0;
    fill(
      clearNow,
      c.energyWh > 0n
        ? `If the window closed now it would clear at ${price(c.pricePerKWh)} for ${kWh(c.energyWh, 3)}.`
        : bids.length + asks.length === 0
          ? 'The book is empty.'
          : 'Bids and asks do not cross: nothing would trade now.',
    );
    const rows = (entries: BookEntry[], what: string) =>
      entries.map((e) =>
        h(
          'tr',
          { class: e.prosumer === ctx.me.address ? 'own' : '' },
          h('td', {}, what),
          h('td', {}, kWh(e.energyWh, 3)),
          h('td', {}, price(e.pricePerKWh)),
        ),
      );
    fill(
      bookTable,
      bids.length + asks.length > 0 &&
        h(
          'details',
          {},
          h('summary', {}, `Show the book as a table (${plural(bids.length, 'bid')}, ${plural(asks.length, 'ask')})`),
          h(
            'table',
            { id: 'book-table' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', { scope: 'col' }, 'Side'),
                h('th', { scope: 'col' }, 'Energy'),
                h('th', { scope: 'col' }, 'Price'),
              ),
            ),
            h('tbody', {}, ...rows(bids, 'bid'), ...rows(asks, 'ask')),
          ),
        ),
    );
    return c;
  };

  const renderSuggestion = async (clearing: ReturnType<typeof clear>) => {
    if (!open || open.status !== 'Open') return fill(suggestion);
    if (mine?.live)
      return fill(suggestion, h('p', {}, 'You have an order in this window; cancel it to place another.'));
    try {
      const hourNow = Math.floor(Number(ctx.watch.now()) / 3600);
      if (!forecast || forecast.hour !== hourNow) forecast = { hour: hourNow, data: await data.forecast(12) };
      const f = forecast.data;
      const delivery = Number(open.windowId + d);
      const hour = f.hours.find((x) => x.start <= delivery && delivery < x.start + 3600) ?? f.hours[0];
      if (!hour) return fill(suggestion);
      const net = ((hour.productionWh - hour.consumptionWh) * Number(d)) / 3600;
      const wh = BigInt(Math.round((Math.abs(net) * 85) / 100));
      if (wh === 0n)
        return fill(suggestion, h('p', {}, 'Your forecast is balanced for the delivery hour: no order suggested.'));
      const sell = net > 0;
      const best = (sell ? bids[0] : asks[0])?.pricePerKWh;
      const p = clearing.pricePerKWh > 0n ? clearing.pricePerKWh : (best ?? 20n * 10n ** 18n);
      const text = `${(Number(wh) / 1000).toFixed(3)}`;
      const priceText = (Number(p) / 1e18).toFixed(2);
      fill(
        suggestion,
        h(
          'p',
          { class: 'suggestion' },
          h('strong', {}, 'Suggested: '),
          `${sell ? 'sell' : 'buy'} ${kWh(wh, 3)} at ${priceText} tokens/kWh — ` +
            `your forecast ${sell ? 'surplus' : 'deficit'} ` +
            `for ${time(delivery)} less 15 % for the weather.`,
        ),
        h(
          'button',
          {
            type: 'button',
            class: 'secondary',
            id: 'use-suggestion',
            onclick: () => {
              side.value = sell ? 'sell' : 'buy';
              energy.value = text;
              priceInput.value = priceText;
              energy.focus();
            },
          },
          'Fill in the suggestion',
        ),
      );
    } catch (error) {
      fill(suggestion, errorBox(`No suggestion: ${(error as Error).message}`));
    }
  };

  const renderPast = async () => {
    const { rows, total } = await list.page(pageIndex, PAGE_SIZE);
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    if (pageIndex >= pages) pageIndex = pages - 1;
    const go = (i: number) => () => {
      pageIndex = i;
      void renderPast().then(() =>
        (past.querySelector(i > pageIndex ? '#past-next' : '#past-prev') as HTMLElement | null)?.focus(),
      );
    };
    fill(
      past,
      total === 0
        ? h('p', {}, 'No window has been opened yet.')
        : dataTable(
            { id: 'windows-table' },
            ['Start', 'Status', 'Energy traded', 'Tokens moved', 'Clearing price'],
            rows.map((r) => ({
              attrs: { 'data-window': r.windowId.toString() },
              cells: [
                dateTime(r.windowId),
                h('span', { class: `badge ${r.label.replace(' ', '-').toLowerCase()}` }, r.label),
                cleared(r) ? kWh(r.clearedEnergyWh, 3) : '–',
                r.settledCount > 0n ? tokens(r.tokensMoved) : '–',
                cleared(r) ? price(r.clearingPrice) : '–',
              ],
            })),
          ),
      h(
        'nav',
        { class: 'pager', 'aria-label': 'Past windows pages' },
        h(
          'button',
          {
            type: 'button',
            class: 'secondary',
            id: 'past-prev',
            disabled: pageIndex === 0,
            onclick: go(pageIndex - 1),
          },
          'Newer',
        ),
        h('span', {}, `Page ${pageIndex + 1} of ${pages}`),
        h(
          'button',
          {
            type: 'button',
            class: 'secondary',
            id: 'past-next',
            disabled: pageIndex + 1 >= pages,
            onclick: go(pageIndex + 1),
          },
          'Older',
        ),
      ),
    );
  };

  const page: Page = {
    el,
    async refresh() {
      try {
        const current = await ctx.reads.currentWindow();
        open = await ctx.reads.window(current);
        mine = open.status === 'None' ? undefined : await ctx.reads.order(current, ctx.me.address);
        [bids, asks] =
          open.status === 'Open'
            ? await Promise.all([ctx.reads.book(current, 0), ctx.reads.book(current, 1)])
            : [[], []];
        renderOpen();
        const clearing = renderBook();
        await renderSuggestion(clearing);
      } catch (error) {
        fill(windowInfo, errorBox(`Cannot read the market: ${(error as Error).message.split('\n')[0]}`));
      }
      try {
        await renderPast();
      } catch (error) {
        fill(past, errorBox(`Cannot read the past windows: ${(error as Error).message.split('\n')[0]}`));
      }
    },
    dispose() {
      clearInterval(timer);
      chart?.destroy();
    },
  };
  return page;
}
