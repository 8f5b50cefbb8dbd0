import type { IncomingMessage } from 'node:http';
import { withoutFerryCredentials } from '../auth/index.js';

/**
 * A Ferry credential is for Ferry: it never reaches a function, public or not (the CLI sends one
 * on every call). Removes every copy of `Authorization` and `Proxy-Authorization` that carries
 * one, from the raw list the connectors forward and from `req.headers`; other schemes stay, they
 * are the function's business.
 */
export function stripFerryCredentials(req: IncomingMessage): void {
  const kept = withoutFerryCredentials(req.rawHeaders);
  if (!kept) return;
  req.rawHeaders.splice(0, req.rawHeaders.length, ...kept);
  // req.headers keeps the first copy of each; rebuild both from what is left.
  for (const name of ['authorization', 'proxy-authorization'] as const) {
    let first: string | undefined;
    for (let i = 0; i < kept.length && first === undefined; i += 2) if (kept[i]!.toLowerCase() === name) first = kept[i + 1];
    if (first === undefined) delete req.headers[name];
    else req.headers[name] = first;
  }
}
