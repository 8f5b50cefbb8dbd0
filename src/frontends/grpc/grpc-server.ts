import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { FrontEnd, FrontEndContext } from '../frontend.js';
import { loadServices } from './protos.js';
import { functionsService } from './functions-service.js';
import { tinyFaaSService } from './tinyfaas-service.js';

/** Room in a request message for what is not the body: function, ref, method, path, headers. */
const ENVELOPE_BYTES = 64 * 1024;

/**
 * The gRPC server: plaintext HTTP/2, both services, messages capped at `--max-body` plus room for
 * the envelope (grpc-js refuses a larger one with RESOURCE_EXHAUSTED before any handler runs; a
 * body over `--max-body` in a message under the cap is refused by the pipeline, the same way).
 */
export async function startGrpcServer(ctx: FrontEndContext): Promise<FrontEnd> {
  const o = ctx.options;
  const server = new Server({ 'grpc.max_receive_message_length': o.maxBodyBytes + ENVELOPE_BYTES });
  const services = loadServices();
  server.addService(services.functions, functionsService(ctx));
  server.addService(services.tinyFaaS, tinyFaaSService(ctx));
  const host = hostPart(o.grpcHost ?? o.host);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${o.grpcPort}`, ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
  });
  return { name: 'grpc', urls: [`grpc://${host}:${port}`], close: (drainMs) => shutdown(server, drainMs) };
}

/** An IPv6 address in brackets, as an address:port needs it. */
function hostPart(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** No new calls; those in flight get `drainMs` to end, then the connections are cut (their calls cancelled). */
function shutdown(server: Server, drainMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, drainMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
