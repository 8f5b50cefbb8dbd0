/**
 * Callbacks: when an execution ends, Ferry POSTs `{"id","status","output","task-token"}` to the
 * URL the request named, signed with the function's callback key, retried with back-off, and
 * records on the execution what became of it.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { CallbackOutcome, ExecutionStatus, ExecutionStore } from '../../core/index.js';
import { pinnedLookup, type AddressPolicy } from '../../util/address-policy.js';

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
  policy: AddressPolicy;
  /** The signing key of a function (see `signature`). */
  keyFor(fn: string): Promise<string>;
  userAgent: string;
  warn(message: string, err?: unknown): void;
  maxAttempts?: number;
  baseDelayMs?: number;
  timeoutMs?: number;
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
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly active = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly o: CallbackOptions) {}

  /** Starts (or resumes) delivering; progress is recorded on the execution after every try. */
  deliver(job: CallbackJob): void {
    if (this.closed) return;
    const p = this.attempt(job).finally(() => this.active.delete(p));
    this.active.add(p);
  }

  private async attempt(job: CallbackJob): Promise<void> {
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
        const status = await this.post(url, where, body, key, job.id);
        outcome.lastStatus = status;
        if (status >= 200 && status < 300) outcome.state = 'delivered';
        else outcome.lastError = `the receiver answered ${status}`;
      }
    } catch (err) {
      outcome.lastError = err instanceof Error ? err.message : String(err);
    }
    if (outcome.state === 'pending' && outcome.attempts >= max) outcome.state = 'failed';
    await this.o.store.setCallbackOutcome(job.id, outcome).catch((err) => this.o.warn(`recording the callback of execution ${job.id} failed`, err));
    if (outcome.state !== 'pending' || this.closed) return;
    const delay = (this.o.baseDelayMs ?? 500) * 2 ** (outcome.attempts - 1);
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.deliver({ ...job, attempts: outcome.attempts });
    }, delay);
    t.unref();
    this.timers.add(t);
  }

  /** One POST to the checked address (a later DNS answer cannot redirect it); answers the status. */
  private post(url: URL, to: { address: string; family: number }, body: string, key: string, id: string): Promise<number> {
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

  /** Stops retrying; tries in flight finish (a pending callback is resumed at the next start). */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.active]);
  }
}
