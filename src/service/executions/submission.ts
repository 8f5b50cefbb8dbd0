/** Turning an incoming request into what an execution stores: its request, callback and key. */
import type { Readable } from 'node:stream';
import { FerryError } from '../../errors/index.js';
import type { CallbackSpec, StoredRequest } from '../../core/index.js';
import type { AddressPolicy } from '../../util/address-policy.js';

/** Headers Ferry acts on or recomputes; they are not stored with the request. */
const dropped = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'expect', 'upgrade', 'te', 'trailer', 'proxy-connection']);

/** The request as it will be replayed: body-length headers recomputed for the stored body. */
export function storedRequest(method: string, path: string, rawHeaders: string[], body: Buffer): StoredRequest {
  const headers: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (dropped.has(name.toLowerCase())) continue;
    headers.push(name, rawHeaders[i + 1]!);
  }
  if (body.length) headers.push('content-length', String(body.length));
  return { method, path, headers, body };
}

/** The named headers' last values, from a raw list, by lower-case name. */
function pick(raw: string[], names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (names.includes(lower)) out[lower] = raw[i + 1]!;
  }
  return out;
}

const visible = /^[\x21-\x7e]+$/;

/** `X-Callback-Url`, `X-Task-Token` and `Idempotency-Key`, checked. */
export function asyncOptions(rawHeaders: string[], policy: AddressPolicy): { callback: CallbackSpec | null; idempotencyKey: string | null } {
  const h = pick(rawHeaders, ['x-callback-url', 'x-task-token', 'idempotency-key']);
  const key = h['idempotency-key'];
  if (key !== undefined && (key.length > 255 || !visible.test(key))) {
    throw new FerryError('invalid-header', 'Idempotency-Key: 1 to 255 visible ASCII characters');
  }
  const token = h['x-task-token'];
  if (token !== undefined && (token.length > 1024 || !visible.test(token))) {
    throw new FerryError('invalid-header', 'X-Task-Token: 1 to 1024 visible ASCII characters');
  }
  const raw = h['x-callback-url'];
  if (raw === undefined) {
    if (token !== undefined) throw new FerryError('invalid-header', 'X-Task-Token needs an X-Callback-Url to go to');
    return { callback: null, idempotencyKey: key ?? null };
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new FerryError('invalid-header', `X-Callback-Url: '${raw.slice(0, 200)}' is not an absolute URL`);
  }
  if (raw.length > 2048) throw new FerryError('invalid-header', 'X-Callback-Url: at most 2048 characters');
  const why = policy.precheck(url);
  if (why) {
    const code = url.protocol === 'http:' || url.protocol === 'https:' ? 'callback-refused' : 'invalid-header';
    throw new FerryError(code, `X-Callback-Url: ${why}`);
  }
  return { callback: { url: url.href, taskToken: token ?? null }, idempotencyKey: key ?? null };
}

/** Reads a whole body, refusing (413) past `max` bytes. */
export async function readBody(req: Readable, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw new FerryError('body-too-large', `the request body exceeds the limit of ${max} bytes`);
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** `Prefer: respond-async` (RFC 7240), among other preferences. */
export function prefersAsync(prefer: string): boolean {
  return /(^|[\s,;])respond-async\s*(,|;|$)/i.test(prefer);
}

/** The 202 answer to a submission: where to read the execution, and whether it is a repeat. */
export function acceptedAnswer(out: { id: string; created: boolean; status: string }, preferenceApplied: boolean): { headers: Record<string, string>; body: { id: string; status: string; location: string } } {
  const location = `/v1/executions/${out.id}`;
  const headers: Record<string, string> = { location, 'x-request-id': out.id };
  if (preferenceApplied) headers['preference-applied'] = 'respond-async';
  if (!out.created) headers['idempotent-replayed'] = 'true';
  return { headers, body: { id: out.id, status: out.status, location } };
}
