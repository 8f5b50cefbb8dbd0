/**
 * Per-function objects: the index in a KV bucket (`<prefix>_objects`, key `<F>.<key>` as tokens,
 * the record as value), the content in the JetStream object store (`<prefix>_object_blobs`) under
 * `objects/<sha256>`, stored once however many keys name it. A put streams the body into a
 * 0600 temp file under the data dir while hashing and counting it (so a cap holds whatever the
 * client declared), uploads it unless that content is already there, and only then writes the
 * index entry: a key never names content that is not whole. Content no key names is removed an
 * hour after it was written (at open), not at once: a reader that opened it keeps reading it
 * while a put replaces or a delete removes its key.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { ObjectStore as NatsObjectStore } from '@nats-io/obj';
import type { ObjectPutOptions, ObjectRecord, ObjectStore } from '../../core/objects.js';
import { FerryError } from '../../errors/index.js';
import { receiveObject } from '../receive-object.js';
import type { Bucket } from './bucket.js';
import { token, untoken } from './layout.js';
import { guarded } from './unavailable.js';

/** Content no key names is kept this long after it was written, for readers and puts in flight. */
const GRACE_MS = 3_600_000;

const blobName = (sha: string): string => `objects/${sha}`;
const keyOf = (fn: string, key: string): string => `${token(fn)}.${token(key)}`;

export class NatsObjects implements ObjectStore {
  constructor(
    private readonly index: Bucket,
    private readonly blobs: NatsObjectStore,
    private readonly tmpDir: string,
    /** Whether the function exists and is not deleted. */
    private readonly live: (fn: string) => Promise<boolean>,
  ) {}

  async put(fn: string, key: string, body: AsyncIterable<Uint8Array>, o: ObjectPutOptions): Promise<{ record: ObjectRecord; created: boolean }> {
    if (!(await this.live(fn))) throw new FerryError('function-not-found', `no function named '${fn}'`);
    await mkdir(this.tmpDir, { recursive: true, mode: 0o700 });
    const tmp = join(this.tmpDir, randomBytes(12).toString('hex'));
    try {
      const { sha, size } = await receiveObject(tmp, body, o.maxBytes, false);
      if (!(await guarded(() => this.blobs.info(blobName(sha))))) {
        await guarded(() => this.blobs.put({ name: blobName(sha) }, Readable.toWeb(createReadStream(tmp)) as unknown as ReadableStream<Uint8Array>));
      }
      // Counted from the index as read: two puts of one function racing may pass the quota together.
      if (o.quotaBytes > 0) {
        const others = (await this.index.scan<ObjectRecord>(`${token(fn)}.*`)).filter((e) => e.value.key !== key).reduce((n, e) => n + e.value.size, 0);
        if (others + size > o.quotaBytes) throw new FerryError('quota-exceeded', `the objects of '${fn}' would take more than ${o.quotaBytes} bytes (--quota-object-bytes)`);
      }
      const rec: ObjectRecord = { function: fn, key, sha256: sha, size, contentType: o.contentType, createdAt: o.now, updatedAt: o.now };
      const { before, after } = await this.index.change<ObjectRecord>(keyOf(fn, key), (cur) => ({ ...rec, createdAt: cur?.createdAt ?? o.now }));
      return { record: after!, created: before === undefined };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async head(fn: string, key: string): Promise<ObjectRecord | undefined> {
    return (await this.index.get<ObjectRecord>(keyOf(fn, key)))?.value;
  }

  async get(fn: string, key: string): Promise<{ record: ObjectRecord; body: Readable } | undefined> {
    const record = await this.head(fn, key);
    if (!record) return undefined;
    const got = await guarded(() => this.blobs.get(blobName(record.sha256)));
    if (!got) throw new FerryError('internal', `the content of object '${key}' of '${fn}' is missing from the NATS object store`);
    return { record, body: Readable.fromWeb(got.data as unknown as WebReadableStream<Uint8Array>) };
  }

  async delete(fn: string, key: string): Promise<boolean> {
    const { before } = await this.index.change<ObjectRecord>(keyOf(fn, key), () => null);
    return before !== undefined;
  }

  async list(fn: string, o: { prefix: string; after: string; limit: number }): Promise<ObjectRecord[]> {
    const limit = Math.floor(o.limit);
    if (!(limit > 0)) return [];
    const after = Buffer.from(o.after);
    // Byte order of the UTF-8 keys, as the embedded store sorts them.
    return (await this.index.scan<ObjectRecord>(`${token(fn)}.*`))
      .map((e) => ({ rec: e.value, bytes: Buffer.from(untoken(e.key.slice(e.key.indexOf('.') + 1))) }))
      .filter((e) => e.rec.key.startsWith(o.prefix) && Buffer.compare(e.bytes, after) > 0)
      .sort((a, b) => Buffer.compare(a.bytes, b.bytes))
      .slice(0, limit)
      .map((e) => e.rec);
  }

  async usage(fn: string): Promise<{ objects: number; bytes: number }> {
    const all = await this.index.scan<ObjectRecord>(`${token(fn)}.*`);
    return { objects: all.length, bytes: all.reduce((n, e) => n + e.value.size, 0) };
  }

  /** Part of a function's sweep: each index entry deleted only if unchanged since read. */
  async deleteOf(fn: string): Promise<void> {
    for (const e of await this.index.scan(`${token(fn)}.*`)) await this.index.delete(e.key, e.revision);
  }

  /** Removes content no key names that was written more than an hour ago. */
  async collect(now = Date.now()): Promise<void> {
    const used = new Set((await this.index.scan<ObjectRecord>()).map((e) => e.value.sha256));
    for (const info of await this.blobs.list()) {
      if (!info.name.startsWith('objects/') || used.has(info.name.slice('objects/'.length))) continue;
      if (now - Date.parse(info.mtime) > GRACE_MS) await this.blobs.delete(info.name).catch(() => {});
    }
  }
}
