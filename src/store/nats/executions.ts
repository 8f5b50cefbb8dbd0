/**
 * Execution records in a KV bucket (`<prefix>_executions`): `e.<id>` the record, `i.<F>.<key>`
 * an idempotency key naming its execution, `seq` the counter that orders executions across
 * nodes (the list cursor). Every change of a record is a checked update from the revision read.
 * Result bodies over `inlineResultBytes` go to the object store (`results/<id>/<n>`), written
 * before the record names them. What is due to run is the executions queue's business.
 */
import { randomBytes } from 'node:crypto';
import type { ObjectStore as NatsObjectStore } from '@nats-io/obj';
import {
  endedStatuses,
  inlineResultBytes,
  type CallbackOutcome,
  type ExecutionQuery,
  type ExecutionRecord,
  type ExecutionResult,
  type ExecutionStore,
  type LeaseHolder,
  type NewExecution,
  type RunEnd,
} from '../../core/executions.js';
import type { LogLine } from '../../core/records.js';
import type { Bucket, Entry } from './bucket.js';
import { token } from './layout.js';
import type { NatsLogs } from './logs.js';

/** The record as stored: bytes as base64, a large result body by its object name. */
type Stored = Omit<ExecutionRecord, 'request' | 'result'> & {
  request: { method: string; path: string; headers: string[]; body: string; sealed?: string };
  result: (Omit<ExecutionResult, 'body'> & { body: string | null; object?: string }) | null;
};

const recordKey = (id: string): string => `e.${token(id)}`;
const idempotencyKey = (fn: string, key: string): string => `i.${token(fn)}.${token(key)}`;

function toStored(e: NewExecution, seq: number): Stored {
  const { sealedCredentials, body, ...req } = e.request;
  return {
    ...e,
    request: { ...req, body: body.toString('base64'), ...(sealedCredentials ? { sealed: sealedCredentials.toString('base64') } : {}) },
    status: 'queued',
    callbackOutcome: null,
    attempts: 0,
    lostRuns: 0,
    notBefore: e.createdAt,
    lease: null,
    startedAt: null,
    runStartedAt: null,
    finishedAt: null,
    result: null,
    error: null,
    seq,
  };
}

function fromStored(s: Stored): ExecutionRecord {
  const { sealed, body, ...req } = s.request;
  const result = s.result && { status: s.result.status, headers: s.result.headers, size: s.result.size, body: s.result.body === null ? null : Buffer.from(s.result.body, 'base64') };
  return { ...s, request: { ...req, body: Buffer.from(body, 'base64'), ...(sealed !== undefined ? { sealedCredentials: Buffer.from(sealed, 'base64') } : {}) }, result };
}

/** The request without its sealed credentials: an ended execution runs no more. */
function withoutCredentials(r: Stored['request']): Stored['request'] {
  const { sealed: _dropped, ...rest } = r;
  return rest;
}

const open = (s: Stored): boolean => s.status === 'queued' || s.status === 'running';

export class NatsExecutions implements ExecutionStore {
  /** The records this process began, as it wrote them: their end is written without reading them again. */
  private readonly running = new Map<string, Omit<Entry<Stored>, 'key'>>();

  constructor(
    private readonly bucket: Bucket,
    private readonly results: NatsObjectStore,
    private readonly logLines: NatsLogs,
  ) {}

  /** Reserves `n` list sequence numbers; answers the first. */
  private async reserve(n: number): Promise<number> {
    const { after } = await this.bucket.change<number>('seq', (cur) => (cur ?? 0) + n);
    return after! - n + 1;
  }

  /**
   * Entries without an idempotency key are written at once; those with one, one at a time in
   * batch order, so a key repeated in the batch answers the first. The key is created before the
   * record: a crash in between leaves a key naming no execution, which the next submission with
   * that key takes over.
   */
  async create(batch: NewExecution[]): Promise<Array<{ id: string; created: boolean }>> {
    if (batch.length === 0) return [];
    const first = await this.reserve(batch.length);
    const store = async (e: NewExecution, i: number): Promise<{ id: string; created: boolean }> => ({
      id: e.id,
      created: (await this.bucket.create(recordKey(e.id), toStored(e, first + i))) !== undefined,
    });
    const out = await Promise.all(batch.map((e, i) => (e.idempotencyKey === null ? store(e, i) : undefined)));
    for (const [i, e] of batch.entries()) {
      if (e.idempotencyKey === null) continue;
      const existing = await this.claimKey(e.function, e.idempotencyKey, e.id);
      out[i] = existing !== undefined ? { id: existing, created: false } : await store(e, i);
    }
    return out as Array<{ id: string; created: boolean }>;
  }

  /** Takes the idempotency key for `id`; answers the execution that already holds it, if any. */
  private async claimKey(fn: string, key: string, id: string): Promise<string | undefined> {
    for (;;) {
      const cur = await this.bucket.get<{ id: string }>(idempotencyKey(fn, key));
      if (!cur) {
        if ((await this.bucket.create(idempotencyKey(fn, key), { id })) !== undefined) return undefined;
        continue;
      }
      if (await this.bucket.get(recordKey(cur.value.id))) return cur.value.id;
      if ((await this.bucket.update(idempotencyKey(fn, key), { id }, cur.revision)) !== undefined) return undefined;
    }
  }

  async get(id: string): Promise<ExecutionRecord | undefined> {
    const e = await this.bucket.get<Stored>(recordKey(id));
    return e && fromStored(e.value);
  }

  private async all(): Promise<Array<Entry<Stored>>> {
    return this.bucket.scan<Stored>('e.*');
  }

  async list(q: ExecutionQuery): Promise<ExecutionRecord[]> {
    const allowed = q.functions && new Set(q.functions);
    const before = q.before ?? Number.MAX_SAFE_INTEGER;
    return (await this.all())
      .map((e) => e.value)
      .filter((s) => s.seq < before && (q.function === undefined || s.function === q.function) && (q.status === undefined || s.status === q.status) && (!allowed || allowed.has(s.function)))
      .sort((a, b) => b.seq - a.seq)
      .slice(0, Math.max(0, Math.floor(q.limit)))
      .map(fromStored);
  }

  async countOpen(): Promise<number> {
    return (await this.all()).filter((e) => open(e.value)).length;
  }

  /** Every record at once (each its own compare-and-set): one after the other, a batch of N waited N round trips. */
  async begin(q: { ids: string[]; holder: LeaseHolder; now: number }): Promise<ExecutionRecord[]> {
    const begun = await Promise.all(
      q.ids.map(async (id) => {
        const { before, after, revision } = await this.bucket.change<Stored>(recordKey(id), (cur) =>
          cur && open(cur)
            ? { ...cur, status: 'running', lease: q.holder, lostRuns: cur.lostRuns + (cur.status === 'running' ? 1 : 0), startedAt: cur.startedAt ?? q.now, runStartedAt: q.now }
            : undefined,
        );
        if (!after || before === after) return undefined;
        this.running.set(id, { value: after, revision: revision! });
        return fromStored(after);
      }),
    );
    return begun.filter((r): r is ExecutionRecord => r !== undefined);
  }

  finish(ends: RunEnd[]): Promise<boolean[]> {
    return Promise.all(ends.map((e) => this.finishOne(e)));
  }

  private async finishOne(e: RunEnd): Promise<boolean> {
    // As `begin` wrote it, unless someone wrote it since (then the revision check fails and the record is read).
    const known = this.running.get(e.id);
    this.running.delete(e.id);
    const body = e.result?.body;
    const large = body !== undefined && body.length > inlineResultBytes;
    // Under a name of its own: a run that lost its lease never overwrites the holder's body.
    const object = large ? `results/${token(e.id)}/${randomBytes(8).toString('hex')}` : undefined;
    if (object) await this.results.putBlob({ name: object }, body!);
    let replaced: string | undefined;
    const { before, after } = await this.bucket.change<Stored>(recordKey(e.id), (cur) => {
      if (!cur || cur.status !== 'running' || cur.lease?.node !== e.holder.node || cur.lease.boot !== e.holder.boot) return undefined;
      const ended = endedStatuses.has(e.status);
      replaced = e.result ? cur.result?.object : undefined;
      return {
        ...cur,
        status: e.status,
        lease: null,
        attempts: cur.attempts + (e.counted ? 1 : 0),
        notBefore: e.notBefore ?? cur.notBefore,
        finishedAt: ended ? e.now : null,
        request: ended ? withoutCredentials(cur.request) : cur.request,
        result: e.result ? { status: e.result.status, headers: e.result.headers, size: e.result.body.length, body: large ? null : e.result.body.toString('base64'), ...(object ? { object } : {}) } : cur.result,
        error: e.counted ? (e.error ?? null) : cur.error,
        callbackOutcome: e.callbackOutcome ?? cur.callbackOutcome,
      };
    }, known);
    const won = after !== undefined && before !== after;
    if (!won && object) await this.results.delete(object).catch(() => {});
    if (won && replaced) await this.results.delete(replaced).catch(() => {});
    return won;
  }

  async cancel(id: string, now: number, callbackOutcome: CallbackOutcome | null): Promise<ExecutionRecord | undefined> {
    const { after } = await this.bucket.change<Stored>(recordKey(id), (cur) =>
      cur?.status === 'queued' ? { ...cur, status: 'cancelled', finishedAt: now, callbackOutcome: callbackOutcome ?? cur.callbackOutcome, request: withoutCredentials(cur.request) } : undefined,
    );
    return after && fromStored(after);
  }

  async redrive(id: string, now: number): Promise<ExecutionRecord | undefined> {
    const { before, after } = await this.bucket.change<Stored>(recordKey(id), (cur) =>
      cur && (cur.status === 'failed' || cur.status === 'timed-out') ? { ...cur, status: 'queued', attempts: 0, notBefore: now, finishedAt: null, callbackOutcome: null, lease: null } : undefined,
    );
    return after && before !== after ? fromStored(after) : undefined;
  }

  async setCallbackOutcome(id: string, outcome: CallbackOutcome): Promise<void> {
    await this.bucket.change<Stored>(recordKey(id), (cur) => cur && { ...cur, callbackOutcome: outcome });
  }

  async pendingCallbacks(limit: number): Promise<ExecutionRecord[]> {
    return (await this.all())
      .map((e) => e.value)
      .filter((s) => s.finishedAt !== null && s.callbackOutcome?.state === 'pending')
      .sort((a, b) => a.seq - b.seq)
      .slice(0, Math.max(0, Math.floor(limit)))
      .map(fromStored);
  }

  async resultBody(id: string): Promise<Buffer | undefined> {
    const e = await this.bucket.get<Stored>(recordKey(id));
    const result = e?.value.result;
    if (!result) return undefined;
    if (result.body !== null) return Buffer.from(result.body, 'base64');
    const data = result.object ? await this.results.getBlob(result.object) : null;
    return data ? Buffer.from(data) : Buffer.alloc(0);
  }

  async logs(fn: string, id: string, limit: number): Promise<Array<LogLine & { id: number }>> {
    return this.logLines.read(fn, { afterId: 0, limit }, (l) => l.requestId === id);
  }

  async prune(before: number): Promise<number> {
    let n = 0;
    for (const e of await this.all()) {
      if (e.value.finishedAt !== null && e.value.finishedAt < before && (await this.remove(e))) n++;
    }
    return n;
  }

  /** Part of a function's sweep. */
  async deleteOf(fn: string): Promise<void> {
    for (const e of await this.all()) if (e.value.function === fn) await this.remove(e);
  }

  /** Deletes the record if unchanged since read, then what only it used. */
  private async remove(e: Entry<Stored>): Promise<boolean> {
    if (!(await this.bucket.delete(e.key, e.revision))) return false;
    const s = e.value;
    if (s.result?.object) await this.results.delete(s.result.object).catch(() => {});
    if (s.idempotencyKey !== null) {
      const key = idempotencyKey(s.function, s.idempotencyKey);
      const held = await this.bucket.get<{ id: string }>(key);
      if (held?.value.id === s.id) await this.bucket.delete(key, held.revision);
    }
    return true;
  }
}
