import type { FrontEndFactory } from '../frontend.js';

/**
 * The CoAP front end, on when `--coap-port` is set. Its code and the coap packages load only
 * then: a server without CoAP never loads them.
 */
export const coapFrontEnd: FrontEndFactory = async (ctx) => {
  const port = ctx.options.coapPort;
  if (port === undefined) return undefined;
  const { startCoapEndpoint } = await import('./endpoint.js');
  return startCoapEndpoint(ctx, ctx.options.coapHost ?? ctx.options.host, port);
};
