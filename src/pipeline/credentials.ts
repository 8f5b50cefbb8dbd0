import { TOKEN_PREFIX } from '../auth/index.js';

/** `Bearer fry_...`: a Ferry token. */
export function isFerryCredential(header: string): boolean {
  const m = /^\s*Bearer\s+(\S+)/i.exec(header);
  return m !== null && m[1]!.startsWith(TOKEN_PREFIX);
}

/**
 * The stage that keeps Ferry's credential from the function: a Ferry token is for Ferry and never
 * reaches a function, public or not (the CLI sends one on every call). Other `Authorization`
 * schemes are the function's business. When the (last) `Authorization` header holds a Ferry
 * token, the `Authorization` headers go from `headers` (edited in place).
 */
export function stripFerryCredentials(headers: string[]): void {
  let authorization: string | undefined;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name.length === 13 && name.toLowerCase() === 'authorization') authorization = headers[i + 1];
  }
  if (authorization === undefined || !isFerryCredential(authorization)) return;
  for (let i = headers.length - 2; i >= 0; i -= 2) {
    if (headers[i]!.toLowerCase() === 'authorization') headers.splice(i, 2);
  }
}
