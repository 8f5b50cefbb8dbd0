import { FerryError, toProblem } from '../errors/index.js';
import type { ApiContext, ApiResult } from './route.js';

/** What an upload answers the build's progress in, when the client asks for it with `Accept`. */
export const PROGRESS_MEDIA_TYPE = 'application/x-ndjson';

/**
 * An upload whose client accepts `application/x-ndjson` gets the build log as it is written: one
 * JSON line `{"log": "..."}` per line, then the outcome as the last line, `{"status": 201,
 * "version": {...}}` or `{"status": 422, "problem": {...}}`. The `200` head goes with the first
 * log line; a failure before it (a bad archive, a name taken) answers as without the header.
 */
export async function withBuildProgress(c: ApiContext, create: (progress?: (line: string) => void) => Promise<{ status: number; body: unknown; headers?: Record<string, string> }>): Promise<ApiResult> {
  if (!(c.req.headers.accept ?? '').includes(PROGRESS_MEDIA_TYPE)) return create();
  const { res } = c;
  const line = (value: unknown): void => void res.write(`${JSON.stringify(value)}\n`);
  const progress = (text: string): void => {
    if (!res.headersSent) res.writeHead(200, { 'content-type': PROGRESS_MEDIA_TYPE, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    line({ log: text });
  };
  let outcome;
  try {
    outcome = await create(progress);
  } catch (err) {
    if (!res.headersSent) throw err;
    // The head is gone: the failure is the last line, with the status it would have had.
    const fe = FerryError.from(err);
    if (!c.req.readableEnded) c.req.resume();
    line({ status: fe.status, problem: toProblem(fe, c.req.url?.split('?')[0]) });
    res.end();
    return undefined;
  }
  if (!res.headersSent) return outcome;
  line({ status: outcome.status, version: outcome.body, ...(outcome.headers?.location && { location: outcome.headers.location }) });
  res.end();
  return undefined;
}
