import type { ExecutionRecord, LogLine } from '../core/index.js';

const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Credentials the request carried for the function: stored to replay, never shown. */
const secretHeaders = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-task-token']);

/** A flat header list as an object; a repeated name becomes an array. */
function headerObject(flat: string[], redact = false): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!.toLowerCase();
    const v = redact && secretHeaders.has(name) ? '(redacted)' : flat[i + 1]!;
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

/** One execution in full: request, result (inline up to 64 KiB), timings, callback, logs. */
export function executionView(e: ExecutionRecord, logs: Array<LogLine & { id: number }> | undefined) {
  const r = e.result;
  const ended = e.finishedAt !== null;
  return {
    ...executionSummary(e),
    request: { method: e.request.method, path: e.request.path, headers: headerObject(e.request.headers, true), bodySize: e.request.body.length },
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
    error: e.error,
    callback: e.callback && { url: e.callback.url, ...(e.callbackOutcome ?? { state: 'pending', attempts: 0, lastStatus: null, lastError: null, at: null }), at: iso(e.callbackOutcome?.at ?? null) },
    ...(logs ? { logs: logs.map((l) => ({ id: l.id, time: new Date(l.time).toISOString(), instance: l.instance, stream: l.stream, line: l.line })) } : {}),
  };
}
