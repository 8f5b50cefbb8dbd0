import { h, s } from './dom.js';

export interface Series {
  label: string;
  colour: string;
  values: Array<number | null>;
}

const W = 560;
const H = 180;
const PAD = { left: 48, right: 12, top: 12, bottom: 26 };

function nice(max: number): number {
  if (max <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  return [1, 2, 5, 10].map((m) => m * p).find((v) => v >= max)!;
}

/**
 * A line chart of per-minute values, drawn as SVG by the page itself (no library, no inline
 * style: colours are attributes). A text summary beside it says the same for screen readers.
 */
export function lineChart(title: string, times: string[], series: Series[], unit = ''): HTMLElement {
  const all = series.flatMap((x) => x.values.filter((v): v is number => v !== null));
  const top = nice(Math.max(0, ...all));
  const n = Math.max(1, times.length - 1);
  const x = (i: number): number => PAD.left + ((W - PAD.left - PAD.right) * i) / n;
  const y = (v: number): number => H - PAD.bottom - ((H - PAD.top - PAD.bottom) * v) / top;
  const paths = series.map((line) => {
    let d = '';
    line.values.forEach((v, i) => {
      if (v === null) return;
      d += `${d === '' || line.values[i - 1] === null ? 'M' : 'L'}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
    });
    // A dot per value too: a minute alone between idle ones has no line to draw.
    const alone = (i: number): boolean => (line.values[i - 1] ?? null) === null && (line.values[i + 1] ?? null) === null;
    const dots = line.values.map((v, i) => (v === null || !alone(i) ? null : s('circle', { cx: x(i).toFixed(1), cy: y(v).toFixed(1), r: 2, fill: line.colour })));
    return [s('path', { d: d || 'M0,0', fill: 'none', stroke: line.colour, 'stroke-width': 2 }), dots];
  });
  const label = (i: number): string => (times[i] ? new Date(times[i]!).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : '');
  const svg = s(
    'svg',
    { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': `${title}: ${series.map((l) => `${l.label} total ${sum(l.values)}${unit}, peak ${Math.max(0, ...l.values.filter((v): v is number => v !== null))}${unit}`).join('; ')}` },
    s('line', { class: 'axis', x1: PAD.left, y1: H - PAD.bottom, x2: W - PAD.right, y2: H - PAD.bottom }),
    s('line', { class: 'axis', x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: H - PAD.bottom }),
    s('text', { x: PAD.left - 6, y: PAD.top + 4, 'text-anchor': 'end' }, `${top}${unit}`),
    s('text', { x: PAD.left - 6, y: H - PAD.bottom, 'text-anchor': 'end' }, `0`),
    s('text', { x: PAD.left, y: H - 8 }, label(0)),
    s('text', { x: W - PAD.right, y: H - 8, 'text-anchor': 'end' }, label(times.length - 1)),
    paths,
  );
  const legend = h('p', { class: 'muted' }, series.map((l, i) => [i ? ' · ' : '', h('span', { class: 'swatch' }, '■ '), `${l.label}`]));
  // The swatches take their line's colour through the CSSOM, which the policy allows.
  legend.querySelectorAll<HTMLElement>('.swatch').forEach((el, i) => (el.style.color = series[i]!.colour));
  return h('figure', { class: 'card' }, h('figcaption', null, h('strong', null, title)), svg, legend);
}

function sum(values: Array<number | null>): number {
  return Math.round(values.reduce<number>((a, v) => a + (v ?? 0), 0) * 1000) / 1000;
}
