import { Readable } from 'node:stream';
import type { CallSignal, Invocation } from '../../core/index.js';
import { FerryError } from '../../errors/index.js';
import { mediaTypeOf } from './content-formats.js';
import { CoapRefusal } from './refusal.js';
import type { RequestOptions } from './request-options.js';

/** CoAP method codes (RFC 7252 §12.1.1, RFC 8132) and the method the function sees. */
const methods: Record<string, string> = { '0.01': 'GET', '0.02': 'POST', '0.03': 'PUT', '0.04': 'DELETE', '0.05': 'FETCH', '0.06': 'PATCH', '0.07': 'iPATCH' };

/**
 * A CoAP request as an invocation: `/{name}[@ref]/rest?query`. The name segment is lower-cased
 * (Ferry's names are; tinyFaaS callers write `coap://host/Sieve`). Content-Format and Accept become
 * `content-type` and `accept`; no other option reaches the function. The payload is the body, for
 * every method. CoAP carries no credential, so none is passed.
 */
export function toInvocation(code: string, o: RequestOptions, body: Buffer, signal: CallSignal): Invocation {
  const method = methods[code];
  if (!method) throw new CoapRefusal('4.05', `method code ${code} is not a CoAP method`);
  const [first, ...rest] = o.segments;
  if (!first) throw new FerryError('route-not-found', 'coap://host/{name}[@ref]/...: the path names no function');
  const at = first.indexOf('@');
  const name = (at < 0 ? first : first.slice(0, at)).toLowerCase();
  const ref = at < 0 ? undefined : first.slice(at + 1);
  const headers: string[] = [];
  if (o.contentFormat !== undefined) headers.push('content-type', mediaType(o.contentFormat, 'Content-Format', '4.15'));
  if (o.accept !== undefined) headers.push('accept', mediaType(o.accept, 'Accept', '4.06'));
  if (body.length) headers.push('content-length', String(body.length));
  const path = `/${rest.map(encodeURIComponent).join('/')}${o.query.length ? `?${o.query.map(queryPart).join('&')}` : ''}`;
  return {
    function: name,
    ref,
    method,
    path,
    headers,
    body: body.length ? Readable.from([body], { objectMode: false }) : undefined,
    bodyLength: body.length,
    requestId: undefined,
    credential: undefined,
    principal: undefined,
    deadline: undefined,
    mode: 'sync',
    signal,
  };
}

function mediaType(format: number, what: string, code: string): string {
  const type = mediaTypeOf(format);
  if (type === undefined) throw new CoapRefusal(code, `${what} ${format} is not one Ferry knows`);
  return type;
}

/** One Uri-Query value (`k=v`, raw) as a query-string part. */
function queryPart(kv: string): string {
  const eq = kv.indexOf('=');
  return eq < 0 ? encodeURIComponent(kv) : `${encodeURIComponent(kv.slice(0, eq))}=${encodeURIComponent(kv.slice(eq + 1))}`;
}
