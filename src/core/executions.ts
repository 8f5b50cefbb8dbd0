/**
 * Durable asynchronous executions: the records and the store interface behind them. Everything
 * here maps onto a stream plus key-value buckets (NATS JetStream) as well as onto SQL tables.
 */
import type { LogLine } from './records.js';

export type ExecutionStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'timed-out' | 'cancelled';

/** Statuses an execution never leaves. */
export const endedStatuses: ReadonlySet<ExecutionStatus> = new Set(['succeeded', 'failed', 'timed-out', 'cancelled']);
export const executionStatuses: readonly ExecutionStatus[] = ['queued', 'running', 'succeeded', 'failed', 'timed-out', 'cancelled'];

/** Result bodies up to this size are kept with the record; larger ones as a separate object. */
export const inlineResultBytes = 64 * 1024;

/** The request as it arrived, replayed on every run. */
export interface StoredRequest {
  method: string;
  /** Path and query as the function sees it. */
  path: string;
  /** Flat [name, value, ...], the Ferry credential removed; credential values `[redacted]`. */
  headers: string[];
  body: Buffer;
  /**
   * The credential headers' real values, sealed by the server, for the runs to come: the store
   * keeps them only until the execution ends (finish or cancel drops them).
   */
  sealedCredentials?: Buffer | null;
}

/** Where to report the end of the execution, and what to hand back. */
export interface CallbackSpec {
  url: string;
  taskToken: string | null;
}

/** What became of the callback. */
export interface CallbackOutcome {
  state: 'pending' | 'delivered' | 'failed' | 'refused';
  attempts: number;
  /** HTTP status of the last try, when the receiver answered. */
  lastStatus: number | null;
  lastError: string | null;
  /** Time of the last try. */
  at: number | null;
}

/** The function's answer of the run that ended the execution. */
export interface ExecutionResult {
  status: number;
  /** Flat [name, value, ...]. */
  headers: string[];
  size: number;
  /** The body when `size <= inlineResultBytes`; otherwise null: read it with `resultBody`. */
  body: Buffer | null;
}

/** Who holds a running execution: a node, and the boot of that node's server process. */
export interface LeaseHolder {
  node: string;
  boot: string;
}

export interface ExecutionRecord {
  /** 128 random bits, hex: knowing it is what lets one read a public execution. */
  id: string;
  function: string;
  /** The version chosen when the execution was accepted. */
  version: string;
  /** Created by an invocation that needed no token: readable by whoever holds the id. */
  public: boolean;
  status: ExecutionStatus;
  request: StoredRequest;
  idempotencyKey: string | null;
  callback: CallbackSpec | null;
  callbackOutcome: CallbackOutcome | null;
  /** Runs that ended (succeeded or failed); counted against `retries`. */
  attempts: number;
  /** Runs lost because the node running them stopped (crash, kill): not counted. */
  lostRuns: number;
  /** Not run before this time (retry back-off). */
  notBefore: number;
  /** Who runs it now (the queue holds the lease itself, and says when it runs out). */
  lease: LeaseHolder | null;
  createdAt: number;
  /** First run's start. */
  startedAt: number | null;
  /** Start of the current or last run. */
  runStartedAt: number | null;
  finishedAt: number | null;
  result: ExecutionResult | null;
  error: { code: string; detail: string } | null;
  /** Store order, newest highest; the list cursor. */
  seq: number;
}

/** What a submission stores; the rest starts empty. */
export type NewExecution = Pick<ExecutionRecord, 'id' | 'function' | 'version' | 'public' | 'request' | 'idempotencyKey' | 'callback' | 'createdAt'>;

/** The end of one run, as its holder reports it. */
export interface RunEnd {
  id: string;
  holder: LeaseHolder;
  /** `queued`: failed but retried at `notBefore`; other statuses end the execution. */
  status: ExecutionStatus;
  /** Whether the run counts as an attempt (false: given back, e.g. over a concurrency cap). */
  counted: boolean;
  notBefore?: number;
  now: number;
  result?: { status: number; headers: string[]; body: Buffer } | undefined;
  error?: { code: string; detail: string } | undefined;
  /** Set on ended executions that have a callback: delivery is pending. */
  callbackOutcome?: CallbackOutcome | undefined;
}

export interface ExecutionQuery {
  function?: string;
  /** Only these functions (the ones the caller may read); undefined: all. */
  functions?: string[];
  status?: ExecutionStatus;
  /** Only executions older (lower `seq`) than this. */
  before?: number;
  limit: number;
}

/**
 * Executions, their idempotency keys, result objects and who runs them. What is due to run is
 * the `executions` queue's business (`core/queue.ts`), not the store's.
 */
export interface ExecutionStore {
  /**
   * Stores a batch atomically (one commit: the caller answers 202 only after it). An entry whose
   * `idempotencyKey` the function already has is not stored; its answer names the existing one.
   */
  create(batch: NewExecution[]): Promise<Array<{ id: string; created: boolean }>>;
  get(id: string): Promise<ExecutionRecord | undefined>;
  /** Newest first. */
  list(q: ExecutionQuery): Promise<ExecutionRecord[]>;
  /** Executions not ended yet (queued or running), all functions. */
  countOpen(): Promise<number>;
  /**
   * Starts runs under `holder`, in one commit, of the executions the queue delivered: those still
   * queued, and those still running under a holder that lost them (that run counts as lost).
   * Answers the records of the runs it started; the others (cancelled, ended, gone) are not run.
   */
  begin(q: { ids: string[]; holder: LeaseHolder; now: number }): Promise<ExecutionRecord[]>;
  /**
   * Applies run ends in one commit; answers, per entry, whether the holder still had the lease.
   * An end that ends the execution drops its request's sealed credentials.
   */
  finish(ends: RunEnd[]): Promise<boolean[]>;
  /**
   * Cancels a queued execution (dropping its sealed credentials); answers the record after (or as
   * found, if it was not queued).
   */
  cancel(id: string, now: number, callbackOutcome: CallbackOutcome | null): Promise<ExecutionRecord | undefined>;
  /**
   * Queues a failed or timed-out execution again (a re-drive of its dead letter): its attempts
   * start over and its callback is pending again once it ends. Answers the record after, or
   * undefined when it was not failed or timed out.
   */
  redrive(id: string, now: number): Promise<ExecutionRecord | undefined>;
  setCallbackOutcome(id: string, outcome: CallbackOutcome): Promise<void>;
  /** Ended executions whose callback is still pending (to queue any delivery a crash left unqueued). */
  pendingCallbacks(limit: number): Promise<ExecutionRecord[]>;
  /** The full result body of an execution (inline or object). */
  resultBody(id: string): Promise<Buffer | undefined>;
  /** Log lines the function wrote while running this execution (its id is their request id). */
  logs(fn: string, id: string, limit: number): Promise<Array<LogLine & { id: number }>>;
  /** Deletes executions that ended before `before`; answers how many. */
  prune(before: number): Promise<number>;
}
