/**
 * Executions on the embedded store. Acceptance and run ends arrive in batches, each applied in
 * one transaction: in WAL mode with synchronous=NORMAL a commit is a write to the WAL file, so
 * it survives the process being killed (not a power loss), and one commit per batch is what lets
 * thousands of submissions per second through.
 */
import type Database from 'better-sqlite3';
import {
  inlineResultBytes,
  type CallbackOutcome,
  type ExecutionQuery,
  type ExecutionRecord,
  type ExecutionStatus,
  type ExecutionStore,
  type LeaseHolder,
  type NewExecution,
  type RunEnd,
} from '../../core/executions.js';
import type { LogLine } from '../../core/records.js';
import { FerryError } from '../../errors/index.js';
import { logFromRow, parseJson, type LogRow } from './rows.js';

interface ExecRow {
  seq: number;
  id: string;
  function: string;
  version: string;
  public: number;
  status: ExecutionStatus;
  idempotency_key: string | null;
  request: string;
  request_body: Buffer | null;
  callback: string | null;
  callback_outcome: string | null;
  attempts: number;
  lost_runs: number;
  not_before: number;
  lease_node: string | null;
  lease_boot: string | null;
  lease_until: number | null;
  created_at: number;
  started_at: number | null;
  run_started_at: number | null;
  finished_at: number | null;
  result: string | null;
  result_body: Buffer | null;
  error: string | null;
}

const columns =
  'seq, id, function, version, public, status, idempotency_key, request, request_body, callback, callback_outcome, attempts, lost_runs, not_before, ' +
  'lease_node, lease_boot, lease_until, created_at, started_at, run_started_at, finished_at, result, result_body, error';

function fromRow(r: ExecRow): ExecutionRecord {
  const where = `executions(${r.id})`;
  const req = parseJson<{ method: string; path: string; headers: string[]; sealed?: string }>(r.request, `${where}.request`);
  const result = r.result === null ? null : parseJson<{ status: number; headers: string[]; size: number }>(r.result, `${where}.result`);
  return {
    id: r.id,
    function: r.function,
    version: r.version,
    public: r.public === 1,
    status: r.status,
    request: {
      method: req.method,
      path: req.path,
      headers: req.headers,
      body: r.request_body ?? Buffer.alloc(0),
      ...(req.sealed !== undefined && { sealedCredentials: Buffer.from(req.sealed, 'base64') }),
    },
    idempotencyKey: r.idempotency_key,
    callback: r.callback === null ? null : parseJson(r.callback, `${where}.callback`),
    callbackOutcome: r.callback_outcome === null ? null : parseJson<CallbackOutcome>(r.callback_outcome, `${where}.callback_outcome`),
    attempts: r.attempts,
    lostRuns: r.lost_runs,
    notBefore: r.not_before,
    lease: r.lease_node === null || r.lease_boot === null ? null : { node: r.lease_node, boot: r.lease_boot },
    createdAt: r.created_at,
    startedAt: r.started_at,
    runStartedAt: r.run_started_at,
    finishedAt: r.finished_at,
    result: result && { ...result, body: result.size <= inlineResultBytes ? (r.result_body ?? Buffer.alloc(0)) : null },
    error: r.error === null ? null : parseJson(r.error, `${where}.error`),
    seq: r.seq,
  };
}

const ended = (s: ExecutionStatus): boolean => s !== 'queued' && s !== 'running';

export class SqliteExecutions implements ExecutionStore {
  private readonly sql;

  constructor(private readonly db: Database.Database) {
    const list = (where: string) =>
      db.prepare<[{ fn: string | null; fns: string | null; status: string | null; before: number; limit: number }], ExecRow>(
        `SELECT ${columns} FROM executions WHERE ${where} AND seq < @before
         AND (@fns IS NULL OR function IN (SELECT value FROM json_each(@fns))) ORDER BY seq DESC LIMIT @limit`,
      );
    this.sql = {
      insert: db.prepare<[Record<string, unknown>]>(
        `INSERT INTO executions (id, function, version, public, status, idempotency_key, request, request_body, callback, callback_outcome, not_before, created_at)
         VALUES (@id, @function, @version, @public, 'queued', @idempotency_key, @request, @request_body, @callback, NULL, @created_at, @created_at)
         ON CONFLICT DO NOTHING`,
      ),
      byKey: db.prepare<[string, string], string>('SELECT id FROM executions WHERE function = ? AND idempotency_key = ?').pluck(),
      get: db.prepare<[string], ExecRow>(`SELECT ${columns} FROM executions WHERE id = ?`),
      // One statement per filter shape, so each can use its index.
      listAll: list('1'),
      listFn: list('function = @fn AND (@status IS NULL OR status = @status)'),
      listStatus: list('status = @status'),
      countOpen: db.prepare<[], number>("SELECT COUNT(*) FROM executions WHERE status IN ('queued', 'running')").pluck(),
      // lease_until is no longer kept: the queue holds the lease.
      begin: db.prepare<[{ id: string; node: string; boot: string; now: number }], ExecRow>(
        `UPDATE executions SET status = 'running', lease_node = @node, lease_boot = @boot, lease_until = NULL,
           lost_runs = lost_runs + (status = 'running'), started_at = COALESCE(started_at, @now), run_started_at = @now
         WHERE id = @id AND status IN ('queued', 'running')
         RETURNING ${columns}`,
      ),
      redrive: db.prepare<[{ id: string; now: number }]>(
        `UPDATE executions SET status = 'queued', attempts = 0, not_before = @now, finished_at = NULL, callback_outcome = NULL,
           lease_node = NULL, lease_boot = NULL, lease_until = NULL
         WHERE id = @id AND status IN ('failed', 'timed-out')`,
      ),
      finish: db.prepare<[Record<string, unknown>]>(
        `UPDATE executions SET status = @status, lease_node = NULL, lease_boot = NULL, lease_until = NULL,
           attempts = attempts + @counted, not_before = COALESCE(@not_before, not_before),
           finished_at = @finished_at,
           request = CASE WHEN @finished_at IS NULL THEN request ELSE json_remove(request, '$.sealed') END,
           result = COALESCE(@result, result), result_body = CASE WHEN @result IS NULL THEN result_body ELSE @result_body END,
           error = CASE WHEN @counted = 1 THEN @error ELSE error END,
           callback_outcome = COALESCE(@callback_outcome, callback_outcome)
         WHERE id = @id AND status = 'running' AND lease_node = @node AND lease_boot = @boot`,
      ),
      putObject: db.prepare<[string, Buffer]>('INSERT OR REPLACE INTO execution_objects (id, body) VALUES (?, ?)'),
      dropObject: db.prepare<[string]>('DELETE FROM execution_objects WHERE id = ?'),
      getObject: db.prepare<[string], Buffer>('SELECT body FROM execution_objects WHERE id = ?').pluck(),
      cancel: db.prepare<[{ id: string; now: number; cb: string | null }]>(
        `UPDATE executions SET status = 'cancelled', finished_at = @now, callback_outcome = COALESCE(@cb, callback_outcome), request = json_remove(request, '$.sealed')
         WHERE id = @id AND status = 'queued'`,
      ),
      setCallback: db.prepare<[string, string]>('UPDATE executions SET callback_outcome = ? WHERE id = ?'),
      pendingCallbacks: db.prepare<[number], ExecRow>(
        `SELECT ${columns} FROM executions WHERE finished_at IS NOT NULL AND callback_outcome IS NOT NULL
           AND json_extract(callback_outcome, '$.state') = 'pending' ORDER BY seq LIMIT ?`,
      ),
      logs: db.prepare<[string, string, number], LogRow>(
        'SELECT id, time, function, version, instance, stream, request_id, line FROM logs WHERE request_id = ? AND function = ? ORDER BY id LIMIT ?',
      ),
      prune: db.prepare<[number]>('DELETE FROM executions WHERE seq IN (SELECT seq FROM executions WHERE finished_at < ? LIMIT 2000)'),
      deleteOf: db.prepare<[string]>('DELETE FROM executions WHERE function = ?'),
    };
  }

  async create(batch: NewExecution[]): Promise<Array<{ id: string; created: boolean }>> {
    if (batch.length === 0) return [];
    return this.db.transaction(() =>
      batch.map((e) => {
        const res = this.sql.insert.run({
          id: e.id,
          function: e.function,
          version: e.version,
          public: e.public ? 1 : 0,
          idempotency_key: e.idempotencyKey,
          request: JSON.stringify({ method: e.request.method, path: e.request.path, headers: e.request.headers, sealed: e.request.sealedCredentials?.toString('base64') }),
          request_body: e.request.body.length ? e.request.body : null,
          callback: e.callback === null ? null : JSON.stringify(e.callback),
          created_at: e.createdAt,
        });
        if (res.changes === 1) return { id: e.id, created: true };
        const existing = e.idempotencyKey === null ? undefined : this.sql.byKey.get(e.function, e.idempotencyKey);
        // Ids are 128 random bits: a clash is a bug, not a repeat.
        if (existing === undefined) throw new FerryError('internal', `execution id ${e.id} is already taken`);
        return { id: existing, created: false };
      }),
    ).immediate();
  }

  async get(id: string): Promise<ExecutionRecord | undefined> {
    const r = this.sql.get.get(id);
    return r && fromRow(r);
  }

  async list(q: ExecutionQuery): Promise<ExecutionRecord[]> {
    const limit = Math.floor(q.limit);
    if (!(limit > 0)) return [];
    const params = {
      fn: q.function ?? null,
      fns: q.functions === undefined ? null : JSON.stringify(q.functions),
      status: q.status ?? null,
      before: q.before ?? Number.MAX_SAFE_INTEGER,
      limit,
    };
    const stmt = q.function !== undefined ? this.sql.listFn : q.status !== undefined ? this.sql.listStatus : this.sql.listAll;
    return stmt.all(params).map(fromRow);
  }

  async countOpen(): Promise<number> {
    return this.sql.countOpen.get() ?? 0;
  }

  async begin(q: { ids: string[]; holder: LeaseHolder; now: number }): Promise<ExecutionRecord[]> {
    if (q.ids.length === 0) return [];
    return this.db.transaction(() => {
      const out: ExecutionRecord[] = [];
      for (const id of q.ids) {
        const r = this.sql.begin.get({ id, node: q.holder.node, boot: q.holder.boot, now: q.now });
        if (r) out.push(fromRow(r));
      }
      return out;
    }).immediate();
  }

  async finish(ends: RunEnd[]): Promise<boolean[]> {
    if (ends.length === 0) return [];
    return this.db.transaction(() =>
      ends.map((e) => {
        const body = e.result?.body;
        const inline = body !== undefined && body.length <= inlineResultBytes;
        const res = this.sql.finish.run({
          id: e.id,
          node: e.holder.node,
          boot: e.holder.boot,
          status: e.status,
          counted: e.counted ? 1 : 0,
          not_before: e.notBefore ?? null,
          finished_at: ended(e.status) ? e.now : null,
          result: e.result ? JSON.stringify({ status: e.result.status, headers: e.result.headers, size: e.result.body.length }) : null,
          result_body: inline ? body : null,
          error: e.error ? JSON.stringify(e.error) : null,
          callback_outcome: e.callbackOutcome ? JSON.stringify(e.callbackOutcome) : null,
        });
        if (res.changes === 0) return false;
        // A large body is kept apart as an object; a later small one drops an earlier object.
        if (body !== undefined) {
          if (inline) this.sql.dropObject.run(e.id);
          else this.sql.putObject.run(e.id, body);
        }
        return true;
      }),
    ).immediate();
  }

  async cancel(id: string, now: number, callbackOutcome: CallbackOutcome | null): Promise<ExecutionRecord | undefined> {
    return this.db.transaction(() => {
      this.sql.cancel.run({ id, now, cb: callbackOutcome === null ? null : JSON.stringify(callbackOutcome) });
      const r = this.sql.get.get(id);
      return r && fromRow(r);
    }).immediate();
  }

  async redrive(id: string, now: number): Promise<ExecutionRecord | undefined> {
    return this.db.transaction(() => {
      if (this.sql.redrive.run({ id, now }).changes === 0) return undefined;
      const r = this.sql.get.get(id);
      return r && fromRow(r);
    }).immediate();
  }

  async setCallbackOutcome(id: string, outcome: CallbackOutcome): Promise<void> {
    this.sql.setCallback.run(JSON.stringify(outcome), id);
  }

  async pendingCallbacks(limit: number): Promise<ExecutionRecord[]> {
    return this.sql.pendingCallbacks.all(Math.max(0, Math.floor(limit))).map(fromRow);
  }

  async resultBody(id: string): Promise<Buffer | undefined> {
    const r = this.sql.get.get(id);
    if (!r || r.result === null) return undefined;
    return r.result_body ?? this.sql.getObject.get(id) ?? Buffer.alloc(0);
  }

  async logs(fn: string, id: string, limit: number): Promise<Array<LogLine & { id: number }>> {
    const n = Math.floor(limit);
    return n > 0 ? this.sql.logs.all(id, fn, n).map(logFromRow) : [];
  }

  async prune(before: number): Promise<number> {
    let total = 0;
    // In slices, so a large backlog never holds the write lock for long.
    for (;;) {
      const n = this.sql.prune.run(before).changes;
      total += n;
      if (n < 2000) return total;
    }
  }

  /** Part of deleting a function (inside the store's transaction). */
  deleteOf(fn: string): void {
    this.sql.deleteOf.run(fn);
  }
}
