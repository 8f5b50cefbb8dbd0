import type { HttpSurface } from './surface.js';
import { describeRoute, routesOverlap } from './route-overlap.js';

/** An address to listen on. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** One listener and the surfaces mounted on it, in the order they are asked. */
export interface ListenerPlan {
  /** `main`: Ferry's own listener (`--host`, `--port`); else the surfaces' own address. */
  main: boolean;
  address: ListenAddress;
  surfaces: HttpSurface[];
}

/**
 * `name=address:port` (`--surface-listen`) as a map; an IPv6 address in brackets. Throws a
 * one-line Error on a bad entry or a surface that does not exist.
 */
export function parseSurfaceListen(entries: readonly string[], known: Iterable<string>): Map<string, ListenAddress> {
  const names = new Set(known);
  const out = new Map<string, ListenAddress>();
  for (const entry of entries) {
    const m = /^([a-z0-9-]+)=(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(entry);
    if (!m || Number(m[4]) > 65_535) throw new Error(`--surface-listen: '${entry}' is not name=address:port`);
    if (!names.has(m[1]!)) throw new Error(`--surface-listen: no surface named '${m[1]}' (known: ${[...names].join(', ')})`);
    out.set(m[1]!, { host: m[2] ?? m[3]!, port: Number(m[4]) });
  }
  return out;
}

/**
 * Which surfaces listen where: each on the address `own` gives it, else on the main listener.
 * Surfaces given one address share a listener (port 0: a free port, never the main one's). Two
 * surfaces claiming a common route on one listener stop the start, naming both.
 */
export function planListeners(on: readonly HttpSurface[], main: ListenAddress, own: ReadonlyMap<string, ListenAddress>): ListenerPlan[] {
  const plans = new Map<string, ListenerPlan>([['main', { main: true, address: main, surfaces: [] }]]);
  for (const s of on) {
    const at = own.get(s.name);
    const key = !at || (at.port !== 0 && at.port === main.port && at.host === main.host) ? 'main' : `${at.host}:${at.port}`;
    let plan = plans.get(key);
    if (!plan) plans.set(key, (plan = { main: false, address: at!, surfaces: [] }));
    plan.surfaces.push(s);
  }
  for (const plan of plans.values()) {
    checkClashes(plan);
    // Host-routed surfaces first: on their hosts they come before any path.
    const hostRouted = (s: HttpSurface): boolean => s.routes.some((r) => r.host !== undefined);
    plan.surfaces = [...plan.surfaces.filter(hostRouted), ...plan.surfaces.filter((s) => !hostRouted(s))];
  }
  return [...plans.values()];
}

function checkClashes(plan: ListenerPlan): void {
  const where = plan.main ? 'the main listener' : `${plan.address.host}:${plan.address.port}`;
  const list = plan.surfaces;
  for (let i = 0; i < list.length; i++) {
    for (let j = i + 1; j < list.length; j++) {
      for (const a of list[i]!.routes) {
        const b = list[j]!.routes.find((r) => routesOverlap(a, r));
        if (b) {
          throw new Error(`surfaces '${list[i]!.name}' and '${list[j]!.name}' both claim ${describeRoute(a)} (as ${describeRoute(b)}) on ${where}; give one of them a listener of its own (--surface-listen)`);
        }
      }
    }
  }
}
