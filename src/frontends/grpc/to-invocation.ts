import { Readable } from 'node:stream';
import { validateHeaderName, validateHeaderValue } from 'node:http';
import type { Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import { CallSignal, type Invocation } from '../../core/index.js';
import { FerryError } from '../../errors/index.js';
import { prefersAsync } from '../../service/index.js';
import type { HeaderField } from './header-fields.js';

/** What of a call (unary or streaming) the mapping reads. */
export type GrpcCall = Pick<ServerUnaryCall<unknown, unknown>, 'metadata' | 'getDeadline' | 'cancelled'> & { on(event: 'cancelled', fn: () => void): unknown };

/** What a call asks for, whichever service it came through. */
export interface CallRequest {
  function: string;
  ref: string;
  method: string;
  path: string;
  /** Headers from the message itself (ferry.v1), after the metadata's. */
  headers: HeaderField[];
  body: Buffer;
  /** `prefer: respond-async` is honoured (ferry.v1); tinyFaaS's service always answers now. */
  allowAsync: boolean;
}

/** The body's framing and hop-by-hop fields: the length is the message's, never a header's. */
const framing = new Set(['te', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'proxy-connection', 'upgrade']);

/**
 * Metadata that belongs to gRPC itself (its `content-type` is `application/grpc`), or is binary
 * (`-bin`: no HTTP form), or is framing: never the function's.
 */
function grpcOwn(key: string): boolean {
  return key.startsWith('grpc-') || key.endsWith('-bin') || key === 'content-type' || framing.has(key);
}

const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Path and query: starts at `/`, printable ASCII without spaces (percent-encode the rest).
const PATH = /^\/[\x21-\x7e]*$/;

/**
 * A gRPC call as an invocation: the metadata's headers (gRPC's and the transport's own left out),
 * then the message's; the credential from the last `authorization`; the call's deadline; a signal
 * that aborts when the caller cancels or its deadline passes. Bad fields throw `invalid-body`
 * (the message is the request's body) or `invalid-header`.
 */
export function toInvocation(call: GrpcCall, req: CallRequest): Invocation {
  const method = req.method === '' ? 'POST' : req.method.toUpperCase();
  if (!METHOD.test(method)) throw new FerryError('invalid-body', `method '${req.method}' is not an HTTP method token`);
  const path = req.path === '' ? '/' : req.path;
  if (!PATH.test(path) || path.length > 8192) throw new FerryError('invalid-body', 'path must start with / and hold printable ASCII only (percent-encode the rest), at most 8192 characters');

  const headers = metadataHeaders(call.metadata);
  for (const h of req.headers) {
    const lower = h.name.toLowerCase();
    checkHeader(h.name, h.value);
    if (!framing.has(lower)) headers.push(h.name, h.value);
  }
  let credential: string | undefined;
  let requestId: string | undefined;
  let async = false;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!.toLowerCase();
    if (name === 'authorization') credential = headers[i + 1];
    else if (name === 'x-request-id') requestId = headers[i + 1];
    else if (name === 'prefer' && req.allowAsync && prefersAsync(headers[i + 1]!)) async = true;
  }
  const body = req.body;
  if (body.length > 0) headers.push('content-length', String(body.length));

  const signal = new CallSignal();
  const deadline = deadlineOf(call);
  const cancel = (): void => {
    const passed = deadline !== undefined && Date.now() >= deadline;
    signal.abort(new FerryError('invoke-timeout', passed ? "the call's deadline passed" : 'the caller cancelled the call'));
  };
  call.on('cancelled', cancel);
  if (call.cancelled) cancel();
  return {
    function: req.function,
    ref: req.ref === '' ? undefined : req.ref,
    method,
    path,
    headers,
    body: body.length > 0 ? Readable.from([body], { objectMode: false }) : undefined,
    bodyLength: body.length,
    requestId,
    credential,
    principal: undefined,
    origin: call,
    deadline,
    mode: async ? 'async' : 'sync',
    signal,
  };
}

/** The call's metadata as a flat header list (text values only; gRPC's own keys left out). */
function metadataHeaders(md: Metadata): string[] {
  const out: string[] = [];
  for (const [key, values] of Object.entries(md.toJSON())) {
    if (grpcOwn(key)) continue;
    for (const v of values) if (typeof v === 'string') out.push(key, v);
  }
  return out;
}

function checkHeader(name: string, value: string): void {
  try {
    validateHeaderName(name);
    validateHeaderValue(name, value);
  } catch {
    throw new FerryError('invalid-header', `header '${name.slice(0, 64)}' has an invalid name or value`);
  }
}

/** Epoch ms, or undefined when the caller set no deadline. */
function deadlineOf(call: GrpcCall): number | undefined {
  const d = call.getDeadline();
  const ms = typeof d === 'number' ? d : d.getTime();
  return Number.isFinite(ms) ? ms : undefined;
}
