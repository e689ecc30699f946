// Home: the prosumer's ID and account, its batteries and PV systems (registry), the battery's charge (data API).
import { data, type Battery } from '../api.js';
import { kW, kWh } from '../format.js';
import type { Ctx, Page } from '../page.js';
import { errorBox, fill, h, loading, section, stat } from '../ui.js';

export function homePage(ctx: Ctx): Page {
  const identity = h(
    'dl',
    { class: 'stats' },
    stat('Prosumer ID', `#${ctx.me.prosumerId}`),
    stat('Account', h('code', { class: 'address' }, ctx.me.address)),
  );
  const assets = h('div', {}, loading());
  const charge = h('div', {}, loading("Loading the battery's charge…"));
  const el = h(
    'div',
    { class: 'page' },
    h('h1', {}, 'Home'),
    section('who', 'Your household', identity),
    section('charge', 'Battery charge', charge),
    section('assets', 'Batteries and PV systems', assets),
  );
  let battery: Battery | undefined;
  let lastHour = -1;

  const renderCharge = (b: Battery) => {
    if (b.capacityWh === 0) return fill(charge, h('p', {}, 'No battery is registered for this household.'));
    if (b.chargeWh === null) return fill(charge, h('p', {}, "No measurement of the battery's charge yet."));
    const pct = Math.round((100 * b.chargeWh) / b.capacityWh);
    fill(
      charge,
      h(
        'dl',
        { class: 'stats' },
        stat('Current charge', kWh(b.chargeWh, 1), 'battery-charge'),
        stat('Capacity', kWh(b.capacityWh, 1)),
        stat('Full', `${pct} %`),
      ),
      h('meter', { min: 0, max: b.capacityWh, value: b.chargeWh, 'aria-label': 'Battery charge' }),
    );
  };

  return {
    el,
    async refresh() {
      const hour = Math.floor(Number(ctx.watch.now()) / 3600);
      if (!battery || hour !== lastHour) {
        try {
          battery = await data.battery();
          lastHour = hour;
          renderCharge(battery);
        } catch (error) {
          fill(charge, errorBox(`Cannot read the battery's charge: ${(error as Error).message}`));
        }
      }
      try {
        const p = await ctx.reads.prosumer(ctx.me.address);
        // The measured charge is the household's: it belongs to a row only when there is one battery.
        const chargeOf = (i: number) =>
          p.batteries.length === 1 && battery?.chargeWh != null ? kWh(battery.chargeWh, 1) : i === 0 ? 'see above' : '';
        fill(
          assets,
          h('h3', {}, 'Batteries'),
          p.batteries.length === 0
            ? h('p', {}, 'None registered.')
            : h(
                'table',
                { id: 'batteries' },
                h(
                  'thead',
                  {},
                  h(
                    'tr',
                    {},
                    h('th', { scope: 'col' }, 'Battery'),
                    h('th', { scope: 'col' }, 'Power'),
                    h('th', { scope: 'col' }, 'Capacity'),
                    h('th', { scope: 'col' }, 'Current charge'),
                  ),
                ),
                h(
                  'tbody',
                  {},
                  ...p.batteries.map((b, i) =>
                    h(
                      'tr',
                      {},
                      h('td', {}, `#${i + 1}`),
                      h('td', {}, kW(b.powerW)),
                      h('td', {}, kWh(b.capacityWh, 1)),
                      h('td', {}, chargeOf(i)),
                    ),
                  ),
                ),
              ),
          h('h3', {}, 'PV systems'),
          p.pv.length === 0
            ? h('p', {}, 'None registered.')
            : h(
                'table',
                { id: 'pv-systems' },
                h(
                  'thead',
                  {},
                  h('tr', {}, h('th', { scope: 'col' }, 'PV system'), h('th', { scope: 'col' }, 'Peak power')),
                ),
                h(
                  'tbody',
                  {},
                  ...p.pv.map((s, i) => h('tr', {}, h('td', {}, `#${i + 1}`), h('td', {}, kW(s.peakPowerW)))),
                ),
              ),
        );
      } catch (error) {
        fill(assets, errorBox(`Cannot read the registry: ${(error as Error).message.split('\n')[0]}`));
      }
    },
  };
}
