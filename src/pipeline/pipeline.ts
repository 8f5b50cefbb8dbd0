import { performance } from 'node:perf_hooks';
import { FerryError } from '../errors/index.js';
import { CallSignal, type DeployTarget, type EffectiveConfig, type InstancePool, type Invocation, type InvocationOutcome, type Lease, type ResponseWriter } from '../core/index.js';
import type { Authenticator } from '../auth/index.js';
import type { Metrics } from '../observe/index.js';
import { callInstance, type Executions, type FinishedCall } from '../service/index.js';
import { requestIdFor } from './request-id.js';
import { authorize, needsCredential } from './authorize.js';
import { stripFerryCredentials } from './credentials.js';
import { capStreamedBody, checkDeclaredSize } from './body-limits.js';
import { acceptAsync } from './accept-async.js';
import { recordPayloads, type RecordedPayloads } from './payload-recording.js';
import { RequestStats } from './request-stats.js';
import { disclose } from './failure-disclosure.js';
import { CorsWriter, corsStage, withCorsHeaders } from './cors.js';
import { takeRateLimit, type FunctionRateLimits } from './rate-limit.js';

export interface PipelineOptions {
  /** A function's version by name and version or alias (404 problems when there is none). */
  resolve(name: string, ref: string | undefined): DeployTarget;
  /** An exact version, for the run of an execution; undefined when it is gone. */
  targetOf(name: string, version: string): DeployTarget | undefined;
  /** The owning group of a function (for `invoke: "token"`). */
  ownerOf(name: string): string | undefined;
  pool: InstancePool;
  auth: Authenticator;
  metrics: Metrics;
  /** `token`: every invocation needs a credential. */
  invokeAuth: 'public' | 'token';
  maxBodyBytes: number;
  /** Extra response headers on every synchronous answer (e.g. `x-ferry-sandbox`). */
  responseHeaders: string[];
  /** The sandbox tier of a version, for its answers' `x-ferry-sandbox` (absent: not sent). */
  sandboxOf?(target: DeployTarget): string;
  /** Where asynchronous invocations go; without it they run synchronously. */
  executions?: Executions;
  /** The invocation history: every call is handed over when it ends. */
  history?: { record(call: FinishedCall): void; payloadMaxBytes: number };
  /** The buckets of functions with `rateLimit` (functions without one never look). */
  rateLimits?: FunctionRateLimits;
}

/**
 * The invocation pipeline: one `invoke(invocation, writer)` for every front end and for the runs
 * of asynchronous executions. Its stages, in order, each a named function so each can change on
 * its own: request id, resolve, CORS (a preflight ends here), authorize, rate limit, strip
 * credentials, limits, then async acceptance or
 * the call itself (time limit, payload recording), and at the end metrics and history. It renders
 * nothing: a failure comes back in the outcome, and the front end answers it in its protocol.
 */
export class Pipeline {
  private readonly stats: RequestStats;

  constructor(private readonly o: PipelineOptions) {
    this.stats = new RequestStats(o.metrics);
  }

  async invoke(inv: Invocation, writer: ResponseWriter): Promise<InvocationOutcome> {
    const rid = requestIdFor(inv.requestId);
    const run = inv.execution;
    const began = performance.now();
    const startedAt = Date.now();
    const signal = inv.signal ?? new CallSignal();
    const onClose = (): void => {
      if (!writer.writableFinished) signal.abort(new FerryError('invoke-timeout', 'the client went away'));
    };
    let target: DeployTarget | undefined;
    let accepted = false;
    let payloads: RecordedPayloads | undefined;
    let error: FerryError | undefined;
    let out = writer;
    let cors: string[] | undefined;
    let preflight = false;
    try {
      target = run ? this.runTarget(inv, run.version) : this.o.resolve(inv.function, inv.ref);
      const cfg = target.config;
      if (cfg.cors && !run) {
        const stage = corsStage(cfg.cors, inv, writer, rid);
        // A preflight is the gateway's to answer: the function is not woken, nothing is recorded.
        if ((preflight = stage.preflight)) return { status: 204, requestId: rid, error: undefined };
        cors = stage.headers;
        out = new CorsWriter(writer, cors);
      }
      // A run was authorized, rate-limited and size-checked when it was accepted.
      const guarded = !run && needsCredential(cfg, this.o.invokeAuth);
      const who = guarded ? await authorize(inv, this.o.ownerOf(inv.function) ?? '', this.o.auth) : undefined;
      const limited = cfg.rateLimit && !run && this.o.rateLimits ? takeRateLimit(this.o.rateLimits, cfg.rateLimit, target, inv, who) : undefined;
      stripFerryCredentials(inv.headers);
      if (!run) checkDeclaredSize(inv, this.o.maxBodyBytes);
      if (inv.mode === 'async' && !run && this.o.executions) {
        // Stored first, answered 202 once committed; a worker runs it later (and records it).
        await acceptAsync(this.o.executions, inv, out, target, { public: !guarded, maxBodyBytes: this.o.maxBodyBytes });
        accepted = true;
      } else {
        if (inv.body && inv.bodyLength === undefined) capStreamedBody(inv.body, this.o.maxBodyBytes, signal);
        if (cfg.recordPayloads && this.o.history) ({ payloads, writer: out } = recordPayloads(inv.body, out, this.o.history.payloadMaxBytes));
        writer.on('close', onClose);
        // One array per call: the request id, the rate limit's, then what every answer of the
        // version carries (Ferry's headers, the tier, the front end's), worked out once.
        const fixed = this.fixedHeaders(target, inv.answerHeaders);
        const extra = limited ? ['x-request-id', rid, ...limited, ...fixed] : ['x-request-id', rid, ...fixed];
        await callInstance(this.o.pool, target, inv, out, {
          requestId: rid,
          signal,
          timeoutMs: timeLimitMs(inv, cfg),
          timeoutUntil: run ? 'end' : 'head',
          extraHeaders: run ? [] : extra,
          // Synchronous callers of the function are served first when its instances are busy.
          background: run !== undefined,
        });
      }
    } catch (err) {
      error = FerryError.from(err);
      // Once the head went out there is no error answer to give: the answer is cut.
      if (writer.headersSent) writer.destroy();
      // A run's failure is kept with its execution, whose readers see it by the same rule there.
      else if (!run) error = await this.disclosed(error, inv, rid, target);
      // An admitted origin's page may read the error too.
      if (cors && !writer.headersSent) error = withCorsHeaders(error, cors);
    } finally {
      writer.off('close', onClose);
    }
    const status = error && !writer.headersSent ? error.status : writer.statusCode;
    if (target && !preflight) {
      const ms = performance.now() - began;
      if (!run) this.stats.record(target, status, ms);
      if (!accepted) this.stats.ran(target, status, ms);
      if (!accepted && recorded(run !== undefined, error)) {
        this.o.history?.record({
          time: startedAt, function: target.function, version: target.version, kind: run ? 'async' : 'sync', status, durationMs: ms,
          requestId: rid, executionId: run ? run.id : null, method: inv.method, path: inv.path, requestBody: payloads?.request, responseBody: payloads?.response,
        });
      }
    }
    return { status, requestId: rid, error };
  }

  /**
   * For a front end that talks to the instance itself (HTTP upgrades): the admission stages
   * (request id, resolve, authorize, strip credentials) and a lease on an instance, which the
   * caller releases.
   */
  async lease(inv: Invocation, signal: CallSignal): Promise<{ lease: Lease; target: DeployTarget; requestId: string }> {
    const requestId = requestIdFor(inv.requestId);
    let target: DeployTarget | undefined;
    try {
      target = this.o.resolve(inv.function, inv.ref);
      const cfg = target.config;
      const who = needsCredential(cfg, this.o.invokeAuth) ? await authorize(inv, this.o.ownerOf(inv.function) ?? '', this.o.auth) : undefined;
      if (cfg.rateLimit && this.o.rateLimits) takeRateLimit(this.o.rateLimits, cfg.rateLimit, target, inv, who);
      stripFerryCredentials(inv.headers);
      return { lease: await this.o.pool.acquire(target, signal), target, requestId };
    } catch (err) {
      throw await this.disclosed(FerryError.from(err), inv, requestId, target);
    }
  }

  /**
   * The disclosure stage, on the failure path only: a failure's own words (what a handler threw,
   * a start failure) go to callers with `read` on the function, or to all with `errors: "verbose"`.
   */
  private disclosed(err: FerryError, inv: Invocation, requestId: string, target: DeployTarget | undefined): Promise<FerryError> {
    return disclose(err, {
      requestId,
      verbose: target?.config.errors === 'verbose',
      credential: inv.credential,
      principal: inv.principal,
      owner: this.o.ownerOf(inv.function),
      auth: this.o.auth,
      origin: inv.origin,
    });
  }

  /** Per version: its answers' fixed headers, without and with a front end's own (page-sandbox.ts). */
  private readonly fixed = new WeakMap<DeployTarget, { bare: string[]; withAnswer: string[] | undefined; answer: readonly string[] | undefined }>();

  /** The headers every synchronous answer of `target` carries after `x-request-id`. */
  private fixedHeaders(target: DeployTarget, answer: readonly string[] | undefined): string[] {
    let f = this.fixed.get(target);
    if (!f) {
      const bare = [...this.o.responseHeaders];
      if (this.o.sandboxOf) bare.push('x-ferry-sandbox', this.o.sandboxOf(target));
      f = { bare, withAnswer: undefined, answer: undefined };
      this.fixed.set(target, f);
    }
    if (!answer) return f.bare;
    if (f.answer !== answer) {
      f.answer = answer;
      f.withAnswer = [...f.bare, ...answer];
    }
    return f.withAnswer!;
  }

  /** Extra headers every answer of a synchronous call carries, errors included (`x-request-id` aside). */
  get responseHeaders(): readonly string[] {
    return this.o.responseHeaders;
  }

  /** The resolve stage of a run: the version it was accepted for, if it still exists. */
  private runTarget(inv: Invocation, version: string): DeployTarget {
    const target = this.o.targetOf(inv.function, version);
    if (!target) throw new FerryError('version-not-found', `version '${version}' of '${inv.function}' no longer exists`);
    return target;
  }
}

/**
 * The time limit stage: a synchronous call gets `limits.timeoutMs` until its response head, a run
 * `asyncTimeoutMs` for the whole answer; a caller's earlier deadline shortens either.
 */
function timeLimitMs(inv: Invocation, cfg: EffectiveConfig): number {
  const ms = inv.execution ? cfg.asyncTimeoutMs : cfg.limits.timeoutMs;
  return inv.deadline === undefined ? ms : Math.max(0, Math.min(ms, inv.deadline - Date.now()));
}

/**
 * The history stage's rule: every call is recorded, but a run the pool had no room for (or that
 * shutdown gave back) goes back to the queue unrecorded; its next run is the one that counts.
 */
function recorded(isRun: boolean, error: FerryError | undefined): boolean {
  return !(isRun && error !== undefined && (error.code === 'queue-full' || error.code === 'shutting-down'));
}
