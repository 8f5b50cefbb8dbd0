import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { checkObjectKey, maxObjectKeyBytes, type ObjectRecord, type Store } from '../core/index.js';
import { FerryError } from '../errors/index.js';

export interface ObjectsOptions {
  store: Store;
  /** Bytes one object may have (`--object-max-bytes`). */
  maxBytes: number;
  /** Bytes all objects of one function may have (`--quota-object-bytes`; 0: no limit). */
  quotaBytes: number;
}

/** What the API answers about an object. */
export interface ObjectMeta {
  key: string;
  size: number;
  contentType: string;
  etag: string;
  sha256: string;
  createdAt: string;
  updatedAt: string;
}

const defaultType = 'application/octet-stream';
/** Printable ASCII with a `/`, as a media type is: anything else could not be sent back as a header. */
const mediaType = /^[\x21-\x7e][\x20-\x7e]{0,254}$/;
const maxListLimit = 1000;

/**
 * Per-function objects: the one place that checks keys, content types, sizes and listing
 * parameters, for the management API and for instances (which reach the same routes through
 * their socket). Who may do what is the router's business (auth/route-access.ts).
 */
export class Objects {
  constructor(private readonly o: ObjectsOptions) {}

  /** Streams the body in; answers the stored object and whether the key was new. `exempt`: no quota (an admin writes). */
  async put(fn: string, key: string, headers: IncomingHttpHeaders, body: AsyncIterable<Uint8Array>, o: { exempt?: boolean } = {}): Promise<{ meta: ObjectMeta; created: boolean }> {
    const quotaBytes = o.exempt ? 0 : this.o.quotaBytes;
    checkObjectKey(key);
    const raw = headers['content-type']?.trim();
    const contentType = raw ? raw : defaultType;
    if (!mediaType.test(contentType) || !contentType.includes('/')) throw new FerryError('unsupported-media-type', `Content-Type '${contentType.slice(0, 80)}' is not a media type`);
    // A declared size over a limit is refused before a byte is read.
    const declared = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
    if (declared !== undefined && declared > this.o.maxBytes) throw new FerryError('object-too-large', `the object is ${declared} bytes; the limit is ${this.o.maxBytes} (--object-max-bytes)`);
    if (declared !== undefined && quotaBytes > 0) {
      const [usage, before] = await Promise.all([this.o.store.objects.usage(fn), this.o.store.objects.head(fn, key)]);
      if (usage.bytes - (before?.size ?? 0) + declared > quotaBytes) throw new FerryError('quota-exceeded', `the objects of '${fn}' would take more than ${quotaBytes} bytes (--quota-object-bytes)`);
    }
    const { record, created } = await this.o.store.objects.put(fn, key, body, { contentType, maxBytes: this.o.maxBytes, quotaBytes, now: Date.now() });
    return { meta: objectMeta(record), created };
  }

  async head(fn: string, key: string): Promise<ObjectRecord> {
    checkObjectKey(key);
    const rec = await this.o.store.objects.head(fn, key);
    if (!rec) throw notFound(fn, key);
    return rec;
  }

  /** The record and its content as a stream (the caller consumes or destroys it). */
  async open(fn: string, key: string): Promise<{ record: ObjectRecord; body: Readable }> {
    checkObjectKey(key);
    const got = await this.o.store.objects.get(fn, key);
    if (!got) throw notFound(fn, key);
    return got;
  }

  async remove(fn: string, key: string): Promise<void> {
    checkObjectKey(key);
    if (!(await this.o.store.objects.delete(fn, key))) throw notFound(fn, key);
  }

  /** One page of keys under `prefix`; `cursor` is the previous page's, null on the last page. */
  async list(fn: string, q: { prefix?: string | null; cursor?: string | null; limit?: string | null }): Promise<{ objects: ObjectMeta[]; cursor: string | null }> {
    const prefix = q.prefix ?? '';
    if (Buffer.byteLength(prefix) > maxObjectKeyBytes || /[\u0000-\u001f\u007f-\u009f]/.test(prefix)) throw new FerryError('invalid-query', 'prefix: at most 1024 bytes, no control characters');
    let after = '';
    if (q.cursor) {
      after = Buffer.from(q.cursor, 'base64url').toString('utf8');
      if (!after || Buffer.from(after).toString('base64url') !== q.cursor) throw new FerryError('invalid-query', 'cursor: not a cursor this server answered');
    }
    const limit = q.limit === undefined || q.limit === null || q.limit === '' ? 100 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > maxListLimit) throw new FerryError('invalid-query', `limit: an integer from 1 to ${maxListLimit}`);
    // One more than asked says whether another page follows.
    const rows = await this.o.store.objects.list(fn, { prefix, after, limit: limit + 1 });
    const page = rows.slice(0, limit);
    return { objects: page.map(objectMeta), cursor: rows.length > limit ? Buffer.from(page.at(-1)!.key).toString('base64url') : null };
  }
}

export const etagOf = (r: ObjectRecord): string => `"${r.sha256}"`;

export function objectMeta(r: ObjectRecord): ObjectMeta {
  return { key: r.key, size: r.size, contentType: r.contentType, etag: etagOf(r), sha256: r.sha256, createdAt: new Date(r.createdAt).toISOString(), updatedAt: new Date(r.updatedAt).toISOString() };
}

/** `If-None-Match` against the object's ETag (weak comparison, `*` matches any). */
export function matchesNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => {
    const tag = t.trim().replace(/^W\//, '');
    return tag === '*' || tag === etag;
  });
}

function notFound(fn: string, key: string): FerryError {
  return new FerryError('object-not-found', `function '${fn}' has no object ${JSON.stringify(key.slice(0, 200))}`);
}
