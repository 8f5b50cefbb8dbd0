import type { SurfaceRoute } from './surface.js';

const isParam = (s: string): boolean => s.startsWith('{') && s.endsWith('}');

/** One path segment or host label each: a parameter matches anything, literals only themselves. */
function partsOverlap(a: string, b: string, caseless: boolean): boolean {
  if (isParam(a) || isParam(b)) return true;
  return caseless ? a.toLowerCase() === b.toLowerCase() : a === b;
}

/**
 * Whether some path matches both templates. A rest parameter takes whatever is left, even
 * nothing (`/fn/{name}/{path}` serves `/fn/hello` too), so it overlaps every longer path.
 */
function pathsOverlap(a: string[], aRest: boolean, b: string[], bRest: boolean): boolean {
  for (let i = 0; ; i++) {
    if ((aRest && i === a.length - 1) || (bRest && i === b.length - 1)) return true;
    if (i === a.length || i === b.length) return a.length === b.length;
    if (!partsOverlap(a[i]!, b[i]!, false)) return false;
  }
}

function hostsOverlap(a: string, b: string): boolean {
  const la = a.split('.');
  const lb = b.split('.');
  return la.length === lb.length && la.every((x, i) => partsOverlap(x, lb[i]!, true));
}

function methodsOverlap(a: string, b: string): boolean {
  if (a === '*' || b === '*' || a === b) return true;
  // HEAD is served wherever GET is.
  return (a === 'HEAD' && b === 'GET') || (a === 'GET' && b === 'HEAD');
}

/**
 * Whether two routes claim a common request. A host-routed route and a path-routed one never
 * do: on their hosts the host-routed one comes first, by design.
 */
export function routesOverlap(a: SurfaceRoute, b: SurfaceRoute): boolean {
  if (!methodsOverlap(a.method, b.method)) return false;
  if ((a.host === undefined) !== (b.host === undefined)) return false;
  if (a.host !== undefined && b.host !== undefined && !hostsOverlap(a.host, b.host)) return false;
  return pathsOverlap(a.path.split('/').slice(1), a.rest === true, b.path.split('/').slice(1), b.rest === true);
}

/** `GET /v1/functions`, `* {name}.example.com/{path}`. */
export function describeRoute(r: SurfaceRoute): string {
  return `${r.method} ${r.host ?? ''}${r.path}`;
}
