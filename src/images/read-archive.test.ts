import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { after, test } from 'node:test';
import { removeTree } from '../packages/seal.js';
import { makeTar } from '../../test/support/archive-writers.js';
import { busyboxHttpImage, busyboxImage, busyboxLayer, dockerSaveModern, dockerSaveArchive, ociLayout, ociLayoutArchive, refusedWith, sha256 } from '../../test/support/images.js';
import { BlobCache } from './blob-cache.js';
import { readImageArchive, type ImageArchiveFormat } from './read-archive.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => removeTree(d))));

const roomy = { maxBytes: 64 * 1024 * 1024, maxEntries: 1000 };

async function read(archive: Buffer, format: ImageArchiveFormat, limits = roomy) {
  const dataDir = await mkdtemp(join(tmpdir(), 'ferry-image-archive-'));
  dirs.push(dataDir);
  const cache = new BlobCache(dataDir);
  const lines: string[] = [];
  const run = readImageArchive(Readable.from([archive]), format, cache, join(dataDir, 'spool'), limits, (l) => lines.push(l));
  return { run, cache, lines, dataDir };
}

test('a docker save archive: the config digest, run settings and path-named layers by digest', async () => {
  const { run, cache, lines } = await read(dockerSaveArchive(busyboxImage()), 'docker');
  const image = await run;
  assert.match(image.digest, /^sha256:[0-9a-f]{64}$/);
  assert.deepEqual(image.config.run, { entrypoint: ['/bin/sh', '-c'], cmd: ['cat'], env: ['PATH=/usr/bin:/bin', 'GREETING=hello'], workingDir: '/', user: 'app', exposedPorts: [] });
  assert.equal(image.config.platform, 'linux/amd64');
  assert.equal(image.layers.length, 1);
  assert.equal(image.layers[0]!.mediaType, undefined);
  assert.ok(await cache.has(image.layers[0]!.digest), 'the layer is in the blob cache');
  assert.match(lines[0]!, /^layer sha256:[0-9a-f]{12} \d/);
});

test('a Docker 25+ docker save archive (an OCI layout with manifest.json) reads as either format', async () => {
  const { archive, digest } = dockerSaveModern(busyboxImage());
  const asDocker = await (await read(archive, 'docker')).run;
  assert.equal(asDocker.digest, digest, 'docker: the config digest');
  assert.equal(asDocker.layers[0]!.digest, asDocker.layers[0]!.diffId, 'uncompressed layers are named by their diff id');
  const asOci = await (await read(archive, 'oci')).run;
  assert.notEqual(asOci.digest, digest, 'oci: the manifest digest');
  assert.deepEqual(asOci.layers.map((l) => l.digest), asDocker.layers.map((l) => l.digest));
});

test('an OCI image layout: the manifest digest, exposed ports, gzip layers by media type', async () => {
  const { archive, digest } = ociLayout(busyboxHttpImage());
  const image = await (await read(archive, 'oci')).run;
  assert.equal(image.digest, digest);
  assert.deepEqual(image.config.run.exposedPorts, ['8080/tcp']);
  assert.equal(image.layers[0]!.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
});

test('the format found wins over the one declared when only one is there', async () => {
  const image = await (await read(ociLayoutArchive(busyboxImage()), 'docker')).run;
  assert.equal(image.layers.length, 1);
});

test('an index picks linux/amd64, and lists what it has when there is none', async () => {
  const { archive, digest } = ociLayout(busyboxImage(), {}, { platforms: ['linux/arm64', 'linux/amd64'] });
  assert.equal((await (await read(archive, 'oci')).run).digest, digest);
  const none = ociLayout(busyboxImage(), {}, { platforms: ['linux/arm64', 'linux/s390x'] });
  await assert.rejects((await read(none.archive, 'oci')).run, refusedWith('image-invalid', 'linux/amd64', 'linux/arm64, linux/s390x'));
});

test('a blob whose bytes do not match its digest is refused and never reaches the cache', async () => {
  const { run, cache } = await read(ociLayoutArchive(busyboxImage(), { corruptBlob: true }), 'oci');
  await assert.rejects(run, refusedWith('image-invalid', 'does not match its digest'));
  const named = sha256(gzipSync(makeTar(busyboxLayer().items)));
  assert.equal(await cache.has(named), false);
});

test('a docker save config that is not what its name says is refused', async () => {
  const { run } = await read(dockerSaveArchive(busyboxImage(), { misnamedConfig: true }), 'docker');
  await assert.rejects(run, refusedWith('image-invalid', 'does not match its name'));
});

test('older docker save links a repeated layer to the first copy; a link out of the archive is refused', async () => {
  const twice = { ...busyboxImage(), layers: [busyboxLayer(), busyboxLayer()] };
  const image = await (await read(dockerSaveArchive(twice, { linkRepeatedLayers: true }), 'docker')).run;
  assert.equal(image.layers.length, 2);
  assert.equal(image.layers[0]!.digest, image.layers[1]!.digest);
  await assert.rejects((await read(dockerSaveArchive(twice, { layerLinkOutside: true }), 'docker')).run, refusedWith('image-invalid', 'points outside'));
});

test('archives that are no image, hold .. entries, or exceed the caps are refused', async () => {
  await assert.rejects((await read(makeTar([{ name: 'hello.txt', body: 'hi' }]), 'docker')).run, refusedWith('image-invalid', 'neither'));
  await assert.rejects((await read(makeTar([{ name: '../escape', body: 'x' }]), 'docker')).run, refusedWith('image-invalid', '../escape'));
  const archive = dockerSaveArchive(busyboxImage());
  await assert.rejects((await read(archive, 'docker', { maxBytes: 1024 * 1024, maxEntries: 1000 })).run, refusedWith('image-too-large'));
  await assert.rejects((await read(archive, 'docker', { maxBytes: roomy.maxBytes, maxEntries: 3 })).run, refusedWith('image-too-large', '--image-max-entries'));
});

test('only linux images are read', async () => {
  const image = { ...busyboxImage(), os: 'windows' };
  await assert.rejects((await read(ociLayoutArchive(image), 'oci')).run, refusedWith('image-invalid', 'windows'));
});
