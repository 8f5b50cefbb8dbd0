/**
 * Reading a stretch of a JetStream stream in order, with a short-lived pull consumer: the one
 * primitive behind listing a KV bucket's keys with their values (the store's buckets, the queues'
 * delivery records and dead letters), reading log lines and the invocation history. It reads what
 * the stream held when it started (plus what arrives while it reads) and stops when nothing is
 * pending, or when `each` answers false.
 */
import type { JsMsg } from '@nats-io/jetstream';
import type { NatsHandle } from './connection.js';
import { guarded } from './unavailable.js';

export interface ReadOptions {
  /** One subject filter (nats-server 2.9 takes a single filter per consumer). */
  filter: string;
  /** Only the newest message of each subject (a KV bucket's current values). */
  lastPerSubject?: boolean;
  /** From this stream sequence on (default: the first). */
  startSeq?: number;
}

/** Calls `each` with the messages of `stream` matching `opts`, oldest first. */
export function readStream(h: Pick<NatsHandle, 'js' | 'jsm'>, stream: string, opts: ReadOptions, each: (m: JsMsg) => boolean | void): Promise<void> {
  return guarded(() => read(h, stream, opts, each));
}

async function read(h: Pick<NatsHandle, 'js' | 'jsm'>, stream: string, opts: ReadOptions, each: (m: JsMsg) => boolean | void): Promise<void> {
  const info = await h.jsm.consumers.add(stream, {
    ack_policy: 'none',
    deliver_policy: opts.lastPerSubject ? 'last_per_subject' : opts.startSeq ? 'by_start_sequence' : 'all',
    ...(opts.startSeq && !opts.lastPerSubject ? { opt_start_seq: opts.startSeq } : {}),
    filter_subject: opts.filter,
    mem_storage: true,
    // A reader that dies leaves nothing behind for long.
    inactive_threshold: 30_000_000_000,
  });
  try {
    let left = info.num_pending;
    const consumer = await h.js.consumers.get(stream, info.name);
    while (left > 0) {
      const batch = await consumer.fetch({ max_messages: Math.min(left, 512), expires: 5000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        left = m.info.pending;
        if (each(m) === false) return;
        if (left === 0) break;
      }
      // What was pending went away meanwhile (purged): nothing more to read.
      if (got === 0) return;
    }
  } finally {
    await h.jsm.consumers.delete(stream, info.name).catch(() => {});
  }
}
