import type { sendUnaryData, ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { FrontEndContext } from '../frontend.js';
import { functionAnswerStatus } from './status-table.js';
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
 * body, now (tinyFaaS's gRPC calls are never asynchronous). A 2xx answer's body is `response`;
 * a function's other answers and Ferry's failures end the call with an error status.
 */
export function tinyFaaSService(ctx: FrontEndContext): UntypedServiceImplementation {
  return {
    Request(call: ServerUnaryCall<Data, Response>, callback: sendUnaryData<Response>): void {
      const d = call.request;
      const req = { function: d.functionIdentifier.toLowerCase(), ref: '', method: 'POST', path: '/', headers: [], body: Buffer.from(d.data, 'utf8'), allowAsync: false };
      invokeUnary(ctx, call, req).then(
        (out) => {
          if (!out.ok) return callback(out.failure);
          if (out.status < 200 || out.status > 299) return callback(functionAnswerStatus(out.status, out.body, out.requestId));
          callback(null, { response: out.body.toString('utf8') });
        },
        (err: unknown) => callback(unexpected(err)),
      );
    },
  };
}
