import type { IncomingMessage } from 'node:http';
import { IpList, plainAddress } from '../util/ip-list.js';

/**
 * The client's address: the socket's peer, unless that peer is a proxy the operator trusts
 * (`--trust-proxy`); then `X-Forwarded-For` is read from the right, each trusted proxy handing on
 * to the hop before it, and the first address that is no trusted proxy is the client. Anything
 * left of it was written by the client and is never believed.
 */
export function clientAddress(req: IncomingMessage, trusted: IpList): string {
  const peer = req.socket.remoteAddress ?? 'unknown';
  let client = plainAddress(peer) ?? peer;
  if (!trusted.has(client)) return client;
  const forwarded = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(forwarded) ? forwarded.join(',') : (forwarded ?? '')).split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hopAddress(hops[i]!.trim());
    if (hop === undefined) break; // not an address: stop at the last hop that was one
    client = hop;
    if (!trusted.has(hop)) break;
  }
  return client;
}

/** `10.0.0.1`, `10.0.0.1:5678`, `2001:db8::1`, `[2001:db8::1]:5678` -> the address. */
function hopAddress(text: string): string | undefined {
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(text) ?? /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(text);
  return plainAddress(m ? m[1]! : text);
}
