import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FerryError } from '../errors/index.js';
import { readImageManifest } from './registry-manifest.js';

const d = (c: string): string => `sha256:${c.repeat(64)}`;
const manifestType = 'application/vnd.oci.image.manifest.v1+json';
const json = (o: unknown): Buffer => Buffer.from(JSON.stringify(o));
const refused = (why: RegExp) => (e: unknown) => e instanceof FerryError && e.code === 'image-invalid' && why.test(e.message);

test('image manifests: OCI and Docker schema 2 read; schema 1, artifacts and foreign layers refused', () => {
  const m = { schemaVersion: 2, config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: d('c'), size: 5 }, layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: d('1'), size: 7 }] };
  assert.deepEqual(readImageManifest('application/vnd.docker.distribution.manifest.v2+json', json(m)), { config: m.config, layers: m.layers });
  assert.throws(() => readImageManifest('application/vnd.docker.distribution.manifest.v1+prettyjws', json({ schemaVersion: 1 })), refused(/schema 1.*push the image again/));
  assert.throws(() => readImageManifest(manifestType, json({ ...m, config: { ...m.config, mediaType: 'application/vnd.cncf.helm.config.v1+json' } })), refused(/an artifact, not a container image/));
  assert.throws(() => readImageManifest(manifestType, json({ ...m, layers: [{ ...m.layers[0], mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip' }] })), refused(/foreign layer/));
  assert.throws(() => readImageManifest(manifestType, json({ ...m, layers: [{ ...m.layers[0], size: -1 }] })), refused(/no valid size/));
  assert.throws(() => readImageManifest(manifestType, json({ ...m, layers: [{ ...m.layers[0], digest: 'sha512:00' }] })), refused(/no sha256 digest/));
  assert.throws(() => readImageManifest(manifestType, Buffer.from('nope')), refused(/not a JSON object/));
});
