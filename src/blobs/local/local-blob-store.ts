import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { lstat, open, readdir, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { blobDigestPattern, type BlobInfo, type BlobSource, type BlobStore } from '../../core/blob-store.js';
import { FerryError } from '../../errors/index.js';

/**
 * Blobs as files of the data dir: `<dataDir>/blobs/sha256/<hex>` (0600 in 0700 directories).
 * A put streams into `blobs/.incoming/`, hashing as it goes, fsyncs, and renames into place only
 * when the bytes match the digest, so a reader never sees a wrong or half-written blob; crash
 * leftovers in `.incoming/` are removed at start.
 */
export class LocalBlobStore implements BlobStore {
  private readonly root: string;
  private readonly incoming: string;

  /** `scratch`: this process's directory for puts in progress, its own so no other process's start wipes it. */
  constructor(dataDir: string, scratch = '.incoming') {
    const base = resolve(dataDir, 'blobs');
    this.root = join(base, 'sha256');
    this.incoming = join(base, scratch);
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    mkdirSync(this.incoming, { recursive: true, mode: 0o700 });
    for (const name of readdirSync(this.incoming)) rmSync(join(this.incoming, name), { force: true });
  }

  async put(digest: string, source: BlobSource): Promise<BlobInfo> {
    const final = this.path(digest);
    const temp = join(this.incoming, randomBytes(12).toString('hex'));
    const hash = createHash('sha256');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        size += chunk.length;
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    const input = source instanceof Uint8Array ? Readable.from([source]) : source;
    try {
      await pipeline(input, meter, createWriteStream(temp, { mode: 0o600, flags: 'wx' }));
      const got = `sha256:${hash.digest('hex')}`;
      if (got !== digest) throw new FerryError('blob-digest-mismatch', `the bytes stored as ${digest} hash to ${got}`);
      await syncPath(temp);
      // An identical blob put meanwhile is replaced by the same bytes: harmless.
      await rename(temp, final);
      await syncPath(this.root);
      return { digest, size };
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  putFile(digest: string, path: string): Promise<BlobInfo> {
    return this.put(digest, createReadStream(path));
  }

  async get(digest: string): Promise<Readable> {
    const p = this.path(digest);
    // Opened before answering, so a missing blob rejects here rather than as a stream error.
    const fh = await open(p, 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new FerryError('blob-not-found', `no blob ${digest}`);
      throw err;
    });
    return fh.createReadStream();
  }

  async has(digest: string): Promise<boolean> {
    return (await this.size(digest)) !== undefined;
  }

  async size(digest: string): Promise<number | undefined> {
    const st = await lstat(this.path(digest)).catch(() => undefined);
    return st?.isFile() ? st.size : undefined;
  }

  async delete(digest: string): Promise<void> {
    await rm(this.path(digest), { force: true });
  }

  async *list(): AsyncIterable<BlobInfo> {
    for (const name of await readdir(this.root)) {
      const digest = `sha256:${name}`;
      if (!blobDigestPattern.test(digest)) continue;
      const size = await this.size(digest);
      if (size !== undefined) yield { digest, size };
    }
  }

  localFile(digest: string): string {
    return this.path(digest);
  }

  private path(digest: string): string {
    if (!blobDigestPattern.test(digest)) throw new FerryError('internal', `not a blob digest: ${JSON.stringify(digest)}`);
    return `${this.root}/${digest.slice(7)}`;
  }
}

async function syncPath(p: string): Promise<void> {
  const fh = await open(p, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
