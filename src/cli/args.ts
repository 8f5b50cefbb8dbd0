/** Pure argument helpers: names, targets, headers, weights. */
import { basename, resolve } from 'node:path';
import { usageError } from './errors.js';

const namePattern = /^[a-z0-9][a-z0-9-]{0,62}$/;
const headerName = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export function isValidName(name: string): boolean {
  return namePattern.test(name);
}

/** Function, version and alias names share `[a-z0-9][a-z0-9-]{0,62}`. */
export function checkName(kind: 'function' | 'version' | 'alias' | 'ref', name: string): string {
  if (!namePattern.test(name)) throw usageError(`${kind} name '${name}' must match [a-z0-9][a-z0-9-]{0,62}`);
  if (kind === 'alias' && (name === 'latest' || /^v\d+$/.test(name))) {
    throw usageError(`alias '${name}' is reserved: aliases cannot be 'latest' or look like a version (v<digits>)`);
  }
  return name;
}

/** The function name of a folder: its basename, lowercased (validated). */
export function deriveName(dir: string, explicit?: string): string {
  if (explicit !== undefined) return checkName('function', explicit);
  const base = basename(resolve(dir)).toLowerCase();
  if (!namePattern.test(base)) {
    throw usageError(`cannot use the folder name '${base}' as a function name: it must match [a-z0-9][a-z0-9-]{0,62}; pass --name`);
  }
  return base;
}

/** `name` or `name@ref` (ref: a version, an alias or `latest`). */
export function parseTarget(target: string): { name: string; ref: string | undefined } {
  const at = target.indexOf('@');
  const name = at < 0 ? target : target.slice(0, at);
  const ref = at < 0 ? undefined : target.slice(at + 1);
  checkName('function', name);
  if (ref !== undefined) checkName('ref', ref);
  return { name, ref };
}

/** `-H 'K: V'` -> ['K', 'V']; the value may be empty (`'X-Empty:'`). */
export function parseHeader(text: string): [string, string] {
  const i = text.indexOf(':');
  const key = (i < 0 ? text : text.slice(0, i)).trim();
  if (i < 0 || !headerName.test(key)) throw usageError(`-H '${text}': expected 'Name: value'`);
  const value = text.slice(i + 1).trim();
  if (/[\r\n\0]/.test(value)) throw usageError(`-H '${text}': the value holds a line break or NUL`);
  return [key, value];
}

/** Several `-H` into one record; a repeated name joins its values with `, `. */
export function parseHeaders(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const seen = new Map<string, string>();
  for (const h of list) {
    const [k, v] = parseHeader(h);
    const prev = seen.get(k.toLowerCase());
    if (prev === undefined) {
      seen.set(k.toLowerCase(), k);
      out[k] = v;
    } else {
      out[prev] = `${out[prev]}, ${v}`;
    }
  }
  return out;
}

/** `v1=90,v2=10` -> `{ v1: 90, v2: 10 }` (non-negative integers, distinct valid versions). */
export function parseWeights(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) throw usageError(`--weights '${text}': expected version=weight pairs, e.g. v1=90,v2=10`);
  for (const part of parts) {
    const m = /^([^=\s]+)\s*=\s*(\d+)$/.exec(part);
    if (!m) throw usageError(`--weights: '${part}' is not version=weight (e.g. v1=90)`);
    const version = checkName('version', m[1]!);
    if (version in out) throw usageError(`--weights: version '${version}' is listed twice`);
    out[version] = Number(m[2]);
  }
  if (Object.values(out).every((w) => w === 0)) throw usageError('--weights: at least one weight must be above 0');
  return out;
}

/** `weights` back into `v1=90,v2=10`. */
export function formatWeights(w: Record<string, unknown>): string {
  return Object.entries(w).map(([k, v]) => `${k}=${String(v)}`).join(',');
}

/** The part after `/fn/<name>[@ref]`: empty, or starting with `/` (or `?` for a bare query). */
export function normalizePath(path: string | undefined): string {
  if (!path) return '';
  return path.startsWith('/') || path.startsWith('?') ? path : `/${path}`;
}

/** commander collector for repeatable options. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `--days N` / `--seconds N` of a token or invite into its request body (positive numbers). */
export function lifetime(opts: { days?: string | undefined; seconds?: string | undefined }): Record<string, number> {
  const body: Record<string, number> = {};
  for (const k of ['days', 'seconds'] as const) {
    if (opts[k] === undefined) continue;
    const n = Number(opts[k]);
    if (!(n > 0)) throw usageError(`--${k}: a positive number`);
    body[k] = n;
  }
  return body;
}
