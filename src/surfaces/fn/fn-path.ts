import type { InvokeRoute } from '../../frontends/http/index.js';

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

function decodeSafe(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
