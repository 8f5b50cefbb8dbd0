import type { StatusObject } from '@grpc/grpc-js';
import { FerryError } from '../../errors/index.js';
import type { Invocation } from '../../core/index.js';
import { MemoryWriter } from '../../service/index.js';
import type { FrontEndContext } from '../frontend.js';
import { toInvocation, type CallRequest, type GrpcCall } from './to-invocation.js';
import { failureStatus } from './status-table.js';

/** How a unary call ended: the function's whole answer, or the status of Ferry's failure. */
export type UnaryOutcome =
  | { ok: true; status: number; headers: string[]; body: Buffer; requestId: string }
  | { ok: false; failure: StatusObject };

/**
 * Runs one call whose answer goes back in one message: the answer is held in memory, up to
 * `--max-body` (past it the call is stopped: `body-too-large`; `InvokeStream` has no such cap).
 */
export async function invokeUnary(ctx: FrontEndContext, call: GrpcCall, req: CallRequest): Promise<UnaryOutcome> {
  let inv: Invocation;
  try {
    inv = toInvocation(call, req);
  } catch (err) {
    return { ok: false, failure: failureStatus(FerryError.from(err), undefined) };
  }
  const max = ctx.options.maxBodyBytes;
  const signal = inv.signal!;
  const writer = new MemoryWriter(max, () => signal.abort(new FerryError('body-too-large', `the function answered more than ${max} bytes (--max-body); InvokeStream streams answers of any size`)));
  const out = await ctx.invoke(inv, writer);
  if (out.error) return { ok: false, failure: failureStatus(out.error, out.requestId) };
  return { ok: true, status: writer.statusCode, headers: writer.headers, body: writer.body(), requestId: out.requestId };
}

/** A call that failed in a way the pipeline did not answer (a bug): INTERNAL, never a crash. */
export function unexpected(err: unknown): StatusObject {
  return failureStatus(FerryError.from(err), undefined);
}
