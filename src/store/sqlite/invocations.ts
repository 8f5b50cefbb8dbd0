/** The invocation history on the embedded store. */
import type Database from 'better-sqlite3';
import type { InvocationStore } from '../../core/store.js';
import type { InvocationRecord } from '../../core/records.js';

interface Row {
  id: string;
  seq: number;
  time: number;
  function: string;
  version: string;
  kind: string;
  status: number;
  duration_ms: number;
  request_id: string;
  execution_id: string | null;
  method: string;
  path: string;
  request_body: Buffer | null;
  response_body: Buffer | null;
  truncated: number;
}

const summary = 'id, seq, time, function, version, kind, status, duration_ms, request_id, execution_id, method, path, NULL AS request_body, NULL AS response_body, truncated';

function fromRow(r: Row): InvocationRecord {
  return {
    id: r.id,
    time: r.time,
    function: r.function,
    version: r.version,
    kind: r.kind === 'async' ? 'async' : 'sync',
    status: r.status,
    durationMs: r.duration_ms,
    requestId: r.request_id,
    executionId: r.execution_id,
    method: r.method,
    path: r.path,
    requestBody: r.request_body,
    responseBody: r.response_body,
    truncated: r.truncated === 1,
  };
}

export class SqliteInvocations implements InvocationStore {
  private readonly sql;
  private seq: number;

  constructor(private readonly db: Database.Database) {
    this.sql = {
      insert: db.prepare(
        `INSERT OR IGNORE INTO invocations (id, seq, time, function, version, kind, status, duration_ms, request_id, execution_id, method, path, request_body, response_body, truncated)
         VALUES (@id, @seq, @time, @function, @version, @kind, @status, @duration_ms, @request_id, @execution_id, @method, @path, @request_body, @response_body, @truncated)`,
      ),
      get: db.prepare<[string], Row>('SELECT * FROM invocations WHERE id = ?'),
      seqOf: db.prepare<[string], number>('SELECT seq FROM invocations WHERE id = ?').pluck(),
      all: db.prepare<[number, number], Row>(`SELECT ${summary} FROM invocations WHERE seq < ? ORDER BY seq DESC LIMIT ?`),
      byFunction: db.prepare<[string, number, number], Row>(`SELECT ${summary} FROM invocations WHERE function = ? AND seq < ? ORDER BY seq DESC LIMIT ?`),
      maxSeq: db.prepare<[], number | null>('SELECT MAX(seq) FROM invocations').pluck(),
      functions: db.prepare<[], string>('SELECT DISTINCT function FROM invocations').pluck(),
      capSeq: db.prepare<[string, number], number>('SELECT seq FROM invocations WHERE function = ? ORDER BY seq DESC LIMIT 1 OFFSET ?').pluck(),
      deleteUpTo: db.prepare<[string, number]>('DELETE FROM invocations WHERE function = ? AND seq <= ?'),
      deleteBefore: db.prepare<[number]>('DELETE FROM invocations WHERE time < ?'),
    };
    this.seq = this.sql.maxSeq.get() ?? 0;
  }

  /** One transaction for the batch: one commit however many lines. */
  async append(batch: InvocationRecord[]): Promise<void> {
    if (batch.length === 0) return;
    this.db.transaction(() => {
      // From the table, under the write lock: another process on the file appends too.
      this.seq = Math.max(this.seq, this.sql.maxSeq.get() ?? 0);
      for (const r of batch) {
        this.sql.insert.run({
          id: r.id,
          seq: ++this.seq,
          time: r.time,
          function: r.function,
          version: r.version,
          kind: r.kind,
          status: r.status,
          duration_ms: r.durationMs,
          request_id: r.requestId,
          execution_id: r.executionId,
          method: r.method,
          path: r.path,
          request_body: r.requestBody,
          response_body: r.responseBody,
          truncated: r.truncated ? 1 : 0,
        });
      }
    }).immediate();
  }

  async list(q: { functions: string[] | undefined; before?: string; limit: number }): Promise<InvocationRecord[]> {
    const limit = Math.max(1, Math.floor(q.limit));
    const before = q.before === undefined ? Number.MAX_SAFE_INTEGER : (this.sql.seqOf.get(q.before) ?? 0);
    if (q.functions === undefined) return this.sql.all.all(before, limit).map(fromRow);
    // Per function, then merged: each query walks its own index range.
    const rows = q.functions.flatMap((f) => this.sql.byFunction.all(f, before, limit));
    return rows.sort((a, b) => b.seq - a.seq).slice(0, limit).map(fromRow);
  }

  async get(id: string): Promise<InvocationRecord | undefined> {
    const r = this.sql.get.get(id);
    return r && fromRow(r);
  }

  async prune(opts: { perFunction: number; maxAgeMs: number; now: number; functions?: string[] }): Promise<void> {
    this.db.transaction(() => {
      if (Number.isFinite(opts.maxAgeMs)) this.sql.deleteBefore.run(opts.now - opts.maxAgeMs);
      for (const f of opts.functions ?? this.sql.functions.all()) {
        const cap = this.sql.capSeq.get(f, Math.max(0, Math.floor(opts.perFunction)));
        if (cap !== undefined) this.sql.deleteUpTo.run(f, cap);
      }
    }).immediate();
  }
}
