// Building the page from data without innerHTML: every name, log line and body is text, never markup.

export type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, unknown> | null | undefined;

function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

function setAttrs(el: Element, attrs: Attrs): void {
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v as EventListener);
    else el.setAttribute(k === 'className' ? 'class' : k, v === true ? '' : String(v));
  }
}

/** An HTML element with attributes (`onclick`: a listener) and children (strings become text). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** An SVG element, as `h` builds HTML ones. */
export function s(tag: string, attrs?: Attrs, ...children: Child[]): SVGElement {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

let fieldIds = 0;

/** A labelled form field: the label names the input for screen readers. */
export function field(label: string, input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement): HTMLElement {
  input.id ||= `f${++fieldIds}`;
  return h('div', null, h('label', { for: input.id }, label), input);
}

/** A table with a header row; `rows` empty shows `empty` in one cell. */
export function table(caption: string, head: string[], rows: Child[][], empty = 'None yet.', numeric: number[] = []): HTMLTableElement {
  const cell = (tag: 'th' | 'td', c: Child, i: number): HTMLElement => h(tag, numeric.includes(i) ? { class: 'num', ...(tag === 'th' ? { scope: 'col' } : {}) } : tag === 'th' ? { scope: 'col' } : null, c);
  return h(
    'table',
    null,
    h('caption', { class: 'muted' }, caption),
    h('thead', null, h('tr', null, head.map((x, i) => cell('th', x, i)))),
    h('tbody', null, rows.length ? rows.map((r) => h('tr', null, r.map((c, i) => cell('td', c, i)))) : h('tr', null, h('td', { colspan: head.length, class: 'muted' }, empty))),
  );
}

/** Milliseconds as people read them. */
export function ms(v: number | null | undefined): string {
  if (v === null || v === undefined) return '–';
  return v < 1 ? `${v.toFixed(2)} ms` : v < 1000 ? `${Math.round(v * 10) / 10} ms` : `${(v / 1000).toFixed(2)} s`;
}

/** A size as people read it: bytes, KiB or MiB. */
export function bytes(n: number): string {
  return n < 10_240 ? `${n} B` : n < 10 * 1024 * 1024 ? `${Math.round(n / 1024)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function when(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '–';
}

export function badge(text: string): HTMLElement {
  return h('span', { class: `badge ${text}` }, text);
}
