import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, readdirSync } from 'node:fs';
import { lstat, rename, rm, utimes } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { FerryError } from '../errors/index.js';

const DIGEST = /^sha256:([0-9a-f]{64})$/;

/** Options of one `put`. */
export interface BlobPutOptions {
  /** Most bytes the blob may have (the descriptor's size, or a cap): more fails the put. */
  maxBytes: number;
  /** Bytes so far, for progress lines; called at most once per chunk. */
  onBytes?(received: number): void;
}

/**
 * Image blobs (layers, configs, manifests) by digest: `<dataDir>/images/blobs/sha256/<hex>`,
 * shared by every image that has them. A blob is hashed while it arrives and appears under its
 * digest only when the bytes match it: a wrong or truncated blob is never seen by a reader.
 */
export class BlobCache {
  readonly root: string;
  private readonly tmp: string;

  /** `scratch`: this process's directory for blobs arriving, its own so no other process's start wipes it. */
  constructor(dataDir: string, scratch = '.incoming') {
    this.root = resolve(dataDir, 'images', 'blobs', 'sha256');
    this.tmp = resolve(dataDir, 'images', 'blobs', scratch);
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    mkdirSync(this.tmp, { recursive: true, mode: 0o700 });
    // Half-received blobs of a crash are worthless: nothing refers to them.
    for (const name of readdirSync(this.tmp)) void rm(join(this.tmp, name), { force: true });
  }

  /** Host path of a blob by digest (`sha256:<hex>`); throws `invalid-image` for anything else. */
  path(digest: string): string {
    const m = DIGEST.exec(digest);
    if (!m) throw new FerryError('image-invalid', `not a sha256 digest: ${JSON.stringify(digest)}`);
    return join(this.root, m[1]!);
  }

  /** Whether the blob is stored; a hit marks it used (its mtime), for pruning by last use. */
  async has(digest: string): Promise<boolean> {
    const p = this.path(digest);
    try {
      if (!(await lstat(p)).isFile()) return false;
      const now = new Date();
      await utimes(p, now, now).catch(() => {});
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Stores `body` under `digest` if its bytes hash to it; otherwise fails `invalid-image` (digest
   * mismatch) or `image-too-large` (over `maxBytes`) and keeps nothing. Idempotent: a blob already
   * stored is not fetched twice by callers that check `has` first, and a concurrent put of the
   * same digest is harmless (the rename of identical bytes).
   */
  async put(digest: string, body: Readable, opts: BlobPutOptions): Promise<string> {
    const final = this.path(digest);
    const temp = join(this.tmp, randomBytes(12).toString('hex'));
    const hash = createHash('sha256');
    let received = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        received += chunk.length;
        if (received > opts.maxBytes) {
          cb(new FerryError('image-too-large', `blob ${digest} is larger than ${opts.maxBytes} bytes`));
          return;
        }
        hash.update(chunk);
        opts.onBytes?.(received);
        cb(null, chunk);
      },
    });
    try {
      await pipeline(body, meter, createWriteStream(temp, { mode: 0o600, flags: 'wx' }));
      const got = `sha256:${hash.digest('hex')}`;
      if (got !== digest) throw new FerryError('image-invalid', `blob ${digest} does not match its digest (its bytes hash to ${got})`);
      await rename(temp, final);
      return final;
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }
}
