import type { Readable } from 'node:stream';
import type { InstanceInfo, LogLine, Store } from '../core/index.js';

/** Shims prefix lines written while serving a call with `\x1e<request id>\x1f`. */
const RS = '\x1e';
const US = '\x1f';
/** Longer lines are cut: one runaway print must not fill the store. */
const MAX_LINE = 16 * 1024;

export type StoredLine = LogLine & { id?: number };
type Listener = (line: StoredLine) => void;

export interface FunctionLogsOptions {
  maxAgeMs: number;
  maxLines: number;
  /** This node's id, written on each of its lines (in a cluster). */
  node?: string;
  /** Other nodes write to the same store: a follower reads their lines from it (`tail`). */
  shared?: boolean;
}

/** How often a follower of a shared store looks for new lines. */
const tailPollMs = 250;

/**
 * Per-function logs: collects every instance's stdout/stderr line by line, attributes it to a
 * request when the shim marked it, writes it to the store in batches, and fans it out to
 * followers (`?follow=1`) as it arrives. Old lines are pruned by age and count.
 */
export class FunctionLogs {
  private pending: LogLine[] = [];
  private readonly followers = new Map<string, Set<Listener>>();
  private readonly flushTimer: NodeJS.Timeout;
  private readonly pruneTimer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly retention: FunctionLogsOptions,
    private readonly onError: (err: unknown) => void,
  ) {
    this.flushTimer = setInterval(() => void this.flush(), 100);
    this.flushTimer.unref();
    this.pruneTimer = setInterval(() => void this.prune(), 60_000);
    this.pruneTimer.unref();
  }

  /** Reads `source` line by line until it ends. */
  attach(inst: InstanceInfo, stream: 'stdout' | 'stderr', source: Readable): void {
    let partial = '';
    source.setEncoding('utf8');
    source.on('data', (chunk: string) => {
      const text = partial + chunk;
      const parts = text.split('\n');
      partial = parts.pop()!;
      if (partial.length > MAX_LINE) {
        parts.push(partial);
        partial = '';
      }
      for (const raw of parts) this.add(inst, stream, raw);
    });
    source.on('end', () => {
      if (partial) this.add(inst, stream, partial);
    });
    source.on('error', () => {});
  }

  /** A line Ferry itself says about an instance (started, stopped, crashed). */
  system(inst: Pick<InstanceInfo, 'function' | 'version' | 'id'>, message: string): void {
    this.push({ time: Date.now(), function: inst.function, version: inst.version, instance: inst.id, stream: 'system', requestId: null, line: message });
  }

  follow(fn: string, listener: Listener): () => void {
    let set = this.followers.get(fn);
    if (!set) this.followers.set(fn, (set = new Set()));
    set.add(listener);
    return () => {
      set!.delete(listener);
      if (set!.size === 0) this.followers.delete(fn);
    };
  }

  /** Whether lines of other nodes reach followers only through the store (`tail`), not `follow`. */
  get shared(): boolean {
    return this.retention.shared === true;
  }

  /**
   * Every line stored after `afterId`, written by any node, as it arrives: reads the store every
   * 250 ms (the lines of other nodes never pass through this one's memory). Answers the stop.
   */
  tail(fn: string, afterId: number, opts: { version?: string | undefined }, listener: Listener): () => void {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    let last = afterId;
    const look = async (): Promise<void> => {
      try {
        for (;;) {
          await this.flush();
          const batch = await this.store.queryLogs(fn, { afterId: last, limit: 1000, ...(opts.version === undefined ? {} : { version: opts.version }) });
          for (const l of batch) {
            if (stopped) return;
            last = l.id;
            listener(l);
          }
          if (batch.length < 1000) break;
        }
      } catch (err) {
        this.onError(err);
      }
      if (!stopped) timer = setTimeout(() => void look(), tailPollMs);
    };
    void look();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }

  async query(fn: string, opts: { afterId?: number; limit: number; version?: string }): Promise<StoredLine[]> {
    await this.flush();
    return this.store.queryLogs(fn, opts);
  }

  /** Writes what is buffered; the API flushes before reading so a caller sees its own lines. */
  flush(): Promise<void> {
    if (this.pending.length === 0) return this.flushing;
    const batch = this.pending;
    this.pending = [];
    this.flushing = this.flushing.then(() => this.store.appendLogs(batch)).catch(this.onError);
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.flushTimer);
    clearInterval(this.pruneTimer);
    await this.flush();
  }

  private prune(): Promise<void> {
    return this.store.pruneLogs({ maxAgeMs: this.retention.maxAgeMs, maxLinesPerFunction: this.retention.maxLines, now: Date.now() }).catch(this.onError);
  }

  private add(inst: InstanceInfo, stream: 'stdout' | 'stderr', raw: string): void {
    let requestId: string | null = null;
    let line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.startsWith(RS)) {
      const end = line.indexOf(US);
      if (end > 0) {
        requestId = line.slice(1, end);
        line = line.slice(end + 1);
      }
    }
    if (line.length > MAX_LINE) line = `${line.slice(0, MAX_LINE)}…[cut]`;
    this.push({ time: Date.now(), function: inst.function, version: inst.version, instance: inst.id, stream, requestId, line });
  }

  private push(line: LogLine): void {
    const entry = this.retention.node === undefined ? line : { ...line, node: this.retention.node };
    this.pending.push(entry);
    const set = this.followers.get(entry.function);
    if (set) for (const l of set) l(entry);
  }
}
