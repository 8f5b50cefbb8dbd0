/**
 * Runs queued executions: pulls them from the `executions` queue under a lease (the consumer
 * names this node and this boot), runs each through the invocation pipeline (as a plain
 * invocation into a writer that keeps the answer in memory), records how each run ended, then
 * settles the delivery: ack when it ended, nak with the back-off when it is retried, term (a
 * dead letter) when it failed for good. Delivery is at least once: a run whose node dies is
 * delivered again and not counted as an attempt.
 */
import { Readable } from 'node:stream';
import { FerryError } from '../../errors/index.js';
import { CallSignal, type Delivery, type DeployTarget, type ExecutionRecord, type ExecutionStatus, type ExecutionStore, type Invocation, type Invoke, type LeaseHolder, type Queue, type RunEnd, type StoredRequest } from '../../core/index.js';
import { MemoryWriter } from '../memory-writer.js';
import { GroupCommit } from '../../util/group-commit.js';
import { PullLoop } from './pull-loop.js';

export interface WorkerOptions {
  store: ExecutionStore;
  /** The `executions` queue: a message per execution due to run, keyed by its function. */
  queue: Queue;
  /** The invocation pipeline: the run goes through it as any invocation does (history included). */
  run: Invoke;
  holder: LeaseHolder;
  /** The version an execution runs, or undefined when it is gone. */
  target(fn: string, version: string): DeployTarget | undefined;
  /** The stored request as the function gets it (its sealed credentials opened). */
  request?(rec: ExecutionRecord): Promise<StoredRequest>;
  /** Most runs at once on this node; 0: none (executions wait in the queue). */
  workers: number;
  maxResultBytes: number;
  /** How long a lease lasts without renewal. */
  leaseMs?: number;
  /** Called once per execution this node ended (after the end is stored). */
  ended(rec: ExecutionRecord, end: RunEnd): void;
  warn(message: string, err?: unknown): void;
}

interface Run {
  rec: ExecutionRecord;
  delivery: Delivery;
  signal: CallSignal;
  /** Given back at shutdown: whatever the call does now is not recorded. */
  abandoned: boolean;
  done: Promise<void>;
}

/** Back-off before retry n (1-based): 0.5 s, 1 s, 2 s, ... up to a minute, with jitter. */
export function retryDelayMs(n: number): number {
  const base = Math.min(60_000, 500 * 2 ** Math.max(0, n - 1));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

export class ExecutionWorker {
  private readonly running = new Map<string, Run>();
  private readonly perFunction = new Map<string, number>();
  /** The per-function cap last seen for each function with runs here. */
  private readonly caps = new Map<string, number>();
  private readonly ends: GroupCommit<RunEnd, boolean>;
  private readonly leaseMs: number;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly loop: PullLoop;
  /** Settlements not committed yet (waited for at close). */
  private readonly settling = new Set<Promise<unknown>>();

  constructor(private readonly o: WorkerOptions) {
    this.leaseMs = o.leaseMs ?? 30_000;
    this.ends = new GroupCommit((batch) => o.store.finish(batch));
    this.loop = new PullLoop({
      what: 'executions',
      free: () => o.workers - this.running.size,
      pull: (free, signal) => o.queue.pull({ consumer: this.consumer, max: Math.min(free, 256), leaseMs: this.leaseMs, skipKeys: this.atCap(), waitMs: 30_000, signal }),
      take: (got) => this.begin(got),
      warn: o.warn,
    });
  }

  /** Runs in flight on this node. */
  get inFlight(): number {
    return this.running.size;
  }

  /** Takes back at once what the previous boot of this node held, then starts pulling. */
  async start(): Promise<number> {
    const lost = await this.o.queue.recover(this.consumer);
    const t = setInterval(() => this.renew(), Math.max(1000, Math.floor(this.leaseMs / 3)));
    t.unref();
    this.timers.push(t);
    if (this.o.workers > 0) this.loop.start();
    return lost;
  }

  private get consumer(): { name: string; session: string } {
    return { name: this.o.holder.node, session: this.o.holder.boot };
  }

  /** Functions at their `maxConcurrentExecutions` here: a pull leaves their executions queued. */
  private atCap(): string[] {
    const out: string[] = [];
    for (const [fn, n] of this.perFunction) {
      const cap = this.caps.get(fn) ?? 0;
      if (cap > 0 && n >= cap) out.push(fn);
    }
    return out;
  }

  /** Starts the runs of what the queue delivered; what is no longer runnable leaves the queue. */
  private async begin(got: Delivery[]): Promise<void> {
    const recs = await this.o.store.begin({ ids: got.map((d) => d.id), holder: this.o.holder, now: Date.now() });
    const byId = new Map(recs.map((r) => [r.id, r]));
    for (const d of got) {
      const rec = byId.get(d.id);
      // Cancelled, ended before a crash let it be acknowledged, or its function deleted.
      if (!rec) void d.ack().catch((err) => this.o.warn(`acknowledging execution ${d.id} failed`, err));
      else this.run(rec, d);
    }
  }

  private run(rec: ExecutionRecord, delivery: Delivery): void {
    const target = this.o.target(rec.function, rec.version);
    const now = Date.now();
    if (!target) {
      void this.end(rec, delivery, { status: 'failed', counted: true, error: { code: 'version-not-found', detail: `version '${rec.version}' of '${rec.function}' no longer exists` } }, now);
      return;
    }
    const cap = target.config.maxConcurrentExecutions;
    this.caps.set(rec.function, cap);
    const busy = this.perFunction.get(rec.function) ?? 0;
    if (cap > 0 && busy >= cap) {
      // Pulled in a batch past the function's cap: back to the queue, not an attempt.
      void this.end(rec, delivery, { status: 'queued', counted: false, notBefore: now }, now);
      return;
    }
    this.perFunction.set(rec.function, busy + 1);
    const run: Run = { rec, delivery, signal: new CallSignal(), abandoned: false, done: Promise.resolve() };
    this.running.set(rec.id, run);
    run.done = this.execute(run, target).finally(() => {
      this.running.delete(rec.id);
      const n = (this.perFunction.get(rec.function) ?? 1) - 1;
      if (n > 0) this.perFunction.set(rec.function, n);
      else this.perFunction.delete(rec.function);
      this.loop.poke();
    });
  }

  private async execute(run: Run, target: DeployTarget): Promise<void> {
    const { rec, signal } = run;
    const max = this.o.maxResultBytes;
    const writer = new MemoryWriter(max, () => signal.abort(new FerryError('body-too-large', `the function answered more than ${max} bytes (--max-body)`)));
    let outcome: Omit<RunEnd, 'id' | 'holder' | 'now'>;
    let error: FerryError | undefined;
    try {
      const request = this.o.request ? await this.o.request(rec) : rec.request;
      error = (await this.o.run(invocationOf(rec, request, signal), writer)).error;
    } catch (err) {
      error = FerryError.from(err);
    }
    if (run.abandoned) return;
    if (!error) {
      const result = { status: writer.statusCode, headers: writer.headers, body: writer.body() };
      // The function answered; a 5xx is its way of saying the run failed.
      outcome = writer.statusCode >= 500 ? this.failure(rec, target, 'failed', { code: 'function-error', detail: `the function answered ${writer.statusCode}` }, result) : { status: 'succeeded', counted: true, result };
    } else if (error.code === 'queue-full' || error.code === 'shutting-down') {
      // The pool had no room: not the function's fault, so not an attempt.
      outcome = { status: 'queued', counted: false, notBefore: Date.now() + 1000 };
    } else {
      outcome = this.failure(rec, target, error.code === 'invoke-timeout' ? 'timed-out' : 'failed', { code: error.code, detail: error.message });
    }
    await this.end(rec, run.delivery, outcome, Date.now());
  }

  /** A failed run: retried after a back-off while attempts remain, else the execution ends. */
  private failure(rec: ExecutionRecord, target: DeployTarget, final: ExecutionStatus, error: { code: string; detail: string }, result?: RunEnd['result']): Omit<RunEnd, 'id' | 'holder' | 'now'> {
    const attempts = rec.attempts + 1;
    if (attempts <= target.config.retries) return { status: 'queued', counted: true, notBefore: Date.now() + retryDelayMs(attempts), error, result };
    return { status: final, counted: true, error, result };
  }

  private async end(rec: ExecutionRecord, delivery: Delivery, outcome: Omit<RunEnd, 'id' | 'holder' | 'now'>, now: number): Promise<void> {
    const isEnd = outcome.status !== 'queued';
    const end: RunEnd = {
      ...outcome,
      id: rec.id,
      holder: this.o.holder,
      now,
      callbackOutcome: isEnd && rec.callback ? { state: 'pending', attempts: 0, lastStatus: null, lastError: null, at: null } : undefined,
    };
    try {
      const held = await this.ends.add(end);
      // Lost the lease meanwhile (another node took the execution over): its end is not ours.
      if (!held) return;
      // The record first, then the queue: a crash in between delivers it again, and `begin` drops
      // it. The worker's slot is free already: the settlement commits with the next ones, and
      // whoever waits for the end hears of it once a dead letter is listed too.
      const settled = this.settle(delivery, outcome, now)
        .catch((err) => this.o.warn(`settling execution ${rec.id} in the queue failed`, err))
        .then(() => isEnd && this.o.ended(rec, end));
      this.settling.add(settled);
      void settled.finally(() => this.settling.delete(settled));
    } catch (err) {
      this.o.warn(`recording the end of execution ${rec.id} failed`, err);
    }
  }

  /** Ended: ack; failed for good: term (a dead letter); to be retried: nak until its back-off is over. */
  private settle(delivery: Delivery, outcome: Omit<RunEnd, 'id' | 'holder' | 'now'>, now: number): Promise<void> {
    if (outcome.status === 'queued') return delivery.nak(Math.max(0, (outcome.notBefore ?? now) - Date.now()));
    if (outcome.status === 'failed' || outcome.status === 'timed-out') return delivery.term(outcome.error?.code ?? outcome.status);
    return delivery.ack();
  }

  /** Keeps the leases of the runs in flight. */
  private renew(): void {
    for (const run of this.running.values()) run.delivery.inProgress().catch((err) => this.o.warn(`renewing the lease of execution ${run.rec.id} failed`, err));
  }

  /**
   * Stops pulling, lets runs in flight end for up to `graceMs`, and gives the rest back to the
   * queue (not counted as attempts) before their instances are stopped.
   */
  async close(graceMs: number): Promise<void> {
    await this.loop.stop();
    const runs = [...this.running.values()];
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(runs.map((r) => r.done)), new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    // Renewed until here: the runs keep their leases however long the grace is.
    for (const t of this.timers) clearInterval(t);
    const now = Date.now();
    const left = [...this.running.values()];
    for (const run of left) run.abandoned = true;
    await Promise.all(left.map((run) => this.end(run.rec, run.delivery, { status: 'queued', counted: false, notBefore: now }, now)));
    for (const run of left) run.signal.abort(new FerryError('shutting-down'));
    await Promise.all([...this.settling]);
  }
}

/** A stored request as the run's invocation: the version it was accepted for, its id as request id. */
function invocationOf(rec: ExecutionRecord, request: StoredRequest, signal: CallSignal): Invocation {
  const { method, path, headers, body } = request;
  return {
    function: rec.function,
    ref: undefined,
    method,
    path,
    headers: [...headers],
    body: body.length ? Readable.from([body], { objectMode: false }) : undefined,
    bodyLength: body.length,
    requestId: rec.id,
    credential: undefined,
    principal: undefined,
    deadline: undefined,
    mode: 'async',
    execution: { id: rec.id, version: rec.version },
    signal,
  };
}
