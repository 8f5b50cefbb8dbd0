import type { sendUnaryData, ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { FrontEndContext } from '../frontend.js';
import { answerTrailers } from './status-table.js';
import { invokeUnary, unexpected } from './unary-call.js';

/** tinyFaaS's `Data`: `data` unset reads "". */
interface Data {
  functionIdentifier: string;
  data: string;
}

interface Response {
  response: string;
}

/**
 * tinyFaaS's `TinyFaaS.Request`: the function named `functionIdentifier` (whatever its case:
 * Ferry's names are lower case, tinyFaaS users keep theirs), called as POST / with `data` as the
 * body, now (tinyFaaS's gRPC calls are never asynchronous). The answer's body is `response`
 * whatever its status, as tinyFaaS hands it back (the status is in the `ferry-status` trailer);
 * Ferry's own failures end the call with an error status.
 */
export function tinyFaaSService(ctx: FrontEndContext): UntypedServiceImplementation {
  return {
    Request(call: ServerUnaryCall<Data, Response>, callback: sendUnaryData<Response>): void {
      const d = call.request;
      const req = { function: d.functionIdentifier.toLowerCase(), ref: '', method: 'POST', path: '/', headers: [], body: Buffer.from(d.data, 'utf8'), allowAsync: false };
      invokeUnary(ctx, call, req).then(
        (out) => {
          if (!out.ok) return callback(out.failure);
          callback(null, { response: out.body.toString('utf8') }, answerTrailers(out.status, out.requestId));
        },
        (err: unknown) => callback(unexpected(err)),
      );
    },
  };
}
