import type { IncomingMessage, ServerResponse } from 'node:http';

/** Bodies of one call as they pass, for the history of functions with `recordPayloads`. */
export interface CapturedPayloads {
  request: Buffer[];
  response: Buffer[];
}

/**
 * Copies the request and response bodies of one call, up to `maxBytes` each, by wrapping this
 * request's `emit('data')` and this response's `write`/`end`: whatever way the connector reads and
 * writes (listeners, pipe), every chunk passes there. Only for functions that opted in; other
 * calls pay nothing.
 */
export function capturePayloads(req: IncomingMessage, res: ServerResponse, maxBytes: number): CapturedPayloads {
  const out: CapturedPayloads = { request: [], response: [] };
  let reqBytes = 0;
  let resBytes = 0;
  const keep = (into: Buffer[], chunk: unknown, used: number): number => {
    if (used > maxBytes || chunk === undefined || chunk === null || typeof chunk === 'function') return used;
    const b = Buffer.isBuffer(chunk) ? chunk : typeof chunk === 'string' ? Buffer.from(chunk) : chunk instanceof Uint8Array ? Buffer.from(chunk) : undefined;
    if (!b) return used;
    into.push(b.subarray(0, maxBytes + 1 - used));
    return used + b.length;
  };
  const emit = req.emit;
  req.emit = function (this: IncomingMessage, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'data') reqBytes = keep(out.request, args[0], reqBytes);
    return emit.call(this, event, ...args);
  } as typeof req.emit;
  const write = res.write;
  res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]): boolean {
    resBytes = keep(out.response, chunk, resBytes);
    return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof res.write;
  const end = res.end;
  res.end = function (this: ServerResponse, chunk?: unknown, ...rest: unknown[]): ServerResponse {
    resBytes = keep(out.response, chunk, resBytes);
    return (end as (...a: unknown[]) => ServerResponse).call(this, chunk, ...rest);
  } as typeof res.end;
  return out;
}
