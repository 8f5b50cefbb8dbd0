/**
 * The use cases of asynchronous executions: accept (durably, in group commits, bounded),
 * read, list, wait for, cancel; the worker that runs them and the callbacks that report them.
 */
import { createHmac, randomBytes } from 'node:crypto';
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

export class Executions {
  readonly policy: AddressPolicy;
  /** The headers no execution record shows or keeps past its end. */
  readonly credentialHeaders: CredentialHeaders;
  private readonly credentials: RequestCredentials;
  private readonly worker: ExecutionWorker;
  private readonly callbacks: CallbackSender;
  private readonly commits: GroupCommit<NewExecution, { id: string; created: boolean }>;
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
    this.commits = new GroupCommit((batch) => store.create(batch));
    this.callbacks = new CallbackSender({
      store,
      policy: this.policy,
      keyFor: (fn) => this.callbackKey(fn),
      userAgent: o.userAgent,
      warn: o.warn,
      ...(o.callbackAttempts !== undefined && { maxAttempts: o.callbackAttempts }),
      ...(o.callbackTimeoutMs !== undefined && { timeoutMs: o.callbackTimeoutMs }),
    });
    this.worker = new ExecutionWorker({
      store,
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

  /** Requeues what the last boot of this node left running, resumes callbacks, starts the worker. */
  async start(): Promise<void> {
    const store = this.o.store.executions;
    this.open = await store.countOpen();
    const lost = await this.worker.start();
    if (lost > 0) this.o.info(`put ${lost} execution(s) a previous server process was running back into the queue`, { lost });
    for (const rec of await store.pendingCallbacks(10_000)) this.deliverCallback(rec, rec.callbackOutcome?.attempts ?? 0);
    let ticks = 0;
    const housekeeping = (): void => {
      // The count drifts (a deleted function takes its queue along, other nodes end executions).
      store.countOpen().then((n) => (this.open = n), (err) => this.o.warn('counting open executions failed', err));
      if (ticks++ % 60 === 0) store.prune(Date.now() - this.o.retentionMs).catch((err) => this.o.warn('pruning executions failed', err));
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
    const id = randomBytes(16).toString('hex');
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
    this.worker.poke();
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
    if (rec.callback) this.deliverCallback(rec, 0);
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

  /** Stops claiming, lets runs end for up to `graceMs` (the rest go back to the queue), stops callbacks. */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    for (const id of [...this.waiters.keys()]) this.notify(id);
    clearInterval(this.pruneTimer);
    await this.worker.close(graceMs);
    await this.callbacks.close();
    for (const id of [...this.waiters.keys()]) this.notify(id);
  }

  private ended(rec: ExecutionRecord, end: RunEnd): void {
    this.open = Math.max(0, this.open - 1);
    this.notify(rec.id);
    if (rec.callback) this.deliverCallback({ ...rec, status: end.status, result: end.result ? { ...end.result, size: end.result.body.length } : rec.result }, 0);
  }

  private deliverCallback(rec: ExecutionRecord, attempts: number): void {
    if (!rec.callback) return;
    const job = { id: rec.id, function: rec.function, status: rec.status, url: rec.callback.url, taskToken: rec.callback.taskToken, attempts };
    if (!rec.result || rec.result.body) return this.callbacks.deliver({ ...job, output: rec.result?.body ?? null });
    // A large result lives apart from the record.
    this.resultBody(rec.id).then(
      (body) => this.callbacks.deliver({ ...job, output: body ?? null }),
      (err) => this.o.warn(`reading the result of execution ${rec.id} for its callback failed`, err),
    );
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
