// Pulling images from a real registry (Debian's docker-registry on loopback): anonymous, with
// htpasswd logins, with token auth, over TLS with a test CA; platforms, digests, the address
// policy and the credentials file. Nothing bad may ever reach the blob cache.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobCache } from '../src/images/blob-cache.js';
import { ImagePuller, type ImagePullerOptions } from '../src/images/pull.js';
import { RegistryCredentials } from '../src/images/registry-credentials.js';
import { FerryError } from '../src/errors/index.js';
import { AddressPolicy } from '../src/util/address-policy.js';
import { startFerry, disposeFerry } from './support/ferry.js';
import {
  busyboxImage, indexOf, makeTlsFiles, ociIndexType, pushBlob, pushImage, pushManifest, sha256, skopeoPush, TestRegistry, TokenEndpoint, type BuiltImage,
} from './support/registry.js';

const login = { username: 'puller', password: `pw-${Date.now()}` };
const image = busyboxImage();
let plain: TestRegistry;
const started: Array<{ stop(): Promise<void> }> = [];

before(async () => {
  plain = await TestRegistry.start();
  started.push(plain);
  await pushImage(plain.base, 'tools/busybox', 'v1', image);
});

after(async () => {
  for (const s of started.reverse()) await s.stop();
});

/** A blob cache in a fresh data dir. */
function freshCache(): BlobCache {
  return new BlobCache(mkdtempSync(join(tmpdir(), 'ferry-pull-')));
}

function puller(blobs: BlobCache, o: Partial<ImagePullerOptions> = {}): ImagePuller {
  return new ImagePuller({
    blobs,
    policy: new AddressPolicy(['127.0.0.1'], '--registry-allow'),
    credentials: RegistryCredentials.none(),
    insecure: [],
    maxBytes: 64 * 1024 * 1024,
    retryDelayMs: 10,
    ...o,
  });
}

/** Every blob the cache holds, and whatever half-received file it still has. */
function cacheContents(blobs: BlobCache): { blobs: string[]; incoming: string[] } {
  return { blobs: readdirSync(blobs.root).sort(), incoming: readdirSync(join(blobs.root, '..', '.incoming')) };
}

async function refusal(p: Promise<unknown>, code: string, detail: RegExp): Promise<FerryError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof FerryError, `expected FerryError ${code}, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  assert.match(err.message, detail);
  return err;
}

function expectStored(blobs: BlobCache, img: BuiltImage): void {
  for (const b of [img.manifest, img.config, ...img.layers]) {
    const p = blobs.path(sha256(b));
    assert.ok(existsSync(p), `${sha256(b)} in the cache`);
    assert.deepEqual(readFileSync(p), b);
  }
}

test('an anonymous pull: manifest digest, config and layers in order, all in the cache; a second pull finds them cached', async () => {
  const blobs = freshCache();
  const lines: string[] = [];
  const got = await puller(blobs, { insecure: [plain.host] }).pull(`${plain.host}/tools/busybox:v1`, { onProgress: (l) => lines.push(l) });
  assert.equal(got.manifestDigest, image.manifestDigest);
  assert.deepEqual(got.config, image.config);
  assert.deepEqual(got.layers, image.layers.map((l) => ({ digest: sha256(l), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', size: l.length })));
  assert.equal(got.source, `${plain.host}/tools/busybox:v1@${image.manifestDigest}`);
  expectStored(blobs, image);
  const layerShort = sha256(image.layers[0]!).slice(0, 19);
  assert.ok(lines.some((l) => l.startsWith(`pulling ${layerShort}.. `) && / \d+\.\d\/\d+\.\d MB$/.test(l)), lines.join('\n'));

  const again: string[] = [];
  const byDigest = await puller(blobs, { insecure: [plain.host] }).pull(`${plain.host}/tools/busybox@${image.manifestDigest}`, { onProgress: (l) => again.push(l) });
  assert.equal(byDigest.manifestDigest, image.manifestDigest);
  assert.deepEqual(again, [`cached ${sha256(image.config).slice(0, 19)}..`, `cached ${layerShort}..`]);
});
