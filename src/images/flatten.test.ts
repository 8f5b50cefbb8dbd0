import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { lstat, mkdtemp, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { after, test } from 'node:test';
import { LocalBlobStore } from '../blobs/index.js';
import { FsPackageStore } from '../packages/index.js';
import { removeTree } from '../packages/seal.js';
import { makeTar } from '../../test/support/archive-writers.js';
import {
  absoluteNameLayer,
  bombLayer,
  busyboxLayer,
  deviceLayer,
  dotDotLayer,
  fifoLayer,
  hostFilesLayer,
  sha256,
  symlinkEscapeLayer,
  symlinkEscapeLayers,
  whiteoutLayer,
  zstdLayer,
  type TestLayer,
  refusedWith,
} from '../../test/support/images.js';
import { BlobCache } from './blob-cache.js';
import { flattenLayers, type LayerRef } from './flatten.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => removeTree(d))));

const roomy = { maxBytes: 64 * 1024 * 1024, maxEntries: 10_000 };

async function setup(): Promise<{ cache: BlobCache; store: FsPackageStore; staging: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ferry-flatten-'));
  dirs.push(dataDir);
  const store = new FsPackageStore(dataDir, new LocalBlobStore(dataDir));
  return { cache: new BlobCache(dataDir), store, staging: await store.stage() };
}

/** Stores the layers' blobs in the cache and answers their refs (as an OCI manifest would). */
async function refs(cache: BlobCache, layers: TestLayer[], opts: { mediaTypes?: boolean } = { mediaTypes: true }): Promise<LayerRef[]> {
  const out: LayerRef[] = [];
  for (const l of layers) {
    const tar = l.raw ?? makeTar(l.items);
    const blob = l.raw ?? (l.gzip ? gzipSync(tar) : tar);
    const digest = sha256(blob);
    await cache.put(digest, Readable.from([blob]), { maxBytes: blob.length });
    const mediaType = l.mediaType ?? (l.gzip ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar');
    out.push({ digest, diffId: sha256(tar), ...(opts.mediaTypes ? { mediaType } : {}) });
  }
  return out;
}

test('layers flatten into a root file system: links kept, setuid dropped, whiteouts and opaque dirs applied', async () => {
  const { cache, store, staging } = await setup();
  const lines: string[] = [];
  const result = await flattenLayers(await refs(cache, [busyboxLayer(), whiteoutLayer()]), cache, staging, roomy, (l) => lines.push(l));
  assert.ok(result.entries > 0);
  assert.match(lines.at(-1)!, /^flattened: \d+ entries, /);

  const busybox = await lstat(join(staging, 'bin/busybox'));
  assert.ok(busybox.isFile());
  assert.equal(busybox.mode & 0o7777, 0o755, 'exec kept, setuid dropped');
  assert.equal((await lstat(join(staging, 'bin/cat'))).ino, busybox.ino, 'bin/cat is a hard link to bin/busybox');
  assert.ok((await lstat(join(staging, 'bin/sh'))).isFile(), 'the upper layer replaced the symlink with a file');
  assert.ok(!existsSync(join(staging, 'etc/group')), 'whiteout applied');
  assert.ok(existsSync(join(staging, 'etc/passwd')));
  assert.deepEqual(await readdir(join(staging, 'usr/bin')), ['hello'], 'opaque dir: lower content gone, its own layer kept');
  assert.equal((await lstat(join(staging, 'tmp'))).mode & 0o7777, 0o755, 'sticky bit dropped');

  // The package store takes the tree as it is.
  const { dir } = await store.commit(staging);
  assert.ok(existsSync(join(dir, 'bin/busybox')));
});

test('absolute symlinks are kept verbatim (they resolve inside the sandbox, where / is the image)', async () => {
  const { cache, store, staging } = await setup();
  await flattenLayers(await refs(cache, [busyboxLayer()]), cache, staging, roomy, () => {});
  assert.equal(await readlink(join(staging, 'usr/bin/env')), '/bin/busybox');
  assert.equal(await readlink(join(staging, 'bin/sh')), 'busybox');
  const { dir } = await store.commit(staging);
  assert.equal(await readlink(join(dir, 'usr/bin/env')), '/bin/busybox');
});

test("a layer of host files carries a binary's libraries and loader at the paths ldd names", async () => {
  const { cache, staging } = await setup();
  await flattenLayers(await refs(cache, [busyboxLayer(), hostFilesLayer(['/usr/bin/python3.11'])]), cache, staging, roomy, () => {});
  for (const p of ['usr/bin/python3.11', 'lib64/ld-linux-x86-64.so.2', 'lib/x86_64-linux-gnu/libc.so.6']) assert.ok((await lstat(join(staging, p))).isFile(), p);
});

test('docker save layers (no media type) are recognised by their bytes, gzip or plain', async () => {
  const { cache, staging } = await setup();
  const layers = [busyboxLayer(), { items: [{ name: 'plain.txt', body: 'plain' }] }];
  await flattenLayers(await refs(cache, layers, { mediaTypes: false }), cache, staging, roomy, () => {});
  assert.equal(await readFile(join(staging, 'plain.txt'), 'utf8'), 'plain');
});

test('an entry written through a symlink of the tree is refused, across layers and within one', async () => {
  for (const layers of [symlinkEscapeLayers('/etc'), symlinkEscapeLayers('../../../../../../etc'), [symlinkEscapeLayer('/tmp')]]) {
    const { cache, staging } = await setup();
    const r = await refs(cache, layers);
    await assert.rejects(flattenLayers(r, cache, staging, roomy, () => {}), refusedWith('image-invalid', `layer ${r.at(-1)!.digest.slice(0, 19)}`, 'evil/ferry-escaped', 'symlink'));
    assert.ok(!existsSync('/etc/ferry-escaped') && !existsSync('/tmp/ferry-escaped'));
  }
});

test('a whiteout through a symlink is refused and deletes nothing outside', async () => {
  const { cache, staging } = await setup();
  const outside = await mkdtemp(join(tmpdir(), 'ferry-outside-'));
  dirs.push(outside);
  await writeFile(join(outside, 'keep'), 'x');
  const layers = [{ items: [{ name: 'evil', type: '2', linkname: outside }] }, { items: [{ name: 'evil/.wh.keep', body: '' }] }];
  await assert.rejects(flattenLayers(await refs(cache, layers), cache, staging, roomy, () => {}), refusedWith('image-invalid', 'evil/keep'));
  assert.ok(existsSync(join(outside, 'keep')));
});

test('.. and absolute entry names, devices and fifos are refused, naming the entry', async () => {
  const cases: Array<[TestLayer, string]> = [
    [dotDotLayer(), 'bin/../../ferry-escaped'],
    [absoluteNameLayer(), '/ferry-escaped'],
    [deviceLayer(), 'dev/sda'],
    [fifoLayer(), 'pipe'],
    [{ items: [{ name: '.wh...', body: '' }] }, '.wh...'],
  ];
  for (const [layer, entry] of cases) {
    const { cache, staging } = await setup();
    await assert.rejects(flattenLayers(await refs(cache, [layer]), cache, staging, roomy, () => {}), refusedWith('image-invalid', entry));
  }
  assert.ok(!existsSync(join(tmpdir(), 'ferry-escaped')) && !existsSync('/ferry-escaped'));
});

test('a decompression bomb stops at the cap while inflating', async () => {
  const { cache, staging } = await setup();
  const r = await refs(cache, [bombLayer(8)]);
  await assert.rejects(flattenLayers(r, cache, staging, { maxBytes: 1024 * 1024, maxEntries: 100 }, () => {}), refusedWith('image-too-large', r[0]!.digest.slice(0, 19)));
});

test('zeros after the end marker count against the cap while inflating too', async () => {
  const { cache, staging } = await setup();
  const tar = Buffer.concat([makeTar([]), Buffer.alloc(8 * 1024 * 1024)]);
  const blob = gzipSync(tar);
  const digest = sha256(blob);
  await cache.put(digest, Readable.from([blob]), { maxBytes: blob.length });
  const layer = { digest, diffId: sha256(tar), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' };
  await assert.rejects(flattenLayers([layer], cache, staging, { maxBytes: 1024 * 1024, maxEntries: 100 }, () => {}), refusedWith('image-too-large', '--image-max-bytes'));
});

test('too many entries, all layers together, are refused', async () => {
  const { cache, staging } = await setup();
  const r = await refs(cache, [busyboxLayer(), whiteoutLayer()]);
  await assert.rejects(flattenLayers(r, cache, staging, { maxBytes: roomy.maxBytes, maxEntries: 12 }, () => {}), refusedWith('image-too-large', '--image-max-entries'));
});

test("a layer whose uncompressed bytes do not match the config's diff id is refused", async () => {
  const { cache, staging } = await setup();
  const r = await refs(cache, [busyboxLayer()]);
  r[0]!.diffId = sha256('something else');
  await assert.rejects(flattenLayers(r, cache, staging, roomy, () => {}), refusedWith('image-invalid', 'hash to', r[0]!.diffId));
});

test('zstd layers are refused by media type, and by their bytes without one', async () => {
  const { cache, staging } = await setup();
  const withType = await refs(cache, [zstdLayer()]);
  await assert.rejects(flattenLayers(withType, cache, staging, roomy, () => {}), refusedWith('image-invalid', 'application/vnd.oci.image.layer.v1.tar+zstd'));
  const bare = await refs(cache, [zstdLayer()], { mediaTypes: false });
  await assert.rejects(flattenLayers(bare, cache, staging, roomy, () => {}), refusedWith('image-invalid', 'zstd'));
});

test('a truncated gzip layer is refused, not hung on', async () => {
  const { cache, staging } = await setup();
  const full = gzipSync(makeTar(busyboxLayer().items));
  const cut = full.subarray(0, full.length >> 1);
  const digest = sha256(cut);
  await cache.put(digest, Readable.from([cut]), { maxBytes: cut.length });
  await assert.rejects(flattenLayers([{ digest, diffId: sha256('x'), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }], cache, staging, roomy, () => {}), refusedWith('image-invalid'));
});
