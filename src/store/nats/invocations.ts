/**
 * The invocation history on a stream (`<PREFIX>_INVOCATIONS`), one subject per function
 * (`<prefix>.invocations.<F>`); the stream sequence orders it across nodes, and the record's id
 * is the message id, so a batch sent twice is stored once. Reads walk the stream, which holds at
 * most `--history-per-function` records per function once pruned.
 */
import type { InvocationStore } from '../../core/store.js';
import type { InvocationRecord } from '../../core/records.js';
import { publishBatch, type NatsHandle } from '../../nats/index.js';
import { token } from './layout.js';
import { readStream } from './read-stream.js';
import { guarded } from './unavailable.js';

type Stored = Omit<InvocationRecord, 'requestBody' | 'responseBody'> & { requestBody: string | null; responseBody: string | null };
const decoder = new TextDecoder();

function fromStored(s: Stored): InvocationRecord {
  return { ...s, requestBody: s.requestBody === null ? null : Buffer.from(s.requestBody, 'base64'), responseBody: s.responseBody === null ? null : Buffer.from(s.responseBody, 'base64') };
}

export class NatsInvocations implements InvocationStore {
  constructor(
    private readonly h: NatsHandle,
    private readonly stream: string,
    private readonly subject: string,
  ) {}

  /** One JetStream answer per batch (`publishBatch`), not one per record. */
  append(batch: InvocationRecord[]): Promise<void> {
    return publishBatch(
      this.h,
      batch.map((r) => {
        const stored: Stored = { ...r, requestBody: r.requestBody?.toString('base64') ?? null, responseBody: r.responseBody?.toString('base64') ?? null };
        return { subject: `${this.subject}.${token(r.function)}`, data: JSON.stringify(stored), msgId: r.id };
      }),
    );
  }

  /** Every record of `filter`, with its sequence; `each` may stop the walk. */
  private async walk(filter: string, each: (r: Stored, seq: number) => boolean | void): Promise<void> {
    await readStream(this.h, this.stream, { filter }, (m) => each(JSON.parse(decoder.decode(m.data)) as Stored, m.seq));
  }

  async list(q: { functions: string[] | undefined; before?: string; limit: number }): Promise<InvocationRecord[]> {
    const limit = Math.max(1, Math.floor(q.limit));
    let before = Number.MAX_SAFE_INTEGER;
    if (q.before !== undefined) {
      before = 0;
      await this.walk(`${this.subject}.>`, (r, seq) => {
        if (r.id !== q.before) return;
        before = seq;
        return false;
      });
    }
    const found: Array<{ r: Stored; seq: number }> = [];
    const filters = q.functions === undefined ? [`${this.subject}.>`] : [...new Set(q.functions)].map((f) => `${this.subject}.${token(f)}`);
    for (const filter of filters) await this.walk(filter, (r, seq) => void (seq < before && found.push({ r, seq })));
    return found
      .sort((a, b) => b.seq - a.seq)
      .slice(0, limit)
      .map(({ r }) => fromStored({ ...r, requestBody: null, responseBody: null }));
  }

  async get(id: string): Promise<InvocationRecord | undefined> {
    let hit: Stored | undefined;
    await this.walk(`${this.subject}.>`, (r) => {
      if (r.id !== id) return;
      hit = r;
      return false;
    });
    return hit && fromStored(hit);
  }

  async prune(opts: { perFunction: number; maxAgeMs: number; now: number; functions?: string[] }): Promise<void> {
    const info = await guarded(() => this.h.jsm.streams.info(this.stream, { subjects_filter: `${this.subject}.>` }));
    const subjects = Object.keys(info.state.subjects ?? {});
    if (Number.isFinite(opts.maxAgeMs)) {
      const cutoff = opts.now - opts.maxAgeMs;
      for (const filter of subjects) {
        let firstKept: number | undefined;
        let seen = 0;
        await this.walk(filter, (r, seq) => {
          seen++;
          if (r.time < cutoff) return;
          firstKept = seq;
          return false;
        });
        if (seen === 0) continue;
        if (firstKept === undefined) await this.h.jsm.streams.purge(this.stream, { filter });
        else if (seen > 1) await this.h.jsm.streams.purge(this.stream, { filter, seq: firstKept });
      }
    }
    const keep = Math.max(0, Math.floor(opts.perFunction));
    const targets = opts.functions === undefined ? subjects : opts.functions.map((f) => `${this.subject}.${token(f)}`);
    for (const filter of targets) await this.h.jsm.streams.purge(this.stream, keep === 0 ? { filter } : { filter, keep });
  }
}
