import type { InvokeRoute } from '../../frontends/http/index.js';

/**
 * Host routing with `--domain D`: `{name}.D` and `{ref}.{name}.D` (port ignored). Undefined for
 * any other host, including D itself (the API lives there).
 */
export function parseHost(host: string | undefined, domain: string | undefined, url: string): InvokeRoute | undefined {
  if (!domain || !host) return undefined;
  const colon = host.lastIndexOf(':');
  const bare = (colon > 0 && !host.endsWith(']') ? host.slice(0, colon) : host).toLowerCase();
  if (!bare.endsWith(`.${domain}`)) return undefined;
  const labels = bare.slice(0, -domain.length - 1).split('.');
  if (labels.length === 1) return { name: labels[0]!, ref: undefined, path: url };
  if (labels.length === 2) return { name: labels[1]!, ref: labels[0]!, path: url };
  return undefined;
}
