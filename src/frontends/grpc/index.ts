import type { FrontEndFactory } from '../frontend.js';

/**
 * The gRPC front end (docs/protocols.md#grpc): `ferry.v1.Functions` and tinyFaaS's `TinyFaaS`
 * over plaintext HTTP/2. Off unless `--grpc-port` is set; @grpc/grpc-js and the `.proto` files
 * load only then, so a server without it never loads them.
 */
export const grpcFrontEnd: FrontEndFactory = async (ctx) => {
  if (ctx.options.grpcPort === undefined) return undefined;
  const { startGrpcServer } = await import('./grpc-server.js');
  return startGrpcServer(ctx);
};
