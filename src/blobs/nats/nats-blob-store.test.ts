/** NatsBlobStore: the BlobStore conformance suite against a real nats-server (each test on a fresh prefix), plus what the object store adds. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { it } from 'node:test';
import { isFerryError } from '../../errors/index.js';
import { openNats } from '../../nats/index.js';
import { natsServerPerFile } from '../../../test/support/nats-per-file.js';
import { blobStoreSuite } from '../blob-store.suite.js';
import { NatsBlobStore } from './nats-blob-store.js';

const nats = natsServerPerFile();
let n = 0;

blobStoreSuite('NatsBlobStore', async () => ({
  blobs: new NatsBlobStore({ nats: { servers: [nats().url] }, prefix: `t${++n}` }),
  cleanup: async () => {},
}));

const digestOf = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

it('leaves no chunk behind from a refused or broken put, and stores a blob again after its delete', async () => {
  const blobs = new NatsBlobStore({ nats: { servers: [nats().url] }, prefix: `t${++n}` });
  const handle = await openNats({ servers: [nats().url] });
  try {
    const big = Buffer.alloc(600 * 1024, 9);
    await assert.rejects(blobs.put(digestOf(Buffer.from('other')), big), (err) => isFerryError(err) && err.code === 'blob-digest-mismatch');
    const broken = Readable.from((async function* () {
      yield big.subarray(0, 300 * 1024);
      throw new Error('source broke');
    })());
    await assert.rejects(blobs.put(digestOf(big), broken), /source broke/);
    assert.equal((await handle.jsm.streams.info(`OBJ_${blobs.bucket}`)).state.messages, 0, 'no chunk and no metadata stored');

    await blobs.put(digestOf(big), big);
    await blobs.delete(digestOf(big));
    assert.equal(await blobs.has(digestOf(big)), false);
    await blobs.put(digestOf(big), Readable.from([big]));
    const back: Buffer[] = [];
    for await (const c of await blobs.get(digestOf(big))) back.push(c as Buffer);
    assert.deepEqual(Buffer.concat(back), big);
  } finally {
    await blobs.close();
    await handle.close();
  }
});
