/**
 * Listing a KV bucket: its live keys under a filter, each with its newest value. The one way every
 * listing on JetStream reads a bucket (the store's buckets, the queues' delivery records and dead
 * letters, the node directory). The keys are taken first, at once, from the stream's subjects;
 * then each one's newest message is read, in one ordered read when there are many. A key
 * rewritten while that read goes on loses its older message before the read gets there, and
 * nats-server 2.9 may count the read done before the new one comes: such a key, missing from the
 * read, is read alone. So every key live from the call's start to its end is listed, once.
 */
import type { NatsHandle } from './connection.js';
import { readStream } from './read-stream.js';
import { guarded } from './unavailable.js';

/** A live key's newest value. */
export interface KvRecord {
  key: string;
  /** Its stream sequence: the revision a compare-and-set names. */
  revision: number;
  data: Uint8Array;
}

/** Up to this many keys are read one by one (one request each); more in one ordered read. */
const readAloneUpTo = 16;

/** JetStream's answer to a direct read of a subject that holds nothing (purged, expired). */
const noMessageFound = 10037;

export function scanKv(h: Pick<NatsHandle, 'js' | 'jsm'>, bucket: string, filter = '>'): Promise<KvRecord[]> {
  return guarded(() => scan(h, bucket, filter));
}

async function scan(h: Pick<NatsHandle, 'js' | 'jsm'>, bucket: string, filter: string): Promise<KvRecord[]> {
  const prefix = `$KV.${bucket}.`;
  const stream = `KV_${bucket}`;
  const info = await h.jsm.streams.info(stream, { subjects_filter: prefix + filter });
  const subjects = Object.keys(info.state.subjects ?? {});
  const out = new Map<string, KvRecord>();
  const seen = new Set<string>();
  const keep = (subject: string, revision: number, op: string | undefined, data: Uint8Array): void => {
    const key = subject.slice(prefix.length);
    seen.add(key);
    if (op === 'DEL' || op === 'PURGE') out.delete(key);
    else out.set(key, { key, revision, data });
  };
  if (subjects.length > readAloneUpTo) {
    await readStream(h, stream, { filter: prefix + filter, lastPerSubject: true }, (m) => keep(m.subject, m.seq, m.headers?.get('KV-Operation') || undefined, m.data));
  }
  const alone = subjects.filter((s) => !seen.has(s.slice(prefix.length)));
  const got = await Promise.all(
    alone.map((s) =>
      h.jsm.streams.getMessage(stream, { last_by_subj: s }).catch((err: unknown) => {
        // Gone since the subjects were counted (removed, expired): not listed.
        if ((err as { code?: unknown }).code === noMessageFound || /no message found/i.test(String((err as Error).message))) return null;
        throw err;
      }),
    ),
  );
  for (const m of got) if (m) keep(m.subject, m.seq, m.header?.get('KV-Operation') || undefined, m.data);
  return [...out.values()];
}
