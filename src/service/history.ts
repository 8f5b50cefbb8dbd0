import type { InvocationRecord, Store } from '../core/index.js';
import { FerryError } from '../errors/index.js';
import { isAdmin, onFunction, type Principal } from '../auth/index.js';
import { shortId } from '../util/ids.js';
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

const flushEveryMs = 250;
const flushAt = 2000;
const pruneEveryMs = 60_000;

/**
 * The invocation history. Calls are recorded in memory on the request path (an array push) and
 * written in batches, one transaction each, off it; pruning keeps `perFunction` per function.
 * A crash loses at most the last quarter second of history, never a call.
 */
export class InvocationHistory {
  private buffer: InvocationRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private readonly pruner: NodeJS.Timeout;

  constructor(private readonly o: HistoryOptions) {
    this.pruner = setInterval(() => void this.prune(), pruneEveryMs);
    this.pruner.unref();
  }

  record(call: FinishedCall): void {
    const [requestBody, reqCut] = this.cut(call.requestBody);
    const [responseBody, resCut] = this.cut(call.responseBody);
    this.buffer.push({ ...call, id: shortId() + shortId().slice(0, 6), requestBody, responseBody, truncated: reqCut || resCut });
    if (this.buffer.length >= flushAt) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), flushEveryMs);
  }

  private cut(chunks: Buffer[] | undefined): [Buffer | null, boolean] {
    if (chunks === undefined) return [null, false];
    const all = Buffer.concat(chunks);
    return all.length > this.o.payloadMaxBytes ? [all.subarray(0, this.o.payloadMaxBytes), true] : [all, false];
  }

  /** Writes what is buffered; answers when it (and every earlier write) is stored. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.buffer;
    this.buffer = [];
    if (batch.length) {
      // The bound per function is kept as rows arrive: one indexed delete per function written.
      const functions = [...new Set(batch.map((r) => r.function))];
      this.writing = this.writing
        .then(async () => {
          await this.o.store.invocations.append(batch);
          await this.o.store.invocations.prune({ perFunction: this.o.perFunction, maxAgeMs: Infinity, now: Date.now(), functions });
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
