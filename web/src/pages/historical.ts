// Historical: consumption and production per hour, measured (past 24 h) and forecast (next 12 h), data API.
import type { Chart } from 'chart.js';
import { data, type Hours } from '../api.js';
import { hourlyChart, setHourly, type HourlySeries } from '../charts.js';
import { time } from '../format.js';
import type { Ctx, Page } from '../page.js';
import { errorBox, fill, h, loading } from '../ui.js';

type Kind = 'consumptionWh' | 'productionWh';

function series(history: Hours, forecast: Hours, kind: Kind): HourlySeries {
  const past = history.hours;
  const next = forecast.hours;
  return {
    labels: [...past, ...next].map((x) => time(x.start)),
    measured: [...past.map((x) => x[kind] / 1000), ...next.map(() => null)],
    // The forecast line starts at the last measured hour so the two lines meet.
    forecast: [
      ...past.map((x, i) => (i === past.length - 1 ? x[kind] / 1000 : null)),
      ...next.map((x) => x[kind] / 1000),
    ],
  };
}

function table(id: string, history: Hours, forecast: Hours, kind: Kind): HTMLElement {
  const row = (x: Hours['hours'][number], what: string) =>
    h('tr', {}, h('td', {}, time(x.start)), h('td', {}, what), h('td', {}, (x[kind] / 1000).toFixed(2)));
  return h(
    'details',
    {},
    h('summary', {}, 'Show the figures as a table'),
    h(
      'table',
      { id },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, 'Hour'),
          h('th', { scope: 'col' }, 'Kind'),
          h('th', { scope: 'col' }, 'kWh'),
        ),
      ),
      h('tbody', {}, ...history.hours.map((x) => row(x, 'measured')), ...forecast.hours.map((x) => row(x, 'forecast'))),
    ),
  );
}

export function historicalPage(ctx: Ctx): Page {
  const charts: Partial<Record<Kind, Chart<'line', (number | null)[], string>>> = {};
  const status = h('div', {}, loading('Loading your meter data…'));
  const block = (kind: Kind, title: string) => {
    const canvas = h('canvas', { role: 'img', 'aria-label': `${title} per hour: measured and forecast, in kWh` });
    const tableSlot = h('div', { id: `${kind}-table` });
    const el = h(
      'section',
      { class: 'card', 'aria-labelledby': `${kind}-title` },
      h('h2', { id: `${kind}-title` }, title),
      h('div', { class: 'chart' }, canvas),
      tableSlot,
    );
    return { el, canvas, tableSlot };
  };
  const consumption = block('consumptionWh', 'Consumption');
  const production = block('productionWh', 'Production');
  const el = h(
    'div',
    { class: 'page' },
    h('h1', {}, 'Historical'),
    h('p', {}, 'Energy per hour in kWh: measured over the past 24 hours, forecast for the next 12.'),
    status,
    h('div', { class: 'grid' }, consumption.el, production.el),
  );
  let lastHour = -1;
  return {
    el,
    async refresh() {
      const hour = Math.floor(Number(ctx.watch.now()) / 3600);
      if (hour === lastHour) return;
      try {
        const [history, forecast] = await Promise.all([data.history(24), data.forecast(12)]);
        lastHour = hour;
        fill(status);
        for (const [kind, b] of [
          ['consumptionWh', consumption],
          ['productionWh', production],
        ] as const) {
          charts[kind] ??= hourlyChart(b.canvas, 'kWh');
          setHourly(charts[kind], series(history, forecast, kind));
          fill(b.tableSlot, table(`${kind}-data`, history, forecast, kind));
        }
      } catch (error) {
        fill(status, errorBox(`Cannot load your meter data: ${(error as Error).message}`));
      }
    },
    dispose() {
      for (const c of Object.values(charts)) c.destroy();
    },
  };
}
