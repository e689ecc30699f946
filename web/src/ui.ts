// A few DOM helpers: the pages build their markup with `h` and swap regions with `fill`.
type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | EventListener | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = String(value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'number' ? String(c) : c);
  }
}

/** Replaces the children of `el`. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** A labelled figure: `<div class="stat"><dt>label</dt><dd>value</dd></div>` inside a `<dl>`. */
export function stat(label: string, value: Child, id?: string): HTMLElement {
  return h('div', { class: 'stat' }, h('dt', {}, label), h('dd', id ? { id } : {}, value));
}

export function loading(what = 'Loading…'): HTMLElement {
  return h('p', { class: 'loading', role: 'status' }, what);
}

export function errorBox(message: string): HTMLElement {
  return h('p', { class: 'error', role: 'alert' }, message);
}

/** A section with a heading whose id labels it. */
export function section(id: string, title: string, ...children: Child[]): HTMLElement {
  return h(
    'section',
    { 'aria-labelledby': `${id}-title`, class: 'card' },
    h('h2', { id: `${id}-title` }, title),
    ...children,
  );
}

export interface Row {
  attrs?: Attrs;
  cells: Child[];
}

/** A table that stacks into labelled cards on narrow screens (each cell carries its column's name). */
export function dataTable(attrs: Attrs, headers: string[], rows: Row[]): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { ...attrs, class: `stack ${String(attrs.class ?? '')}`.trim() },
      h('thead', {}, h('tr', {}, ...headers.map((t) => h('th', { scope: 'col' }, t)))),
      h(
        'tbody',
        {},
        ...rows.map((r) =>
          h('tr', r.attrs ?? {}, ...r.cells.map((c, i) => h('td', { 'data-label': headers[i] ?? '' }, c))),
        ),
      ),
    ),
  );
}
