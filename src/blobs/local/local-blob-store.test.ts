/** LocalBlobStore: the BlobStore conformance suite on real files in temp dirs, plus what is local only. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { blobStoreSuite } from '../blob-store.suite.js';
import { LocalBlobStore } from './local-blob-store.js';

blobStoreSuite('LocalBlobStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-blobs-'));
  return { blobs: new LocalBlobStore(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

it('keeps blobs private and clears half-written ones at start', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-blobs-'));
  try {
    const blobs = new LocalBlobStore(dir);
    const b = Buffer.from('private');
    const d = `sha256:${createHash('sha256').update(b).digest('hex')}`;
    await blobs.put(d, b);
    assert.equal((await stat(join(dir, 'blobs', 'sha256', d.slice(7)))).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'blobs'))).mode & 0o777, 0o700);
    await writeFile(join(dir, 'blobs', '.incoming', 'leftover'), 'half');
    new LocalBlobStore(dir);
    assert.deepEqual(await readdir(join(dir, 'blobs', '.incoming')), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
