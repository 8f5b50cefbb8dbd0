import type { ServerResponse } from 'node:http';

/**
 * ShortedFaaS's exit-code contract on an exec answer: a program that exits non-zero answers 500
 * with no body (its stderr is in the function logs), where Ferry's exec runtime would say
 * `exit status N`. Wraps the response in place; every other status passes unchanged.
 */
export function muteFailedProgram(res: ServerResponse): ServerResponse {
  const writeHead = res.writeHead.bind(res) as (status: number, headers?: Record<string, string | number>) => ServerResponse;
  const write = res.write.bind(res) as (...a: unknown[]) => boolean;
  const end = res.end.bind(res) as (...a: unknown[]) => ServerResponse;
  let muted = false;
  res.writeHead = ((status: number, ...rest: unknown[]) => {
    if (status !== 500) return (writeHead as (...a: unknown[]) => ServerResponse)(status, ...rest);
    muted = true;
    const id = requestIdOf(rest.find((r) => typeof r === 'object' && r !== null));
    return writeHead(500, { 'content-length': 0, ...(id ? { 'x-request-id': id } : {}) });
  }) as ServerResponse['writeHead'];
  res.write = ((...a: unknown[]) => (muted ? true : write(...a))) as ServerResponse['write'];
  res.end = ((...a: unknown[]) => (muted ? end() : end(...a))) as ServerResponse['end'];
  return res;
}

/** The request id among the headers (an object, or Node's flat list). */
function requestIdOf(headers: unknown): string | undefined {
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length; i += 2) if (String(headers[i]).toLowerCase() === 'x-request-id') return String(headers[i + 1]);
    return undefined;
  }
  for (const [k, v] of Object.entries((headers ?? {}) as Record<string, unknown>)) if (k.toLowerCase() === 'x-request-id') return String(v);
  return undefined;
}
