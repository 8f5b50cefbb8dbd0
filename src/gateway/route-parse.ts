/** Where an invocation goes: function, optional version/alias, and the path the function sees. */
export interface InvokeRoute {
  name: string;
  ref: string | undefined;
  /** Path and query as the function sees them. */
  path: string;
}

/**
 * `/fn/{name}[@{ref}][/rest][?query]` -> route; undefined if the URL is not an invocation.
 * `/fn/hello/a/b?x=1` reaches `hello` as `/a/b?x=1`.
 */
export function parseFnPath(url: string): InvokeRoute | undefined {
  if (!url.startsWith('/fn/')) return undefined;
  let end = url.length;
  for (let i = 4; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 47 /* / */ || c === 63 /* ? */) {
      end = i;
      break;
    }
  }
  const head = url.slice(4, end);
  let rest = url.slice(end);
  if (rest === '' || rest.charCodeAt(0) === 63) rest = `/${rest}`;
  const at = head.indexOf('@');
  if (at < 0) return { name: decodeSafe(head), ref: undefined, path: rest };
  return { name: decodeSafe(head.slice(0, at)), ref: decodeSafe(head.slice(at + 1)), path: rest };
}

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

function decodeSafe(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
