import { withoutFerryCredentials } from '../auth/index.js';

/**
 * The stage that keeps Ferry's credentials from the function: a Ferry credential is for Ferry and
 * never reaches a function, public or not (the CLI sends one on every call). Every copy of
 * `Authorization` and `Proxy-Authorization` that carries one goes from `headers` (edited in place:
 * for an HTTP request it is the request's own raw list, which an upgrade forwards), and so does the
 * dashboard's session cookie, which a browser sends along on `/fn/...` calls; other schemes and
 * cookies stay, they are the function's business.
 */
export function stripFerryCredentials(headers: string[]): void {
  const kept = withoutFerryCredentials(headers);
  if (kept) headers.splice(0, headers.length, ...kept);
}
