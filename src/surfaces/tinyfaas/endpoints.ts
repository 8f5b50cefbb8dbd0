import type { ServerOptions } from '../../config/index.js';

/**
 * What tinyFaaS answers to a deploy: one line per endpoint that is on, `proto://:port/name`
 * (its listen address is empty, so the host is too).
 */
export function endpointLines(o: ServerOptions, name: string): string {
  let out = '';
  if (o.coapPort !== undefined) out += `coap://:${o.coapPort}/${name}\n`;
  const http = httpPort(o);
  if (http !== undefined) out += `http://:${http}/${name}\n`;
  if (o.grpcPort !== undefined) out += `grpc://:${o.grpcPort}/${name}\n`;
  return out;
}

/** The port of the `tinyfaas-http` surface, when it has a listener of its own. */
export function httpPort(o: ServerOptions): number | undefined {
  for (const entry of o.surfaceListen) {
    const m = /^tinyfaas-http=.*:(\d{1,5})$/.exec(entry);
    if (m) return Number(m[1]);
  }
  return undefined;
}
