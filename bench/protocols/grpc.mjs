// The gRPC clients of bench/protocols.mjs, on @grpc/grpc-js with the `.proto` files Ferry ships:
// `ferry.v1.Functions/Invoke` with the name as an `x-name` header of the message, and tinyFaaS's
// `Request` with it as `x-name` metadata (which Ferry passes on as a request header, as tinyFaaS
// does), so the function reads it where the HTTP row puts it. All calls in flight share a few
// channels (HTTP/2 connections), as a gRPC program shares its client.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

const protoDir = fileURLToPath(new URL('../../proto/', import.meta.url));

function services() {
  const def = loadSync(['ferry/v1/functions.proto', 'tinyfaas/tinyfaas.proto'], { includeDirs: [protoDir], keepCase: true, longs: Number, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def);
  return { Functions: pkg.ferry.v1.Functions, TinyFaaS: pkg.openfogstack.tinyfaas.tinyfaas.TinyFaaS };
}

/** `channels` clients of `Service` on `target`, handed out in turn; each its own connection. */
function channelsOf(Service, target, channels) {
  // a local subchannel pool keeps grpc-js from sharing one connection among the clients
  const clients = Array.from({ length: channels }, () => new Service(target, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }));
  let next = 0;
  return { pick: () => clients[next++ % clients.length], close: () => clients.forEach((c) => c.close()) };
}

const failure = (err) => new Error(`${grpc.status[err.code] ?? err.code}: ${err.details}${err.metadata?.get('ferry-code')?.length ? ` (${err.metadata.get('ferry-code')[0]})` : ''}`);

/** `ferry.v1.Functions/Invoke`: `call(name)` answers the body of a `status: 200` answer. */
export function grpcInvokeClient({ host, port, fn, channels, timeoutMs = 10_000 }) {
  const pool = channelsOf(services().Functions, `${host}:${port}`, channels);
  return {
    call: (name) =>
      new Promise((resolve, reject) => {
        const req = { function: fn, headers: [{ name: 'x-name', value: name }] };
        pool.pick().Invoke(req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
          if (err) reject(failure(err));
          else if (res.status !== 200) reject(new Error(`status ${res.status}: ${res.body.toString('utf8').slice(0, 120)}`));
          else resolve(res.body.toString('utf8'));
        });
      }),
    close: async () => pool.close(),
  };
}

/** tinyFaaS's `Request`: `call(name)` answers `response`; the function's status is not in the answer. */
export function grpcTinyFaasClient({ host, port, fn, channels, timeoutMs = 10_000 }) {
  const pool = channelsOf(services().TinyFaaS, `${host}:${port}`, channels);
  return {
    call: (name) =>
      new Promise((resolve, reject) => {
        const md = new grpc.Metadata();
        md.set('x-name', name);
        pool.pick().Request({ functionIdentifier: fn }, md, { deadline: Date.now() + timeoutMs }, (err, res) => {
          if (err) reject(failure(err));
          else resolve(res.response);
        });
      }),
    close: async () => pool.close(),
  };
}
