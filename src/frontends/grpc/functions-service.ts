import type { sendUnaryData, ServerUnaryCall, ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { FerryError } from '../../errors/index.js';
import type { FrontEndContext } from '../frontend.js';
import { toInvocation, type CallRequest } from './to-invocation.js';
import { failureStatus } from './status-table.js';
import { StreamWriter, type InvokeChunk } from './stream-writer.js';
import { headerFields, type HeaderField } from './header-fields.js';
import { invokeUnary, unexpected } from './unary-call.js';

/** `ferry.v1.InvokeRequest` as proto-loader decodes it (unset fields are "" and empty). */
type InvokeRequest = Omit<CallRequest, 'allowAsync'>;

interface InvokeResponse {
  status: number;
  headers: HeaderField[];
  body: Buffer;
}

const asCall = (m: InvokeRequest): CallRequest => ({ function: m.function, ref: m.ref, method: m.method, path: m.path, headers: m.headers, body: m.body, allowAsync: true });

/**
 * `ferry.v1.Functions`: a function's answer, whatever its status, is a normal response (the
 * status is in it); only Ferry's own failures end the call with a gRPC error status.
 */
export function functionsService(ctx: FrontEndContext): UntypedServiceImplementation {
  return {
    Invoke(call: ServerUnaryCall<InvokeRequest, InvokeResponse>, callback: sendUnaryData<InvokeResponse>): void {
      invokeUnary(ctx, call, asCall(call.request)).then(
        (out) => (out.ok ? callback(null, { status: out.status, headers: headerFields(out.headers), body: out.body }) : callback(out.failure)),
        (err: unknown) => callback(unexpected(err)),
      );
    },

    InvokeStream(call: ServerWritableStream<InvokeRequest, InvokeChunk>): void {
      let writer: StreamWriter;
      let invocation;
      try {
        invocation = toInvocation(call, asCall(call.request));
        writer = new StreamWriter(call);
      } catch (err) {
        call.emit('error', failureStatus(FerryError.from(err), undefined));
        return;
      }
      ctx.invoke(invocation, writer).then(
        (out) => {
          // Before the head: the call ends with the failure's status. After it (the answer was cut
          // mid-stream): the chunks sent stand, and the status says why no more came.
          if (out.error && !call.cancelled) call.emit('error', failureStatus(out.error, out.requestId));
        },
        (err: unknown) => call.emit('error', unexpected(err)),
      );
    },
  };
}
