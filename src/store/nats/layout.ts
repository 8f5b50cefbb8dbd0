/**
 * Where the JetStream store keeps what: bucket and stream names under one prefix (so two Ferry
 * deployments can share a NATS account), key tokens, and the idempotent opening of each bucket.
 * docs/cluster.md ("The store on JetStream") describes the layout for operators.
 */
import type { KV } from '@nats-io/kv';
import type { NatsHandle } from '../../nats/index.js';

/** A prefix is what goes before `_catalog` in a bucket name: the KV and stream name alphabet. */
const prefixPattern = /^[a-zA-Z0-9][a-zA-Z0-9-]{0,31}$/;

/** Throws unless `prefix` can start bucket, stream and subject names. */
export function checkPrefix(prefix: string): void {
  if (!prefixPattern.test(prefix)) throw new Error(`--nats-prefix: '${prefix}' must be 1-32 letters, digits or '-', starting with a letter or digit`);
}

/** The buckets and streams of one deployment. */
export interface Layout {
  /** Function heads, versions, aliases: one stream, so its sequence is the store-wide revision. */
  catalog: string;
  users: string;
  tokens: string;
  keys: string;
  throttles: string;
  secrets: string;
  schedules: string;
  executions: string;
  /** Object index (function, key) → record; the content lives in `objectBlobs`. */
  objects: string;
  /** Object store bucket of object contents by sha256, and of large execution results by id. */
  objectBlobs: string;
  logStream: string;
  logSubject: string;
  invocationStream: string;
  invocationSubject: string;
}

export function layout(prefix: string): Layout {
  checkPrefix(prefix);
  const upper = prefix.toUpperCase();
  return {
    catalog: `${prefix}_catalog`,
    users: `${prefix}_users`,
    tokens: `${prefix}_tokens`,
    keys: `${prefix}_keys`,
    throttles: `${prefix}_throttles`,
    secrets: `${prefix}_secrets`,
    schedules: `${prefix}_schedules`,
    executions: `${prefix}_executions`,
    objects: `${prefix}_objects`,
    objectBlobs: `${prefix}_object_blobs`,
    logStream: `${upper}_LOGS`,
    logSubject: `${prefix}.logs`,
    invocationStream: `${upper}_INVOCATIONS`,
    invocationSubject: `${prefix}.invocations`,
  };
}

/**
 * A name as one key or subject token. Function names, user names, object keys and the like may
 * hold characters a KV key or subject cannot (dots, spaces, any Unicode): each is stored as
 * base64url of its UTF-8, which uses only letters, digits, '-' and '_'; the empty string is '='.
 */
export function token(name: string): string {
  return name === '' ? '=' : Buffer.from(name, 'utf8').toString('base64url');
}

/** The name a `token` stands for. */
export function untoken(tok: string): string {
  return tok === '=' ? '' : Buffer.from(tok, 'base64url').toString('utf8');
}

/** Opens (creating if missing) a KV bucket; two processes opening it at once both succeed. */
export async function openBucket(h: NatsHandle, name: string, opts: { history?: number; maxBytes?: number } = {}): Promise<KV> {
  try {
    return await h.kvm.create(name, { history: opts.history ?? 1, ...(opts.maxBytes ? { max_bytes: opts.maxBytes } : {}) });
  } catch (err) {
    // Another process created it between our look and our create, with the same settings.
    if (/already in use|already exists/i.test(String((err as Error).message))) return h.kvm.open(name);
    throw err;
  }
}

/** Creates a stream unless it exists (a second process opening at once gets the same one). */
export async function ensureStream(h: NatsHandle, name: string, subjects: string[]): Promise<void> {
  try {
    await h.jsm.streams.info(name);
    return;
  } catch (err) {
    if ((err as { name?: string }).name !== 'StreamNotFoundError' && !/stream not found/i.test(String((err as Error).message))) throw err;
  }
  try {
    await h.jsm.streams.add({ name, subjects, storage: 'file', retention: 'limits', discard: 'old', allow_direct: true });
  } catch (err) {
    if (!/already in use|already exists/i.test(String((err as Error).message))) throw err;
  }
}
