import type { ServerResponse } from 'node:http';
import { codes } from './codes.js';
import { FerryError } from './ferry-error.js';

/** The RFC 9457 problem document Ferry answers with. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  [extra: string]: unknown;
}

export function toProblem(err: FerryError, instance?: string): Problem {
  const p: Problem = {
    // The server's own errors page (api/errors-doc.ts), relative: it resolves against the answer's URL.
    type: `/v1/errors#${err.code}`,
    title: codes[err.code].title,
    status: err.status,
    detail: err.message,
    code: err.code,
  };
  if (instance) p.instance = instance;
  if (err.extras) Object.assign(p, err.extras);
  return p;
}

/** Writes `err` as `application/problem+json`. Safe to call once headers were sent (it just ends). */
export function sendProblem(res: ServerResponse, err: FerryError, instance?: string, extraHeaders?: Record<string, string>): void {
  if (res.headersSent) {
    res.destroy(err);
    return;
  }
  const body = JSON.stringify(toProblem(err, instance));
  const headers: Record<string, string | number> = {
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(body),
    ...extraHeaders,
    ...err.headers,
  };
  res.writeHead(err.status, headers);
  res.end(body);
}
