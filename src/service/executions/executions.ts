/**
 * The use cases of asynchronous executions: accept (durably, in group commits, bounded),
 * read, list, wait for, cancel; the worker that runs them and the callbacks that report them.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { hexId128 } from '../../util/ids.js';
import { FerryError } from '../../errors/index.js';
import {
  endedStatuses,
  type CallbackOutcome,
  type CallbackSpec,
  type DeployTarget,
  type ExecutionQuery,
  type ExecutionRecord,
  type ExecutionStatus,
  type Invoke,
  type LeaseHolder,
  type LogLine,
  type NewExecution,
  type Queue,
  type QueueMessage,
  type Queues,
  type RunEnd,
  type Store,
  type StoredRequest,
  CredentialHeaders,
} from '../../core/index.js';
import type { Catalog } from '../catalog.js';
import type { FunctionLogs } from '../function-logs.js';
import { AddressPolicy } from '../../util/address-policy.js';
import { CallbackSender } from './callbacks.js';
import { RequestCredentials } from './credentials.js';
import { GroupCommit } from '../../util/group-commit.js';
import { ExecutionWorker } from './worker.js';

export interface ExecutionsOptions {
  store: Store;
  /** Where runs and callbacks wait: the queues `executions` and `callbacks`. */
  queues: Queues;
  catalog: Catalog;
  /** The invocation pipeline, which runs each execution (bound late: it submits to this). */
  run: Invoke;
  logs: FunctionLogs;
  /** This node and this boot of its server: what leases carry. */
  holder: LeaseHolder;
  /** Most executions running at once on this node (0: accept and queue, run none). */
  workers: number;
  /** Most executions queued or running before submissions answer 429. */
  queueMax: number;
  /** How long ended executions are kept. */
  retentionMs: number;
  /** Largest result body kept (and request body accepted). */
  maxBodyBytes: number;
  /** Loopback and private addresses callbacks may still reach. */
  callbackAllow: string[];
  /** Header patterns redacted from stored requests besides the defaults (`--redact-headers`). */
  redactHeaders?: string[];
  /** Tries per callback before it is marked failed (default 5). */
  callbackAttempts?: number;
  /** How long one callback try may take (default 10 s). */
  callbackTimeoutMs?: number;
  userAgent: string;
  warn(message: string, err?: unknown): void;
  info(message: string, fields?: object): void;
}

/** One submission, before it gets its id. */
export interface Submission {
  target: DeployTarget;
  public: boolean;
  request: StoredRequest;
  callback: CallbackSpec | null;
  idempotencyKey: string | null;
}

const pendingCallback = (attempts = 0): CallbackOutcome => ({ state: 'pending', attempts, lastStatus: null, lastError: null, at: null });

/** An execution whose runs are spent, as the dead-letter list shows it. */
export interface DeadExecution {
  execution: ExecutionRecord;
  /** The error code of the last run (or why the queue gave up on it). */
  reason: string;
  deliveries: number;
  /** When it became a dead letter. */
  at: number;
  /** The list cursor. */
  seq: number;
}

export class Executions {
  readonly policy: AddressPolicy;
  /** The headers no execution record shows or keeps past its end. */
  readonly credentialHeaders: CredentialHeaders;
  private readonly credentials: RequestCredentials;
  private readonly worker: ExecutionWorker;
  private readonly callbacks: CallbackSender;
  private readonly commits: GroupCommit<NewExecution, { id: string; created: boolean }>;
  private readonly messages: GroupCommit<QueueMessage, void>;
  private readonly queue: Queue;
  private readonly waiters = new Map<string, Set<() => void>>();
  /** Executions queued or running, as far as this node knows. */
  private open = 0;
  private pruneTimer: NodeJS.Timeout | undefined;
  private closing = false;

  constructor(private readonly o: ExecutionsOptions) {
    const store = o.store.executions;
    this.policy = new AddressPolicy(o.callbackAllow);
    this.credentialHeaders = new CredentialHeaders(o.redactHeaders);
    this.credentials = new RequestCredentials(o.store.keys, this.credentialHeaders);
    this.queue = o.queues.queue('executions');
    // The record first, then its message: a crash in between leaves a queued record that the
    // next start queues (`start`); the other way round a run could find no record. The answer
    // waits for the record's commit only (the record is what survives kill -9 and what the start
    // queues again); its message follows in a group of its own, off the answer's path, since a
    // second commit per acceptance cost a third of the accepted executions per second.
    this.messages = new GroupCommit<QueueMessage, void>(async (msgs) => {
      await this.queue.enqueue(msgs);
      return msgs.map((): void => undefined);
    });
    this.commits = new GroupCommit(async (batch) => {
      const out = await store.create(batch);
      batch.forEach((e, i) => {
        if (!out[i]!.created) return;
        this.queueMessage({ id: e.id, key: e.function, data: Buffer.alloc(0) });
      });
      return out;
    });
    const consumer = { name: o.holder.node, session: o.holder.boot };
    this.callbacks = new CallbackSender({
      store,
      queue: o.queues.queue('callbacks'),
      consumer,
      policy: this.policy,
      keyFor: (fn) => this.callbackKey(fn),
      userAgent: o.userAgent,
      warn: o.warn,
      ...(o.callbackAttempts !== undefined && { maxAttempts: o.callbackAttempts }),
      ...(o.callbackTimeoutMs !== undefined && { timeoutMs: o.callbackTimeoutMs }),
    });
    this.worker = new ExecutionWorker({
      store,
      queue: this.queue,
      run: o.run,
      holder: o.holder,
      target: (fn, v) => o.catalog.target(fn, v),
      request: (rec) => this.credentials.open(rec.id, rec.function, rec.request),
      workers: o.workers,
      maxResultBytes: o.maxBodyBytes,
      ended: (rec, end) => this.ended(rec, end),
      warn: o.warn,
    });
  }

  /**
   * Queues an accepted execution's message; while the queue cannot take it (NATS away), tried
   * again every second, so an execution accepted just before an outage is not left queued until
   * a node starts again. Queueing an id twice adds nothing, and a run of an ended one is dropped.
   */
  private queueMessage(m: QueueMessage): void {
    this.messages.add(m).catch((err) => {
      this.o.warn(`queueing execution ${m.id} failed; trying again`, err);
      if (!this.closing) setTimeout(() => this.queueMessage(m), 1000).unref();
    });
  }

  /**
   * Takes back what the last boot of this node held, queues what a crash left unqueued (runs and
   * callbacks: enqueueing what is already there adds nothing), starts the worker and the callbacks.
   */
  async start(): Promise<void> {
    const store = this.o.store.executions;
    this.open = await store.countOpen();
    // Before the worker starts, so it never competes with its runs.
    for (let before: number | undefined; ; ) {
      const page = await store.list({ status: 'queued', before, limit: 1000 });
      await this.queue.enqueue(page.map((r) => ({ id: r.id, key: r.function, data: Buffer.alloc(0), notBefore: r.notBefore })));
      if (page.length < 1000) break;
      before = page.at(-1)!.seq;
    }
    const lost = await this.worker.start();
    if (lost > 0) this.o.info(`put ${lost} execution(s) a previous server process was running back into the queue`, { lost });
    await this.callbacks.schedule(await store.pendingCallbacks(10_000));
    await this.callbacks.start();
    let ticks = 0;
    const housekeeping = (): void => {
      // The count drifts (a deleted function takes its queue along, other nodes end executions).
      store.countOpen().then((n) => (this.open = n), (err) => this.o.warn('counting open executions failed', err));
      if (ticks++ % 60 !== 0) return;
      const before = Date.now() - this.o.retentionMs;
      store.prune(before).catch((err) => this.o.warn('pruning executions failed', err));
      this.queue.pruneDeadLetters(before).catch((err) => this.o.warn('pruning dead letters failed', err));
    };
    housekeeping();
    this.pruneTimer = setInterval(housekeeping, 10_000);
    this.pruneTimer.unref();
  }

  /**
   * Stores the execution and answers once it is committed. A key the function already has
   * answers the existing execution (`created: false`). Past the queue bound: 429.
   */
  async submit(s: Submission): Promise<{ id: string; created: boolean; status: ExecutionStatus }> {
    const id = hexId128();
    // Sealed first: the bound check and the hand-over to the commit stay in one synchronous step.
    const request = s.target.config.recordCredentials ? s.request : await this.credentials.seal(id, s.target.function, s.request);
    if (this.open + this.commits.size >= this.o.queueMax) {
      throw new FerryError('execution-queue-full', `${this.o.queueMax} executions are already queued or running (--execution-queue-max)`, { headers: { 'retry-after': '1' } });
    }
    const rec: NewExecution = {
      id,
      function: s.target.function,
      version: s.target.version,
      public: s.public,
      request,
      idempotencyKey: s.idempotencyKey,
      callback: s.callback,
      createdAt: Date.now(),
    };
    const out = await this.commits.add(rec);
    if (!out.created) return { ...out, status: (await this.get(out.id))?.status ?? 'queued' };
    this.open++;
    return { ...out, status: 'queued' };
  }

  get(id: string): Promise<ExecutionRecord | undefined> {
    return this.o.store.executions.get(id);
  }

  /** What the API needs to decide who may see an execution. */
  async accessOf(id: string): Promise<{ function: string; public: boolean } | undefined> {
    if (!/^[0-9a-f]{32}$/.test(id)) return undefined;
    const rec = await this.o.store.executions.get(id);
    return rec && { function: rec.function, public: rec.public };
  }

  list(q: ExecutionQuery): Promise<ExecutionRecord[]> {
    return this.o.store.executions.list(q);
  }

  /**
   * The execution once it has ended, or as it is after `ms` (long-poll). `gone()` says the
   * client left, so the wait stops early.
   */
  async wait(id: string, ms: number, gone: () => boolean = () => false): Promise<ExecutionRecord | undefined> {
    const deadline = Date.now() + ms;
    for (;;) {
      const rec = await this.get(id);
      const left = deadline - Date.now();
      if (!rec || endedStatuses.has(rec.status) || left <= 0 || gone() || this.closing) return rec;
      // Woken by an end on this node; the cap re-reads the store for ends elsewhere.
      await this.nextEnd(id, Math.min(left, 1000));
    }
  }

  /** Cancels a queued execution; `execution-not-cancellable` once it runs or has ended. */
  async cancel(id: string): Promise<ExecutionRecord> {
    const found = await this.get(id);
    if (!found) throw new FerryError('execution-not-found', `no execution '${id}'`);
    const rec = await this.o.store.executions.cancel(id, Date.now(), found.callback ? pendingCallback() : null);
    if (!rec) throw new FerryError('execution-not-found', `no execution '${id}'`);
    if (rec.status !== 'cancelled' || found.status !== 'queued') {
      throw new FerryError('execution-not-cancellable', `execution '${id}' is ${rec.status}; only a queued execution can be cancelled`);
    }
    this.open = Math.max(0, this.open - 1);
    this.notify(id);
    if (rec.callback) this.scheduleCallback(rec);
    return rec;
  }

  /**
   * Executions whose runs are spent (failed or timed out for good), newest first, of `functions`
   * (undefined: all), a page at a time: `next` is the cursor of the next page, or null. Dead letters
   * whose execution is gone (pruned, its function deleted) are left out.
   */
  async deadLetters(q: { functions?: string[]; before?: number; limit: number }): Promise<{ items: DeadExecution[]; next: number | null }> {
    const letters = await this.queue.deadLetters({ keys: q.functions, before: q.before, limit: q.limit + 1 });
    const page = letters.slice(0, q.limit);
    const items: DeadExecution[] = [];
    for (const l of page) {
      const execution = await this.get(l.id);
      if (execution) items.push({ execution, reason: l.reason, deliveries: l.deliveries, at: l.at, seq: l.seq });
    }
    return { items, next: letters.length > q.limit ? page.at(-1)!.seq : null };
  }

  /**
   * Runs a dead-lettered execution again: queued at once, its attempts (and `retries`) start over,
   * its callback is sent again when it ends. `execution-not-redrivable` when it is no dead letter.
   */
  async redrive(id: string): Promise<ExecutionRecord> {
    const found = await this.get(id);
    if (!found) throw new FerryError('execution-not-found', `no execution '${id}'`);
    const notDead = (): FerryError => new FerryError('execution-not-redrivable', `execution '${id}' is ${found.status}; only a dead letter (an execution whose runs failed for good) can be re-driven`);
    if (!(await this.queue.deadLetter(id))) throw notDead();
    // The record first: were the queue's step lost to a crash, the next start queues the record.
    const rec = await this.o.store.executions.redrive(id, Date.now());
    if (!rec) throw notDead();
    await this.queue.redrive(id);
    this.open++;
    return rec;
  }

  resultBody(id: string): Promise<Buffer | undefined> {
    return this.o.store.executions.resultBody(id);
  }

  /** Log lines written under the execution's id (up to `limit`). */
  async logsOf(rec: ExecutionRecord, limit = 1000): Promise<Array<LogLine & { id: number }>> {
    await this.o.logs.flush();
    return this.o.store.executions.logs(rec.function, rec.id, limit);
  }

  /**
   * The key callbacks of `fn` are signed with: derived from a server secret, the name and the
   * function's creation time, so a function deleted and created again gets a new one.
   */
  async callbackKey(fn: string): Promise<string> {
    const rec = await this.o.store.getFunction(fn);
    if (!rec) throw new FerryError('function-not-found', `no function named '${fn}'`);
    const master = await this.o.store.keys.get('callback-signing', () => randomBytes(32));
    return `fcb_${createHmac('sha256', master).update(`${rec.name}\n${rec.createdAt}`).digest('hex')}`;
  }

  /** Stops pulling, lets runs end for up to `graceMs` (the rest go back to the queue), stops callbacks. */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    for (const id of [...this.waiters.keys()]) this.notify(id);
    clearInterval(this.pruneTimer);
    await this.messages.flush();
    await this.worker.close(graceMs);
    await this.callbacks.close();
    for (const id of [...this.waiters.keys()]) this.notify(id);
  }

  private ended(rec: ExecutionRecord, end: RunEnd): void {
    this.open = Math.max(0, this.open - 1);
    this.notify(rec.id);
    if (rec.callback) this.scheduleCallback(rec);
  }

  /** The end is stored with its callback pending; a crash before this is made good at the next start. */
  private scheduleCallback(rec: ExecutionRecord): void {
    this.callbacks.schedule([rec]).catch((err) => this.o.warn(`queueing the callback of execution ${rec.id} failed`, err));
  }

  private nextEnd(id: string, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let set = this.waiters.get(id);
      if (!set) this.waiters.set(id, (set = new Set()));
      const wake = (): void => {
        clearTimeout(timer);
        set!.delete(wake);
        if (set!.size === 0 && this.waiters.get(id) === set) this.waiters.delete(id);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      set.add(wake);
    });
  }

  private notify(id: string): void {
    const set = this.waiters.get(id);
    if (set) for (const wake of [...set]) wake();
  }
}
