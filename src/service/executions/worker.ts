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
  /** Slots taken per function: runs in flight and runs being begun (taken before the store is asked). */
  private readonly perFunction = new Map<string, number>();
  /** Slots taken in all. */
  private taken = 0;
  /**
   * Deliveries of functions at their cap here (or past the slots), oldest first: held under their
   * lease until a slot frees, instead of going back to the queue only to be delivered again.
   */
  private readonly waiting = new Map<string, Delivery[]>();
  /** The per-function cap last seen for each function with runs here. */
  private readonly caps = new Map<string, number>();
  private readonly ends: GroupCommit<RunEnd, boolean>;
  private readonly leaseMs: number;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly loop: PullLoop;
  /** Settlements not committed yet (waited for at close). */
  private readonly settling = new Set<Promise<unknown>>();
  private closing = false;

  constructor(private readonly o: WorkerOptions) {
    this.leaseMs = o.leaseMs ?? 30_000;
    this.ends = new GroupCommit((batch) => o.store.finish(batch));
    this.loop = new PullLoop({
      what: 'executions',
      free: () => o.workers - this.taken,
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

  /**
   * Functions a pull leaves in the queue: at their `maxConcurrentExecutions` here, with a run of
   * unknown cap being begun (its cap is known once its version is read), or with deliveries held.
   */
  private atCap(): string[] {
    const fns = new Set([...this.perFunction.keys(), ...this.waiting.keys()]);
    return [...fns].filter((fn) => this.waiting.has(fn) || !this.hasRoom(fn));
  }

  /** Whether a run of `fn` may begin now as far as its cap goes. */
  private hasRoom(fn: string): boolean {
    const n = this.perFunction.get(fn) ?? 0;
    const cap = this.caps.get(fn);
    // Cap unknown yet: one run at a time until its version says.
    if (cap === undefined) return n === 0;
    return cap <= 0 || n < cap;
  }

  private takeSlot(fn: string): void {
    this.perFunction.set(fn, (this.perFunction.get(fn) ?? 0) + 1);
    this.taken++;
  }

  private releaseSlot(fn: string): void {
    const n = (this.perFunction.get(fn) ?? 1) - 1;
    if (n > 0) this.perFunction.set(fn, n);
    else this.perFunction.delete(fn);
    this.taken--;
    this.drain();
    this.loop.poke();
  }

  /** Begins what the queue delivered and has room; holds the rest until a slot of its function frees. */
  private async begin(got: Delivery[]): Promise<void> {
    const now: Delivery[] = [];
    for (const d of got) {
      if (this.waiting.has(d.key) || !this.hasRoom(d.key) || this.taken >= this.o.workers) this.hold(d);
      else {
        this.takeSlot(d.key);
        now.push(d);
      }
    }
    await this.startRuns(now);
  }

  private hold(d: Delivery): void {
    const q = this.waiting.get(d.key);
    if (q) q.push(d);
    else this.waiting.set(d.key, [d]);
  }

  /** Begins held deliveries that have room now, in the order they came. */
  private drain(): void {
    if (this.closing) return;
    const now: Delivery[] = [];
    for (const [fn, q] of this.waiting) {
      while (q.length > 0 && this.hasRoom(fn) && this.taken < this.o.workers) {
        this.takeSlot(fn);
        now.push(q.shift()!);
      }
      if (q.length === 0) this.waiting.delete(fn);
    }
    if (now.length > 0) this.startRuns(now).catch((err) => this.o.warn('beginning held executions failed', err));
  }

  /** Starts the runs of deliveries whose slots are taken; what is no longer runnable leaves the queue. */
  private async startRuns(ds: Delivery[]): Promise<void> {
    if (ds.length === 0) return;
    let recs: ExecutionRecord[];
    try {
      recs = await this.o.store.begin({ ids: ds.map((d) => d.id), holder: this.o.holder, now: Date.now() });
    } catch (err) {
      // Their leases run out and the queue delivers them again.
      for (const d of ds) this.releaseSlot(d.key);
      throw err;
    }
    const byId = new Map(recs.map((r) => [r.id, r]));
    for (const d of ds) {
      const rec = byId.get(d.id);
      if (rec) {
        this.run(rec, d);
        continue;
      }
      // Cancelled, ended before a crash let it be acknowledged, or its function deleted.
      this.releaseSlot(d.key);
      void d.ack().catch((err) => this.o.warn(`acknowledging execution ${d.id} failed`, err));
    }
  }

  /** Runs a begun execution in the slot taken for it. */
  private run(rec: ExecutionRecord, delivery: Delivery): void {
    const target = this.o.target(rec.function, rec.version);
    const now = Date.now();
    if (!target) {
      this.releaseSlot(rec.function);
      void this.end(rec, delivery, { status: 'failed', counted: true, error: { code: 'version-not-found', detail: `version '${rec.version}' of '${rec.function}' no longer exists` } }, now);
      return;
    }
    const cap = target.config.maxConcurrentExecutions;
    const known = this.caps.get(rec.function);
    this.caps.set(rec.function, cap);
    if (cap > 0 && (this.perFunction.get(rec.function) ?? 0) > cap) {
      // Its version's cap is lower than the one known when its slot was taken: back to the queue, not an attempt.
      this.releaseSlot(rec.function);
      void this.end(rec, delivery, { status: 'queued', counted: false, notBefore: now }, now);
      return;
    }
    const run: Run = { rec, delivery, signal: new CallSignal(), abandoned: false, done: Promise.resolve() };
    this.running.set(rec.id, run);
    run.done = this.execute(run, target).finally(() => {
      this.running.delete(rec.id);
      this.releaseSlot(rec.function);
    });
    // The cap is known now: held deliveries of the function may have room.
    if (known !== cap) this.drain();
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

  /** Keeps the leases of the runs in flight and of the deliveries held for a slot. */
  private renew(): void {
    const held = [...this.waiting.values()].flat();
    for (const d of [...[...this.running.values()].map((r) => r.delivery), ...held]) d.inProgress().catch((err) => this.o.warn(`renewing the lease of execution ${d.id} failed`, err));
  }

  /**
   * Stops pulling, lets runs in flight end for up to `graceMs`, and gives the rest back to the
   * queue (not counted as attempts) before their instances are stopped.
   */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    await this.loop.stop();
    // Held for a slot and never begun: back to the queue at once, for other nodes.
    const held = [...this.waiting.values()].flat();
    this.waiting.clear();
    await Promise.all(held.map((d) => d.nak().catch((err) => this.o.warn(`giving execution ${d.id} back failed`, err))));
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
