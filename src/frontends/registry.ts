import type { FrontEndFactory } from './frontend.js';
import { grpcFrontEnd } from './grpc/index.js';
import { coapFrontEnd } from './coap/index.js';

/**
 * Every front end that listens on a socket of its own (not an HTTP surface: those are in
 * `surfaces/registry.ts`), by name, in the order the server starts them. A new front end is a
 * folder plus one line here.
 */
export const frontEnds: ReadonlyMap<string, FrontEndFactory> = new Map<string, FrontEndFactory>([
  ['coap', coapFrontEnd],
  ['grpc', grpcFrontEnd],
]);
