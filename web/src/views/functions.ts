import { get, enc } from '../api.js';
import { h, table, ms } from '../dom.js';
import type { FunctionItem, Instance, Summary, Version } from '../types.js';
import type { ViewContext } from '../view.js';

/** Every function the user may read, with its latest version's settings and the last five minutes' traffic. */
export async function functionsView(ctx: ViewContext): Promise<void> {
  const [{ functions }, traffic] = await Promise.all([get<{ functions: FunctionItem[] }>('/v1/functions'), get<{ functions: Summary[] }>('/v1/traffic?minutes=5')]);
  const stats = new Map(traffic.functions.map((t) => [t.function, t]));
  const details = await Promise.all(
    functions.map(async (f) => {
      const [version, { instances }] = await Promise.all([
        f.latest ? get<Version>(`/v1/functions/${enc(f.name)}/versions/${enc(f.latest)}`) : Promise.resolve(undefined),
        get<{ instances: Instance[] }>(`/v1/functions/${enc(f.name)}/instances`),
      ]);
      return { version, instances };
    }),
  );
  const rows = functions.map((f, i) => {
    const { version, instances } = details[i]!;
    const t = stats.get(f.name);
    const ready = instances.filter((x) => x.state === 'ready').length;
    const state = instances.length === 0 ? 'idle (scaled to zero)' : `${ready} ready${instances.length > ready ? `, ${instances.length - ready} starting or draining` : ''}`;
    return [
      h('a', { href: `#/functions/${enc(f.name)}` }, f.name),
      f.owner,
      version?.config.runtime ?? '–',
      version ? `${version.config.scaling.mode ?? 'warm'} · network ${version.config.sandbox.network}` : '–',
      String(f.versions),
      f.aliases.join(', ') || '–',
      state,
      t ? t.perSecond.toFixed(2) : '0.00',
      String(t?.errors ?? 0),
      `${ms(t?.p50Ms)} / ${ms(t?.p99Ms)}`,
    ];
  });
  ctx.main.replaceChildren(
    h('h1', null, 'Functions'),
    h('p', null, h('a', { class: 'button', href: '#/deploy' }, 'Deploy a function')),
    table('Functions you may read; traffic over the last 5 minutes', ['Name', 'Owner', 'Runtime', 'Tier · sandbox', 'Versions', 'Aliases', 'State', 'req/s', 'Errors', 'p50 / p99'], rows, 'No functions yet: deploy one.', [4, 7, 8, 9]),
  );
}
