import { failureNotice, hidesDetail, type ExecutionRecord, type LogLine } from '../core/index.js';

const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** What the reader of an execution may see of it beyond its status and result. */
export interface ExecutionReader {
  /** Holds `read` on the function: sees what the function said when it failed. */
  mayRead: boolean;
  /** The version has `errors: "verbose"`: every reader sees that. */
  verboseErrors: boolean;
  /** The request's headers as shown: credentials redacted (unless the version keeps them). */
  headers(flat: string[]): string[];
}

/** A flat header list as an object; a repeated name becomes an array. */
function headerObject(flat: string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!.toLowerCase();
    const v = flat[i + 1]!;
    const had = out[name];
    out[name] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
  }
  return out;
}

/** A body as JSON can carry it: text when it is UTF-8, else base64. */
function bodyText(body: Buffer): { body: string; bodyEncoding: 'utf8' | 'base64' } {
  try {
    return { body: utf8.decode(body), bodyEncoding: 'utf8' };
  } catch {
    return { body: body.toString('base64'), bodyEncoding: 'base64' };
  }
}

/** An execution in lists: no result body, no logs. */
export function executionSummary(e: ExecutionRecord) {
  return {
    id: e.id,
    function: e.function,
    version: e.version,
    status: e.status,
    public: e.public,
    attempts: e.attempts,
    lostRuns: e.lostRuns,
    createdAt: iso(e.createdAt),
    startedAt: iso(e.startedAt),
    finishedAt: iso(e.finishedAt),
    resultStatus: e.result?.status ?? null,
    location: `/v1/executions/${e.id}`,
  };
}

/** The last run's error as `reader` may see it: a failure's own words only for the function's readers. */
function errorFor(e: ExecutionRecord, reader: ExecutionReader): ExecutionRecord['error'] {
  const err = e.error;
  if (!err || !hidesDetail(err.code) || reader.mayRead || reader.verboseErrors) return err;
  return { code: err.code, detail: failureNotice(err.code, e.id) };
}

/**
 * One execution in full: request, result (inline up to 64 KiB), timings, callback, logs (pass
 * them only for a reader with `read` on the function).
 */
export function executionView(e: ExecutionRecord, logs: Array<LogLine & { id: number }> | undefined, reader: ExecutionReader) {
  const r = e.result;
  const ended = e.finishedAt !== null;
  return {
    ...executionSummary(e),
    request: { method: e.request.method, path: e.request.path, headers: headerObject(reader.headers(e.request.headers)), bodySize: e.request.body.length },
    nextAttemptAt: e.status === 'queued' && e.notBefore > e.createdAt ? iso(e.notBefore) : null,
    timings: {
      queuedMs: e.startedAt === null ? null : e.startedAt - e.createdAt,
      lastRunMs: ended && e.runStartedAt !== null ? e.finishedAt! - e.runStartedAt : null,
      totalMs: ended ? e.finishedAt! - e.createdAt : null,
    },
    result: r && {
      status: r.status,
      headers: headerObject(r.headers),
      size: r.size,
      ...(r.body ? bodyText(r.body) : { body: null, bodyEncoding: null }),
      bodyUrl: `/v1/executions/${e.id}/result`,
    },
    error: errorFor(e, reader),
    callback: e.callback && { url: e.callback.url, ...(e.callbackOutcome ?? { state: 'pending', attempts: 0, lastStatus: null, lastError: null, at: null }), at: iso(e.callbackOutcome?.at ?? null) },
    ...(logs ? { logs: logs.map((l) => ({ id: l.id, time: new Date(l.time).toISOString(), instance: l.instance, stream: l.stream, line: l.line })) } : {}),
  };
}
