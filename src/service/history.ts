import type { InvocationRecord, Store } from '../core/index.js';
import { FerryError } from '../errors/index.js';
import { isAdmin, onFunction, type Principal } from '../auth/index.js';
import { randomBytes } from 'node:crypto';
import type { Catalog } from './catalog.js';

export interface HistoryOptions {
  store: Store;
  catalog: Catalog;
  /** Newest invocations kept per function, and the age past which they go. */
  perFunction: number;
  maxAgeMs: number;
  /** Request and response bodies are cut at this many bytes (recordPayloads only). */
  payloadMaxBytes: number;
  error(err: unknown): void;
}

/** What the gateway and the execution workers hand over when a call ends. */
export type FinishedCall = Omit<InvocationRecord, 'id' | 'truncated' | 'requestBody' | 'responseBody'> & {
  requestBody?: Buffer[] | undefined;
  responseBody?: Buffer[] | undefined;
};

const flushEveryMs = 1000;
const pruneEveryMs = 60_000;
/**
 * Calls of one function kept per flush (per second). Kept calls live in memory until the flush;
 * a ring this small is overwritten within milliseconds under load, so its calls die young (a
 * ring of 1000 made the collector promote them and cost half the warm throughput).
 */
const keptPerFlush = 100;

/** The calls of one function since the last flush: the newest `perFunction` of them, in a ring. */
interface Ring {
  calls: Array<FinishedCall | undefined>;
  next: number;
  pending: number;
}

/**
 * The invocation history. A call is kept in memory on the request path (one slot of its
 * function's ring) and written once a second, one transaction, off it. Every call is kept up to
 * 100 a second per function; past that the newest 100 of each second (all are counted in the
 * metrics), so a function at 20,000 calls a second costs 100 inserts and deletes a second, not
 * 20,000. A crash loses at most the last second of history, never a call.
 */
export class InvocationHistory {
  private readonly rings = new Map<string, Ring>();
  private pending = false;
  /**
   * Ids: this boot's random prefix and a counter, unique without a random draw per call. Hex, so
   * an id never starts with '-' and reads as an option on a command line.
   */
  private readonly idPrefix = randomBytes(6).toString('hex');
  private seq = 0;
  /** Rows each function may have stored beyond the bound, as far as this process knows. */
  private readonly written = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private readonly pruner: NodeJS.Timeout;

  constructor(private readonly o: HistoryOptions) {
    this.pruner = setInterval(() => void this.prune(), pruneEveryMs);
    this.pruner.unref();
  }

  record(call: FinishedCall): void {
    let ring = this.rings.get(call.function);
    if (!ring) {
      ring = { calls: new Array<FinishedCall | undefined>(Math.max(1, Math.min(keptPerFlush, this.o.perFunction))), next: 0, pending: 0 };
      this.rings.set(call.function, ring);
    }
    ring.calls[ring.next] = call;
    ring.next = (ring.next + 1) % ring.calls.length;
    if (ring.pending < ring.calls.length) ring.pending++;
    if (!this.pending) {
      this.pending = true;
      this.timer = setTimeout(() => void this.flush(), flushEveryMs);
    }
  }

  private cut(chunks: Buffer[] | undefined): [Buffer | null, boolean] {
    if (chunks === undefined) return [null, false];
    const all = Buffer.concat(chunks);
    return all.length > this.o.payloadMaxBytes ? [all.subarray(0, this.o.payloadMaxBytes), true] : [all, false];
  }

  /** Takes each ring's calls since the last flush, oldest first, as records with ids. */
  private drain(): InvocationRecord[] {
    const out: InvocationRecord[] = [];
    for (const [fn, ring] of this.rings) {
      const n = ring.calls.length;
      for (let i = ring.pending; i > 0; i--) {
        const slot = (ring.next - i + n) % n;
        const call = ring.calls[slot]!;
        ring.calls[slot] = undefined;
        const [requestBody, reqCut] = this.cut(call.requestBody);
        const [responseBody, resCut] = this.cut(call.responseBody);
        out.push({
          id: `${this.idPrefix}${(++this.seq).toString(36).padStart(8, '0')}`,
          time: call.time,
          function: call.function,
          version: call.version,
          kind: call.kind,
          status: call.status,
          durationMs: call.durationMs,
          requestId: call.requestId,
          executionId: call.executionId,
          method: call.method,
          path: call.path,
          requestBody,
          responseBody,
          truncated: reqCut || resCut,
        });
      }
      if (ring.pending === 0) this.rings.delete(fn);
      ring.pending = 0;
    }
    return out;
  }

  /** Writes what is buffered; answers when it (and every earlier write) is stored. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = false;
    const batch = this.drain();
    if (batch.length) {
      // The bound per function is kept as rows arrive: a function that may be over it gets one
      // indexed delete.
      const over: string[] = [];
      for (const r of batch) this.written.set(r.function, (this.written.get(r.function) ?? this.o.perFunction) + 1);
      for (const [f, n] of this.written) if (n > this.o.perFunction) over.push(f);
      this.writing = this.writing
        .then(async () => {
          await this.o.store.invocations.append(batch);
          if (over.length) {
            await this.o.store.invocations.prune({ perFunction: this.o.perFunction, maxAgeMs: Infinity, now: Date.now(), functions: over });
            for (const f of over) this.written.set(f, this.o.perFunction);
          }
        })
        .catch((err) => this.o.error(err));
    }
    return this.writing;
  }

  private async prune(): Promise<void> {
    await this.o.store.invocations.prune({ perFunction: this.o.perFunction, maxAgeMs: this.o.maxAgeMs, now: Date.now() }).catch((err) => this.o.error(err));
  }

  /** Recent invocations of the functions `actor` may read, newest first. */
  async list(actor: Principal, q: { function?: string; before?: string; limit: number }): Promise<InvocationRecord[]> {
    await this.flush();
    let functions: string[] | undefined;
    if (q.function !== undefined) {
      const owner = this.o.catalog.owner(q.function);
      // A function one may not read has no history one can see; a deleted one keeps its rows for admins.
      if (owner === undefined ? !isAdmin(actor) : onFunction(actor, 'read', owner) !== 'yes') return [];
      functions = [q.function];
    } else if (!isAdmin(actor)) {
      functions = this.o.catalog.functionNames().filter((f) => onFunction(actor, 'read', this.o.catalog.owner(f)!) === 'yes');
    }
    return this.o.store.invocations.list({ functions, ...(q.before ? { before: q.before } : {}), limit: q.limit });
  }

  async get(actor: Principal, id: string): Promise<InvocationRecord> {
    await this.flush();
    const rec = await this.o.store.invocations.get(id);
    const owner = rec && this.o.catalog.owner(rec.function);
    if (!rec || (!isAdmin(actor) && (owner === undefined || onFunction(actor, 'read', owner) !== 'yes'))) {
      throw new FerryError('invocation-not-found', `no invocation '${id}' you may read`);
    }
    return rec;
  }

  async close(): Promise<void> {
    clearInterval(this.pruner);
    await this.flush();
  }
}
