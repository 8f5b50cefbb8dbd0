/**
 * Blobs in a JetStream object store (`<prefix>_blobs`), one object per blob named by the hex
 * digest of its bytes. A put streams the source in chunks (never the whole blob in memory),
 * hashing as it goes, and fails the upload at its end when the bytes do not match: the object
 * store then removes the chunks it wrote, and no reader ever saw them, since an object becomes
 * visible only with its metadata, written last. The metadata is written only if no other put
 * got there first (an expected-last-sequence check), so a blob is never replaced under a reader.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeWebStream } from 'node:stream/web';
import type { ObjectStore } from '@nats-io/obj';
import { blobDigestPattern, type BlobInfo, type BlobSource, type BlobStore } from '../../core/blob-store.js';
import { FerryError } from '../../errors/index.js';
import { openNats, type NatsConnectOptions, type NatsHandle } from '../../nats/index.js';

export interface NatsBlobStoreOptions {
  nats: NatsConnectOptions;
  /** Names the bucket, so deployments can share one NATS account; default `ferry`. */
  prefix?: string;
  /** Replicas in a NATS cluster; default 1. */
  replicas?: number;
}

/** JetStream's answer when the metadata is no longer at the sequence the put expected. */
const wrongLastSequence = 10071;

export class NatsBlobStore implements BlobStore {
  readonly bucket: string;
  private opened: Promise<{ handle: NatsHandle; os: ObjectStore }> | undefined;

  /** Connects on first use (the blob store's interface opens synchronously). */
  constructor(private readonly o: NatsBlobStoreOptions) {
    const prefix = o.prefix ?? 'ferry';
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(prefix)) throw new Error(`the NATS prefix '${prefix}' may hold only letters, digits, '_' and '-' (at most 64)`);
    this.bucket = `${prefix}_blobs`;
  }

  private store(): Promise<ObjectStore> {
    this.opened ??= (async () => {
      const handle = await openNats(this.o.nats);
      try {
        // Binds the bucket, creating it when missing.
        return { handle, os: await handle.objm.create(this.bucket, { replicas: this.o.replicas ?? 1, storage: 'file' }) };
      } catch (err) {
        await handle.close();
        throw err;
      }
    })().catch((err: unknown) => {
      this.opened = undefined;
      throw err;
    });
    return this.opened.then((s) => s.os);
  }

  async put(digest: string, source: BlobSource): Promise<BlobInfo> {
    const name = nameOf(digest);
    const os = await this.store();
    const had = await os.info(name);
    if (had && !had.deleted) {
      // Stored already: the source is still read, so a wrong one is refused as it would be.
      const reader = verified(digest, source).getReader();
      while (!(await reader.read()).done);
      return { digest, size: had.size };
    }
    try {
      const info = await os.put({ name }, verified(digest, source), { previousRevision: had?.revision ?? 0 });
      return { digest, size: info.size };
    } catch (err) {
      if ((err as { code?: unknown }).code !== wrongLastSequence) throw err;
      // Another put of the same bytes came first.
      const now = await os.info(name);
      if (!now || now.deleted) throw err;
      return { digest, size: now.size };
    }
  }

  putFile(digest: string, path: string): Promise<BlobInfo> {
    return this.put(digest, createReadStream(path));
  }

  async get(digest: string): Promise<Readable> {
    const got = await (await this.store()).get(nameOf(digest));
    if (!got) throw new FerryError('blob-not-found', `no blob ${digest}`);
    const out = Readable.fromWeb(got.data as unknown as NodeWebStream<Uint8Array>);
    // The object store checks the object's own digest at the end: a bad read is an error, not short bytes.
    void got.error.then((err) => err && out.destroy(err));
    return out;
  }

  async has(digest: string): Promise<boolean> {
    return (await this.size(digest)) !== undefined;
  }

  async size(digest: string): Promise<number | undefined> {
    const info = await (await this.store()).info(nameOf(digest));
    return info && !info.deleted ? info.size : undefined;
  }

  async delete(digest: string): Promise<void> {
    await (await this.store()).delete(nameOf(digest));
  }

  async *list(): AsyncIterable<BlobInfo> {
    for (const info of await (await this.store()).list()) {
      const digest = `sha256:${info.name}`;
      if (!info.deleted && blobDigestPattern.test(digest)) yield { digest, size: info.size };
    }
  }

  async close(): Promise<void> {
    const opened = this.opened;
    this.opened = undefined;
    if (opened) await (await opened.catch(() => undefined))?.handle.close();
  }
}

function nameOf(digest: string): string {
  if (!blobDigestPattern.test(digest)) throw new FerryError('internal', `not a blob digest: ${JSON.stringify(digest)}`);
  return digest.slice(7);
}

/** `source` as a web stream read on demand, which fails at its end if the bytes do not hash to `digest`. */
function verified(digest: string, source: BlobSource): ReadableStream<Uint8Array> {
  const chunks = (async function* (): AsyncGenerator<Uint8Array> {
    if (source instanceof Uint8Array) yield source;
    else for await (const c of source) yield typeof c === 'string' ? Buffer.from(c) : (c as Uint8Array);
  })();
  const hash = createHash('sha256');
  return new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        const r = await chunks.next();
        if (!r.done) {
          hash.update(r.value);
          c.enqueue(r.value);
          return;
        }
        const got = `sha256:${hash.digest('hex')}`;
        if (got === digest) c.close();
        else c.error(new FerryError('blob-digest-mismatch', `the bytes stored as ${digest} hash to ${got}`));
      },
      async cancel() {
        await chunks.return(undefined);
      },
    },
    { highWaterMark: 0 },
  );
}
