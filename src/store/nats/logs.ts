/**
 * Function log lines on a stream (`<PREFIX>_LOGS`), one subject per function and version
 * (`<prefix>.logs.<F>.<V>`). A line's id is its stream sequence: rising, shared by every node,
 * never reused (not after a purge, not after a restart). Pruning purges the oldest lines of a
 * function: a stream drops from the front, so the age bound removes lines up to the first one
 * young enough (lines arrive in time order, give or take clock skew between nodes).
 */
import type { LogLine } from '../../core/records.js';
import { publishBatch, type NatsHandle } from '../../nats/index.js';
import { token } from './layout.js';
import { readStream } from './read-stream.js';
import { guarded } from './unavailable.js';

type Stored = Omit<LogLine, 'function' | 'version'> & { function: string; version: string };
const decoder = new TextDecoder();

export class NatsLogs {
  constructor(
    private readonly h: NatsHandle,
    private readonly stream: string,
    private readonly subject: string,
  ) {}

  private filter(fn: string, version?: string): string {
    return `${this.subject}.${token(fn)}.${version === undefined ? '*' : token(version)}`;
  }

  /** Publishes the lines in array order (one connection keeps it: ids rise in that order), with one JetStream answer for all. */
  append(lines: LogLine[]): Promise<void> {
    return publishBatch(this.h, lines.map((l) => ({ subject: `${this.subject}.${token(l.function)}.${token(l.version)}`, data: JSON.stringify(l satisfies Stored) })));
  }

  /** Lines after `afterId` (at most `limit`), or the newest `limit`, ascending, matching `keep`. */
  async read(fn: string, opts: { afterId?: number; limit: number; version?: string }, keep: (l: LogLine) => boolean = () => true): Promise<Array<LogLine & { id: number }>> {
    const limit = Math.floor(opts.limit);
    if (!(limit > 0)) return [];
    const out: Array<LogLine & { id: number }> = [];
    const tail = opts.afterId === undefined;
    await readStream(this.h, this.stream, { filter: this.filter(fn, opts.version), ...(tail ? {} : { startSeq: opts.afterId! + 1 }) }, (m) => {
      const line = JSON.parse(decoder.decode(m.data)) as LogLine;
      if (!keep(line)) return;
      out.push({ id: m.seq, ...line });
      // A tail reads to the end and keeps the newest; a page stops when it is full.
      if (tail) {
        if (out.length > limit) out.shift();
        return;
      }
      return out.length < limit;
    });
    return out;
  }

  /** Drops lines older than `maxAgeMs` and all but the newest `maxLinesPerFunction` of each function. */
  async prune(opts: { maxAgeMs: number; maxLinesPerFunction: number; now: number }): Promise<void> {
    const cutoff = Number.isFinite(opts.maxAgeMs) ? opts.now - opts.maxAgeMs : -Infinity;
    const keep = Number.isFinite(opts.maxLinesPerFunction) ? Math.max(0, Math.floor(opts.maxLinesPerFunction)) : Infinity;
    const counts = new Map<string, number>();
    const info = await guarded(() => this.h.jsm.streams.info(this.stream, { subjects_filter: `${this.subject}.>` }));
    for (const [subject, n] of Object.entries(info.state.subjects ?? {})) {
      const fn = subject.slice(this.subject.length + 1).split('.')[0]!;
      counts.set(fn, (counts.get(fn) ?? 0) + n);
    }
    for (const [fnToken, count] of counts) {
      const filter = `${this.subject}.${fnToken}.*`;
      const excess = count - keep;
      // The first line to keep: past the excess, and young enough.
      let index = 0;
      let firstKept: number | undefined;
      await readStream(this.h, this.stream, { filter }, (m) => {
        const time = (JSON.parse(decoder.decode(m.data)) as LogLine).time;
        if (index++ >= excess && time >= cutoff) {
          firstKept = m.seq;
          return false;
        }
      });
      if (index === 0) continue;
      if (firstKept === undefined) await this.h.jsm.streams.purge(this.stream, { filter });
      else if (index > 1) await this.h.jsm.streams.purge(this.stream, { filter, seq: firstKept });
    }
  }

  /** Every line of the function (part of its sweep). */
  async deleteOf(fn: string): Promise<void> {
    await guarded(() => this.h.jsm.streams.purge(this.stream, { filter: this.filter(fn) }));
  }
}
