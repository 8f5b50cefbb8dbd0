/**
 * Conformance suite of the `BlobStore` interface. Every blob store runs it from its own test
 * file, so the local store and later ones (NATS JetStream's object store) behave the same:
 *
 *   blobStoreSuite('LocalBlobStore', async () => ({ blobs, cleanup }));
 *
 * Each test opens its own empty store. It speaks to the interface only.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import type { BlobStore } from '../core/blob-store.js';
import { isFerryError } from '../errors/index.js';

/** A fresh, empty blob store and what removes it again. */
export type OpenBlobStore = () => Promise<{ blobs: BlobStore; cleanup(): Promise<void> }>;

const digestOf = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function bytesOf(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

async function listed(blobs: BlobStore): Promise<string[]> {
  const out: string[] = [];
  for await (const b of blobs.list()) out.push(b.digest);
  return out.sort();
}

function codeOf(code: string): (err: unknown) => boolean {
  return (err) => isFerryError(err) && err.code === code;
}

/** Registers the conformance tests under `describe(name)`. */
export function blobStoreSuite(name: string, open: OpenBlobStore): void {
  describe(`BlobStore conformance: ${name}`, () => {
    const withStore = (body: (blobs: BlobStore) => Promise<void>) => async () => {
      const { blobs, cleanup } = await open();
      try {
        await body(blobs);
      } finally {
        await blobs.close?.();
        await cleanup();
      }
    };

    it('round-trips bytes, a stream and a file', withStore(async (blobs) => {
      const small = Buffer.from('hello blobs');
      assert.deepEqual(await blobs.put(digestOf(small), small), { digest: digestOf(small), size: small.length });
      assert.deepEqual(await bytesOf(await blobs.get(digestOf(small))), small);
      // Many chunks, more than one read's worth.
      const chunks = Array.from({ length: 64 }, (_, i) => Buffer.alloc(16 * 1024, i));
      const big = Buffer.concat(chunks);
      await blobs.put(digestOf(big), Readable.from(chunks));
      assert.deepEqual(await bytesOf(await blobs.get(digestOf(big))), big);
      assert.equal(await blobs.size(digestOf(big)), big.length);
      const dir = await mkdtemp(join(tmpdir(), 'ferry-blob-file-'));
      try {
        const file = join(dir, 'f');
        const content = Buffer.from('from a file\n');
        await writeFile(file, content);
        await blobs.putFile(digestOf(content), file);
        assert.deepEqual(await bytesOf(await blobs.get(digestOf(content))), content);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      const empty = Buffer.alloc(0);
      await blobs.put(digestOf(empty), empty);
      assert.equal(await blobs.size(digestOf(empty)), 0);
      assert.deepEqual(await listed(blobs), [digestOf(small), digestOf(big), digestOf(Buffer.from('from a file\n')), digestOf(empty)].sort());
    }));

    it('keeps one copy of a blob put twice', withStore(async (blobs) => {
      const b = Buffer.from('same bytes');
      await blobs.put(digestOf(b), b);
      await blobs.put(digestOf(b), Readable.from([b]));
      assert.deepEqual(await listed(blobs), [digestOf(b)]);
      assert.equal(await blobs.size(digestOf(b)), b.length);
    }));

    it('refuses bytes that do not match the digest and stores nothing', withStore(async (blobs) => {
      const claimed = digestOf(Buffer.from('what was promised'));
      await assert.rejects(blobs.put(claimed, Buffer.from('something else')), codeOf('blob-digest-mismatch'));
      assert.equal(await blobs.has(claimed), false);
      assert.equal(await blobs.size(claimed), undefined);
      assert.deepEqual(await listed(blobs), []);
      await assert.rejects(blobs.get(claimed), codeOf('blob-not-found'));
    }));

    it('stores nothing when the source fails midway', withStore(async (blobs) => {
      const whole = Buffer.alloc(256 * 1024, 7);
      const failing = Readable.from((async function* () {
        yield whole.subarray(0, 64 * 1024);
        throw new Error('source broke');
      })());
      await assert.rejects(blobs.put(digestOf(whole), failing), /source broke/);
      assert.equal(await blobs.has(digestOf(whole)), false);
      assert.deepEqual(await listed(blobs), []);
    }));

    it('takes concurrent puts of one blob', withStore(async (blobs) => {
      const b = Buffer.alloc(300 * 1024, 3);
      const d = digestOf(b);
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => blobs.put(d, i % 2 ? b : Readable.from([b.subarray(0, 1000), b.subarray(1000)]))));
      for (const r of results) assert.deepEqual(r, { digest: d, size: b.length });
      assert.deepEqual(await bytesOf(await blobs.get(d)), b);
      assert.deepEqual(await listed(blobs), [d]);
    }));

    it('deletes a blob, and a missing one without complaint', withStore(async (blobs) => {
      const keep = Buffer.from('keep');
      const drop = Buffer.from('drop');
      await blobs.put(digestOf(keep), keep);
      await blobs.put(digestOf(drop), drop);
      await blobs.delete(digestOf(drop));
      assert.equal(await blobs.has(digestOf(drop)), false);
      assert.equal(await blobs.has(digestOf(keep)), true);
      await assert.rejects(blobs.get(digestOf(drop)), codeOf('blob-not-found'));
      await blobs.delete(digestOf(drop));
      assert.deepEqual(await listed(blobs), [digestOf(keep)]);
    }));

    it('answers blob-not-found for a blob never stored', withStore(async (blobs) => {
      const d = digestOf(Buffer.from('never stored'));
      assert.equal(await blobs.has(d), false);
      assert.equal(await blobs.size(d), undefined);
      await assert.rejects(blobs.get(d), codeOf('blob-not-found'));
    }));
  });
}
