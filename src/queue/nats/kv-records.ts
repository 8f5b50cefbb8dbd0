/**
 * Compare-and-set on the queue's KV buckets: records are JSON, every change names the revision it
 * read, and a removal takes away exactly that revision and leaves no delete marker behind (a
 * marker per message id would pile up forever).
 */
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { scanKv } from '../../nats/index.js';

/** A record and the revision it was read at. */
export interface Versioned<T> {
  value: T;
  revision: number;
}

/** Another writer changed the record since it was read (JetStream: wrong last sequence). */
export function isConflict(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  return e?.code === 10071 || (typeof e?.message === 'string' && e.message.includes('wrong last sequence'));
}

export async function readRecord<T>(kv: KV, key: string): Promise<Versioned<T> | undefined> {
  const e = await kv.get(key);
  if (!e || e.operation !== 'PUT') return undefined;
  return { value: e.json<T>(), revision: e.revision };
}

/** Writes `value` if the record is still at `revision` (undefined: if there is none); the new revision, or undefined on a conflict. */
export async function writeRecord(kv: KV, key: string, value: unknown, revision: number | undefined): Promise<number | undefined> {
  const data = JSON.stringify(value);
  try {
    return revision === undefined ? await kv.create(key, data) : await kv.update(key, data, revision);
  } catch (err) {
    if (isConflict(err)) return undefined;
    throw err;
  }
}

/**
 * Removes the record if it is still at `revision`: a purge of the key's subject up to that
 * revision, which spares a newer one (the bucket keeps one revision per key, so the purge finds
 * ours only while it is the latest). True when it was.
 */
export async function removeRecord(jsm: JetStreamManager, bucket: string, key: string, revision: number): Promise<boolean> {
  const r = await jsm.streams.purge(`KV_${bucket}`, { filter: `$KV.${bucket}.${key}`, seq: revision + 1 });
  return r.purged > 0;
}

const decoder = new TextDecoder();

/** Every live key of bucket `bucket` under `filter`, with its record (`scanKv`: none missed while keys are rewritten). */
export async function readAll<T>(h: { js: JetStreamClient; jsm: JetStreamManager }, bucket: string, filter: string): Promise<Array<Versioned<T> & { key: string }>> {
  return (await scanKv(h, bucket, filter)).map((r) => ({ key: r.key, revision: r.revision, value: JSON.parse(decoder.decode(r.data)) as T }));
}
