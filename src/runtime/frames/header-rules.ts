// The header rules of the gateway's side of the frame protocol: what a request never forwards
// and what an answer's framing must not repeat. Names are compared without lowercasing a copy.
import { isHeaderName } from '../../util/header-name.js';

/**
 * Request headers that describe the client's connection, not the request: never forwarded.
 * Checked by length first, then without lowercasing a copy of the name.
 */
export function hopByHop(name: string): boolean {
  switch (name.length) {
    case 2:
      return isHeaderName(name, 'te');
    case 7:
      return isHeaderName(name, 'upgrade') || isHeaderName(name, 'trailer');
    case 10:
      return isHeaderName(name, 'connection') || isHeaderName(name, 'keep-alive');
    case 16:
      return isHeaderName(name, 'proxy-connection');
    case 17:
      return isHeaderName(name, 'transfer-encoding');
    default:
      return false;
  }
}

/** Statuses that never carry a body, so never a Content-Length either (RFC 9110). */
export function bodiless(status: number): boolean {
  return status < 200 || status === 204 || status === 304;
}

/** Takes the function's Content-Length and Transfer-Encoding out of a header list, in place. */
export function dropBodyFraming(headers: string[]): void {
  let kept = 0;
  for (let i = 0; i < headers.length - 1; i += 2) {
    const name = headers[i]!;
    if (isHeaderName(name, 'content-length') || isHeaderName(name, 'transfer-encoding')) continue;
    if (kept !== i) {
      headers[kept] = name;
      headers[kept + 1] = headers[i + 1]!;
    }
    kept += 2;
  }
  headers.length = kept;
}
