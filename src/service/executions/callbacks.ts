/**
 * Callbacks: when an execution ends, Ferry POSTs `{"id","status","output","task-token"}` to the
 * URL the request named, signed with the function's callback key, retried with back-off, and
 * records on the execution what became of it. Each delivery is a message of the `callbacks`
 * queue, tried by whichever node holds its lease: a restart or a second node never sends it twice
 * at once, and a crashed node's deliveries go on elsewhere once their lease runs out.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { CallbackOutcome, Delivery, ExecutionRecord, ExecutionStatus, ExecutionStore, Queue, QueueConsumer } from '../../core/index.js';
import { pinnedLookup, type AddressPolicy } from '../../util/address-policy.js';
import { PullLoop } from './pull-loop.js';

/** What a delivery needs to know about the ended execution. */
export interface CallbackJob {
  id: string;
  function: string;
  status: ExecutionStatus;
  url: string;
  taskToken: string | null;
  /** The result body, when the execution has one. */
  output: Buffer | null;
  /** Tries already made (a delivery resumed after a restart). */
  attempts: number;
}

export interface CallbackOptions {
  store: ExecutionStore;
  /** The `callbacks` queue: a message per ended execution whose callback is pending. */
  queue: Queue;
  consumer: QueueConsumer;
  policy: AddressPolicy;
  /** The signing key of a function (see `signature`). */
  keyFor(fn: string): Promise<string>;
  userAgent: string;
  warn(message: string, err?: unknown): void;
  maxAttempts?: number;
  baseDelayMs?: number;
  timeoutMs?: number;
  /** Most tries in flight at once on this node (default 32). */
  concurrency?: number;
}

/** `Ferry-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export function signature(key: string, body: string, t: number): string {
  return `t=${t},v1=${createHmac('sha256', key).update(`${t}.${body}`).digest('hex')}`;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The callback body; a result that is not UTF-8 text goes as base64, and says so. */
export function callbackBody(job: Pick<CallbackJob, 'id' | 'status' | 'output' | 'taskToken'>): string {
  let output: string | null = null;
  let encoding: 'base64' | undefined;
  if (job.output) {
    try {
      output = utf8.decode(job.output);
    } catch {
      output = job.output.toString('base64');
      encoding = 'base64';
    }
  }
  return JSON.stringify({ id: job.id, status: job.status, output, 'task-token': job.taskToken, ...(encoding ? { outputEncoding: encoding } : {}) });
}

export class CallbackSender {
  private readonly active = new Set<Promise<void>>();
  private readonly loop: PullLoop;

  constructor(private readonly o: CallbackOptions) {
    const most = o.concurrency ?? 32;
    // A lease outlasts one try, so no other node starts the same try meanwhile.
    const leaseMs = (o.timeoutMs ?? 10_000) + 30_000;
    this.loop = new PullLoop({
      what: 'callbacks',
      free: () => most - this.active.size,
      pull: (max, signal) => o.queue.pull({ consumer: o.consumer, max, leaseMs, waitMs: 30_000, signal }),
      take: (got) => {
        for (const d of got) {
          const p = this.attempt(d).finally(() => {
            this.active.delete(p);
            this.loop.poke();
          });
          this.active.add(p);
        }
      },
      warn: o.warn,
    });
  }

  /** Queues the callbacks of ended executions (once their end, with the callback pending, is stored). */
  async schedule(recs: Array<Pick<ExecutionRecord, 'id' | 'function'>>): Promise<void> {
    await this.o.queue.enqueue(recs.map((r) => ({ id: r.id, key: r.function, data: Buffer.alloc(0) })));
  }

  /** Takes back what this node's previous boot held, then delivers what the queue hands over. */
  async start(): Promise<void> {
    await this.o.queue.recover(this.o.consumer);
    this.loop.start();
  }

  /** One try of a delivery; its progress is recorded on the execution, then the message settled. */
  private async attempt(d: Delivery): Promise<void> {
    try {
      const rec = await this.o.store.get(d.id);
      const done = rec?.callbackOutcome?.state;
      // Gone with its function, or delivered or given up on before a crash let it be acknowledged.
      if (!rec?.callback || (done !== undefined && done !== 'pending')) return await d.ack();
      const output = rec.result ? ((rec.result.body ?? (await this.o.store.resultBody(rec.id))) ?? null) : null;
      const job = { id: rec.id, function: rec.function, status: rec.status, url: rec.callback.url, taskToken: rec.callback.taskToken, output, attempts: rec.callbackOutcome?.attempts ?? 0 };
      const outcome = await this.post(job);
      await this.o.store.setCallbackOutcome(job.id, outcome);
      if (outcome.state !== 'pending') return await d.ack();
      await d.nak((this.o.baseDelayMs ?? 500) * 2 ** (outcome.attempts - 1));
    } catch (err) {
      this.o.warn(`delivering the callback of execution ${d.id} failed`, err);
    }
  }

  /** Tries once; answers what became of the callback. */
  private async post(job: CallbackJob): Promise<CallbackOutcome> {
    const max = this.o.maxAttempts ?? 5;
    const outcome: CallbackOutcome = { state: 'pending', attempts: job.attempts + 1, lastStatus: null, lastError: null, at: Date.now() };
    try {
      const url = new URL(job.url);
      const where = await this.o.policy.resolve(url.hostname);
      if ('refused' in where) {
        outcome.state = 'refused';
        outcome.lastError = where.refused;
      } else {
        const body = callbackBody(job);
        const key = await this.o.keyFor(job.function);
        const status = await this.send(url, where, body, key, job.id);
        outcome.lastStatus = status;
        if (status >= 200 && status < 300) outcome.state = 'delivered';
        else outcome.lastError = `the receiver answered ${status}`;
      }
    } catch (err) {
      outcome.lastError = err instanceof Error ? err.message : String(err);
    }
    if (outcome.state === 'pending' && outcome.attempts >= max) outcome.state = 'failed';
    return outcome;
  }

  /** One POST to the checked address (a later DNS answer cannot redirect it); answers the status. */
  private send(url: URL, to: { address: string; family: number }, body: string, key: string, id: string): Promise<number> {
    const pinned = pinnedLookup(to);
    const t = Math.floor(Date.now() / 1000);
    const headers = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'user-agent': this.o.userAgent,
      'ferry-signature': signature(key, body, t),
      'ferry-execution-id': id,
    };
    return new Promise<number>((resolve, reject) => {
      const req = (url.protocol === 'https:' ? https : http).request(url, { method: 'POST', headers, lookup: pinned, timeout: this.o.timeoutMs ?? 10_000 }, (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
        res.once('error', reject);
      });
      req.once('timeout', () => req.destroy(new Error('the receiver did not answer in time')));
      req.once('error', reject);
      req.end(body);
    });
  }

  /** Stops pulling; tries in flight finish (what is left stays in the queue for the next start or node). */
  async close(): Promise<void> {
    await this.loop.stop();
    await Promise.allSettled([...this.active]);
  }
}
