/**
 * Which request headers carry credentials, so that no stored record keeps or shows them: the
 * defaults below plus the server's `--redact-headers`. A pattern is a lower-case header name,
 * `*-suffix` (ends with) or `prefix-*` (starts with): see util/header-pattern.ts.
 */
import { isHeaderPattern } from '../util/header-pattern.js';

/** The defaults: the usual credential headers and anything named like a token, secret or key. */
export const defaultCredentialHeaders: readonly string[] = ['authorization', 'proxy-authorization', 'cookie', 'x-api-key', '*-token', '*-secret', '*-key'];

/** What a record shows in place of a credential's value (the name is kept). */
export const redactedValue = '[redacted]';

/** The credential header rule of this server: the defaults and its `--redact-headers`. */
export class CredentialHeaders {
  private readonly exact = new Set<string>();
  private readonly suffixes: string[] = [];
  private readonly prefixes: string[] = [];

  constructor(extra: readonly string[] = []) {
    for (const raw of [...defaultCredentialHeaders, ...extra]) {
      const p = raw.toLowerCase();
      if (!isHeaderPattern(p)) throw new Error(`'${raw}' is not a header name, *-suffix or prefix-*`);
      if (p.startsWith('*')) this.suffixes.push(p.slice(1));
      else if (p.endsWith('*')) this.prefixes.push(p.slice(0, -1));
      else this.exact.add(p);
    }
  }

  /** Whether the header `name` (any case) carries a credential. */
  matches(name: string): boolean {
    const n = name.toLowerCase();
    return this.exact.has(n) || this.suffixes.some((s) => n.endsWith(s)) || this.prefixes.some((p) => n.startsWith(p));
  }

  /** A flat [name, value, ...] list with every credential's value replaced by the marker. */
  redact(flat: readonly string[]): string[] {
    const out = flat.slice();
    for (let i = 0; i < out.length - 1; i += 2) if (this.matches(out[i]!)) out[i + 1] = redactedValue;
    return out;
  }
}
