import { call, enc, get, send } from '../api.js';
import { lineChart } from '../chart.js';
import { field, h } from '../dom.js';
import { attempt, status } from '../notice.js';
import { section } from '../section.js';
import type { FunctionItem, Point } from '../types.js';
import type { ViewContext } from '../view.js';
import { aliasesSection, configSection, versionsSection } from './function-versions.js';
import { executionsSection, historySection, instancesSection, logsSection } from './function-activity.js';
import { objectsSection, schedulesSection } from './function-data.js';

/** One function: its traffic, a call, versions and aliases, config, instances, history, logs, executions, objects, schedules. */
export async function functionView(ctx: ViewContext): Promise<void> {
  const name = ctx.params[0]!;
  const base = `/v1/functions/${enc(name)}`;
  const fn = await get<FunctionItem>(base);
  const history = historySection(name);
  const executions = executionsSection(name);
  const instances = instancesSection(name, ctx.signal);
  const charts = chartsSection(name);
  const remove = h('button', { type: 'button', class: 'danger', onclick: () => {
    if (!confirm(`Delete ${name} with all its versions, aliases and logs?`)) return;
    void attempt(() => send('DELETE', base), `${name} deleted`, () => (location.hash = '#/functions'));
  } }, 'Delete function');
  ctx.main.replaceChildren(
    h('h1', null, `Function ${name}`),
    h('p', null, `Owner ${fn.owner} · latest ${fn.latest ?? '–'} · `, h('code', null, fn.url), ' ', remove),
    charts.el,
    callSection(name, fn.latest, () => void Promise.all([history.refresh(), executions.refresh(), charts.refresh(), instances.refresh()])),
    versionsSection(name).el,
    aliasesSection(name).el,
    configSection(name, fn.latest).el,
    instances.el,
    history.el,
    logsSection(name, ctx.signal).el,
    executions.el,
    objectsSection(name).el,
    schedulesSection(name).el,
  );
}

/** Traffic, errors, latency and cold starts per minute, from the server's series (GET /v1/functions/{name}/traffic). */
function chartsSection(name: string): ReturnType<typeof section> {
  let minutes = 60;
  const pick = h('select', { onchange: () => {
    minutes = Number(pick.value);
    void s.refresh();
  } }, [60, 360, 1440].map((m) => h('option', { value: m, selected: m === minutes }, m === 60 ? 'Last hour' : m === 360 ? 'Last 6 hours' : 'Last day')));
  const s = section('Traffic', async () => {
    const { series } = await get<{ series: Point[] }>(`/v1/functions/${enc(name)}/traffic?minutes=${minutes}`);
    const times = series.map((p) => p.time);
    return [
      h('form', { class: 'inline', onsubmit: (e: Event) => e.preventDefault() }, field('Window', pick), h('button', { type: 'button', class: 'secondary', onclick: () => void s.refresh() }, 'Refresh')),
      h('div', { class: 'grid2' },
        lineChart('Requests and errors per minute', times, [
          { label: 'requests', colour: '#0b5cad', values: series.map((p) => p.requests) },
          { label: 'errors (5xx)', colour: '#a4161a', values: series.map((p) => p.errors) },
        ]),
        lineChart('Latency', times, [
          { label: 'p50', colour: '#1e6b34', values: series.map((p) => p.p50Ms) },
          { label: 'p99', colour: '#b45309', values: series.map((p) => p.p99Ms) },
        ], ' ms'),
        lineChart('Cold starts per minute', times, [{ label: 'cold starts', colour: '#6d28d9', values: series.map((p) => p.coldStarts) }])),
    ];
  });
  return s;
}

/** Calls the function through the API (an execution, waited for): the page never holds a token for /fn. */
function callSection(name: string, latest: string | null, called: () => void): HTMLElement {
  const ref = h('input', { type: 'text', value: latest ?? '', placeholder: 'latest' });
  const path = h('input', { type: 'text', value: '/' });
  const body = h('textarea', { rows: 3 });
  const out = h('div', { 'aria-live': 'polite' });
  const run = async (): Promise<void> => {
    const q = new URLSearchParams({ path: path.value || '/', method: body.value ? 'POST' : 'GET' });
    if (ref.value) q.set('ref', ref.value);
    const accepted = (await (await call('POST', `/v1/functions/${enc(name)}/executions?${q}`, { body: body.value, headers: { 'content-type': 'text/plain' } })).json()) as { id: string };
    const ex = await get<{ status: string; result: { status: number; body: string | null } | null; error?: { detail?: string } }>(`/v1/executions/${enc(accepted.id)}?wait=30&logs=0`);
    out.replaceChildren(
      h('p', null, `Execution ${accepted.id}: ${ex.status}${ex.result ? `, status ${ex.result.status}` : ''}`),
      ex.result?.body ? h('pre', { class: 'code' }, ex.result.body) : '',
    );
    status(`Called ${name}: ${ex.status}`);
    called();
  };
  return h('section', { 'aria-labelledby': 's-call' },
    h('h2', { id: 's-call' }, 'Call'),
    h('form', { class: 'inline', onsubmit: (e: Event) => {
      e.preventDefault();
      void attempt(run);
    } }, field('Version or alias', ref), field('Path', path), field('Body (optional)', body), h('button', { type: 'submit' }, 'Call')),
    out);
}
