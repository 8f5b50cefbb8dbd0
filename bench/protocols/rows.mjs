// The rows of bench/protocols.mjs: one function, called over each of Ferry's front ends by a
// client of the one closed-loop load generator (./loop.mjs).
import { coapClient } from './coap.mjs';
import { grpcInvokeClient, grpcTinyFaasClient } from './grpc.mjs';
import { httpClient } from './http.mjs';

/** The function every row calls. */
export const FUNCTION = 'hello';

/**
 * The warm runner's headline handler (bench/warm/rows.mjs), which greets the request's `x-name`
 * header, falling back on the body: CoAP can carry no such header, so a CoAP call sends the name
 * as its payload. A call with neither answers `Hello, World!` as the headline handler does.
 */
export const functionFiles = {
  'ferry.json': JSON.stringify({ runtime: 'node', handler: 'index.js' }),
  'package.json': '{"type":"module"}',
  'index.js': "export default async (req) => new Response(`Hello, ${req.headers.get('x-name') ?? ((await req.text()) || 'World')}!`);\n",
};

/**
 * Each row: its name, what it sends, and how its client opens (`ports` of the one server,
 * `inFlight` calls, `channels` for gRPC). Every answer must be `Hello, <the name sent>!`.
 */
export const protocolRows = [
  {
    name: 'http',
    label: 'HTTP/1.1 `GET /fn/hello`, the name in `X-Name` (node:http, keep-alive)',
    open: ({ host, ports, inFlight }) => httpClient({ host, port: ports.http, fn: FUNCTION, connections: inFlight }),
  },
  {
    name: 'grpc-invoke',
    label: 'gRPC `ferry.v1.Functions/Invoke`, the name in the message\'s `headers`',
    open: ({ host, ports, channels }) => grpcInvokeClient({ host, port: ports.grpc, fn: FUNCTION, channels }),
  },
  {
    name: 'grpc-tinyfaas',
    label: 'gRPC tinyFaaS `Request`, the name in `x-name` metadata',
    open: ({ host, ports, channels }) => grpcTinyFaasClient({ host, port: ports.grpc, fn: FUNCTION, channels }),
  },
  {
    name: 'coap',
    label: 'CoAP confirmable `POST coap://…/hello`, the name as the payload',
    open: ({ host, ports }) => coapClient({ host, port: ports.coap, fn: FUNCTION }),
  },
];

/** Every row name, in table order. */
export const protocolRowNames = protocolRows.map((r) => r.name);
