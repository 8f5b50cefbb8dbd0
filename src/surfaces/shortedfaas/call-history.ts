import type { InvocationRecord, LogLine } from '../../core/index.js';
import { FerryError } from '../../errors/index.js';
import type { FunctionLogs, InvocationHistory } from '../../service/index.js';
import { labels } from './package-adapter.js';
import type { ShortedFunctions } from './shorted-functions.js';

/** Log lines read per function to find what a call wrote to stderr and its exit status. */
const logWindow = 2000;

export interface HistoryEntry {
  id: string;
  function: string;
  time: string;
  /** A program's exit status (from Ferry's `exec: ... exit status N` line); null for lambdas or when unknown. */
  exitCode: number | null;
  status: number;
}

/**
 * `/history` and `/history/{id}` over Ferry's invocation history, for this surface's functions
 * only. Bodies are shown only when the caller authenticated (the surface's auth is on) and the
 * function records them (`recordPayloads`).
 */
export class CallHistory {
  constructor(
    private readonly fns: ShortedFunctions,
    private readonly history: InvocationHistory,
    private readonly logs: FunctionLogs,
  ) {}

  /** The last `limit` calls, newest first. */
  async list(limit: number): Promise<HistoryEntry[]> {
    const actor = await this.fns.actor();
    const out: Array<{ rec: InvocationRecord; lines: LogLine[]; program: boolean }> = [];
    for (const v of await this.fns.list()) {
      const recs = await this.history.list(actor, { function: v.function, limit });
      if (recs.length === 0) continue;
      const lines = await this.logs.query(v.function, { limit: logWindow });
      for (const rec of recs) out.push({ rec, lines, program: v.manifest.labels?.[labels.kind] === 'program' });
    }
    out.sort((a, b) => b.rec.time - a.rec.time);
    return out.slice(0, limit).map((e) => entryOf(e.rec, e.program, e.lines));
  }

  /** One call in full: its stderr and, when `withBodies`, the input and output it recorded. */
  async get(id: string, withBodies: boolean): Promise<Record<string, unknown>> {
    const rec = await this.history.get(await this.fns.actor(), id).catch(() => undefined);
    const v = rec && (await this.fns.latest(rec.function));
    if (!rec || !v) throw new FerryError('invocation-not-found', `no call '${id}' of a ShortedFaaS function`);
    const lines = await this.logs.query(rec.function, { limit: logWindow });
    const mine = lines.filter((l) => l.requestId === rec.requestId);
    return {
      ...entryOf(rec, v.manifest.labels?.[labels.kind] === 'program', lines),
      kind: rec.kind,
      durationMs: rec.durationMs,
      requestId: rec.requestId,
      errors: mine.filter((l) => l.stream !== 'stdout').map((l) => l.line),
      http: { status: rec.status },
      ...(withBodies
        ? { input: rec.requestBody?.toString('utf8') ?? null, output: rec.responseBody?.toString('utf8') ?? null, truncated: rec.truncated }
        : {}),
    };
  }
}

function entryOf(rec: InvocationRecord, program: boolean, lines: readonly LogLine[]): HistoryEntry {
  let exitCode: number | null = null;
  if (program) {
    if (rec.status < 400) exitCode = 0;
    for (const l of lines) {
      if (l.requestId !== rec.requestId) continue;
      const m = /exit status (\d+)/.exec(l.line);
      if (m) exitCode = Number(m[1]);
    }
  }
  return { id: rec.id, function: rec.function, time: new Date(rec.time).toISOString(), exitCode, status: rec.status };
}
