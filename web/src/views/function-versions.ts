import { call, enc, get, send } from '../api.js';
import { bytes, field, h, table, when } from '../dom.js';
import { attempt } from '../notice.js';
import { section } from '../section.js';
import type { Alias, Version } from '../types.js';

export function versionsSection(name: string): ReturnType<typeof section> {
  const base = `/v1/functions/${enc(name)}`;
  const log = h('pre', { class: 'log', hidden: true });
  const s = section('Versions', async () => {
    const { versions } = await get<{ versions: Version[] }>(`${base}/versions`);
    const action = (v: Version, what: 'start' | 'stop'): HTMLElement =>
      h('button', { type: 'button', class: 'secondary', 'aria-label': `${what} ${v.version}`, onclick: () => void attempt(() => send('POST', `${base}/versions/${enc(v.version)}/${what}`), `${v.version}: ${what} done`) }, what === 'start' ? 'Start' : 'Stop');
    const buildLog = (v: Version): HTMLElement =>
      h('button', { type: 'button', class: 'link', onclick: () => void attempt(async () => {
        log.textContent = await (await call('GET', `${base}/versions/${enc(v.version)}/build-log`)).text() || '(empty build log)';
        log.hidden = false;
      }) }, 'build log');
    return [
      table(`Versions of ${name}`, ['Version', 'Created', 'Runtime', 'Package', 'Actions'], versions.map((v) => [v.version, when(v.createdAt), v.config.runtime, bytes(v.packageSize), [action(v, 'start'), ' ', action(v, 'stop'), ' ', buildLog(v)]])),
      log,
    ];
  });
  return s;
}

/** The weights of an alias as a map (a plain alias is all on its one version). */
function weightsOf(a: Alias): Record<string, number> {
  const t = a.target as { version?: string; weights?: Record<string, number> };
  return t.weights ?? (t.version ? { [t.version]: 100 } : {});
}

/**
 * Aliases, each with a canary slider: the share of calls its canary version gets, the rest going
 * to its stable one. Saving puts the weights (PUT .../aliases/{alias}); a plain alias becomes a
 * split as soon as a canary is chosen.
 */
export function aliasesSection(name: string): ReturnType<typeof section> {
  const base = `/v1/functions/${enc(name)}`;
  const s = section('Aliases', async () => {
    const [{ aliases }, { versions }] = await Promise.all([get<{ aliases: Alias[] }>(`${base}/aliases`), get<{ versions: Version[] }>(`${base}/versions`)]);
    const names = versions.map((v) => v.version);
    const editors = aliases.map((a) => aliasEditor(base, a, names, () => void s.refresh()));
    const alias = h('input', { type: 'text', required: true, pattern: '[a-z][a-z0-9-]*' });
    const version = h('select', null, names.map((v) => h('option', { value: v }, v)));
    const add = h('form', { class: 'inline', 'aria-label': 'New alias', onsubmit: (e: Event) => {
      e.preventDefault();
      void attempt(() => send('PUT', `${base}/aliases/${enc(alias.value)}`, { version: version.value }), `alias ${alias.value} set`, () => s.refresh());
    } }, field('New alias', alias), field('Version', version), h('button', { type: 'submit' }, 'Add alias'));
    return [...(editors.length ? editors : [h('p', { class: 'muted' }, 'No aliases yet.')]), add];
  });
  return s;
}

function aliasEditor(base: string, a: Alias, versions: string[], saved: () => void): HTMLElement {
  const weights = weightsOf(a);
  const ranked = Object.entries(weights).sort((x, y) => y[1] - x[1]);
  const stable = h('select', null, versions.map((v) => h('option', { value: v, selected: v === ranked[0]?.[0] }, v)));
  const canaryDefault = ranked[1]?.[0] ?? versions.filter((v) => v !== ranked[0]?.[0]).at(-1) ?? '';
  const canary = h('select', null, versions.map((v) => h('option', { value: v, selected: v === canaryDefault }, v)));
  const total = Object.values(weights).reduce((x, y) => x + y, 0) || 1;
  const share = Math.round(((weights[canaryDefault] ?? 0) / total) * 100);
  const slider = h('input', { type: 'range', min: 0, max: 100, step: 1, value: share, 'aria-valuetext': `${share}% to the canary` });
  const shown = h('output', null, `${share}%`);
  const sync = (): void => {
    shown.textContent = `${slider.value}% to ${canary.value}, ${100 - Number(slider.value)}% to ${stable.value}`;
    slider.setAttribute('aria-valuetext', shown.textContent);
  };
  slider.addEventListener('input', sync);
  canary.addEventListener('change', sync);
  stable.addEventListener('change', sync);
  sync();
  const save = (): Promise<unknown> => {
    const p = Number(slider.value);
    const body = stable.value === canary.value || p === 0 ? { version: stable.value } : p === 100 ? { version: canary.value } : { weights: { [stable.value]: 100 - p, [canary.value]: p } };
    return send('PUT', `${base}/aliases/${enc(a.alias)}`, body);
  };
  const current = Object.entries(weights).map(([v, w]) => `${v} ${Math.round((w / total) * 100)}%`).join(', ');
  return h('div', { class: 'card' },
    h('h3', null, `Alias ${a.alias}`),
    h('p', { class: 'muted' }, `Now: ${current}`),
    h('form', { class: 'weights', 'aria-label': `Weights of ${a.alias}`, onsubmit: (e: Event) => {
      e.preventDefault();
      void attempt(save, `alias ${a.alias} saved`, () => saved());
    } },
      field('Stable version', stable),
      field('Canary version', canary),
      field(`Canary share of ${a.alias}`, slider),
      shown,
      h('button', { type: 'submit' }, 'Save weights'),
      h('button', { type: 'button', class: 'danger', onclick: () => {
        if (confirm(`Remove alias ${a.alias}?`)) void attempt(() => send('DELETE', `${base}/aliases/${enc(a.alias)}`), `alias ${a.alias} removed`, () => saved());
      } }, 'Remove')));
}

/** A form that changes the version's scaling and limits (PATCH: merged key by key into its override). */
function limitsForm(name: string, v: Version, saved: () => void): HTMLElement {
  const number = (value: number | undefined, min: number): HTMLInputElement => h('input', { type: 'number', min, value: value ?? '' });
  const minInstances = number(v.config.scaling.minInstances, 0);
  const maxInstances = number(v.config.scaling.maxInstances, 1);
  const memoryMb = number(v.config.limits.memoryMb, 1);
  const timeoutMs = number(v.config.limits.timeoutMs, 1);
  return h('form', { class: 'inline', 'aria-label': `Scaling and limits of ${v.version}`, onsubmit: (e: Event) => {
    e.preventDefault();
    const body = {
      scaling: { minInstances: Number(minInstances.value), maxInstances: Number(maxInstances.value) },
      limits: { memoryMb: Number(memoryMb.value), timeoutMs: Number(timeoutMs.value) },
    };
    void attempt(() => send('PATCH', `/v1/functions/${enc(name)}/versions/${enc(v.version)}`, body), `${v.version}: scaling and limits saved`, saved);
  } }, field('Min instances', minInstances), field('Max instances', maxInstances), field('Memory (MB)', memoryMb), field('Timeout (ms)', timeoutMs), h('button', { type: 'submit' }, 'Save'));
}

/** The latest version's effective configuration: runtime, scaling, limits, sandbox, env names; scaling and limits editable. */
export function configSection(name: string, latest: string | null): ReturnType<typeof section> {
  const s = section('Configuration and limits', async () => {
    if (!latest) return h('p', { class: 'muted' }, 'No version yet.');
    const v = await get<Version>(`/v1/functions/${enc(name)}/versions/${enc(latest)}`);
    const c = v.config;
    const rows: Array<[string, string]> = [
      ['Version', v.version],
      ['Runtime', `${c.runtime}${c.handler ? ` (${c.handler})` : ''}`],
      ['Scaling', `${c.scaling.mode ?? 'warm'}: ${c.scaling.minInstances} to ${c.scaling.maxInstances} instances, ${c.scaling.concurrency} calls each`],
      ...Object.entries(c.limits).map(([k, x]): [string, string] => [`Limit ${k}`, String(x)]),
      ['Invoke', c.invoke],
      ['Retries', String(c.retries)],
      ['Network', c.sandbox.network],
      ['Environment', Object.keys(c.env).join(', ') || '–'],
      ['Secrets', c.secrets.join(', ') || '–'],
    ];
    return [table(`Configuration of ${name}@${v.version}`, ['Setting', 'Value'], rows), limitsForm(name, v, () => void s.refresh())];
  });
  return s;
}
