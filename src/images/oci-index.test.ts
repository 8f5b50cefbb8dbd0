import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FerryError } from '../errors/index.js';
import { selectManifest } from './oci-index.js';

const d = (c: string): string => `sha256:${c.repeat(64)}`;
const manifestType = 'application/vnd.oci.image.manifest.v1+json';
const indexType = 'application/vnd.oci.image.index.v1+json';
const refused = (why: RegExp) => (e: unknown) => e instanceof FerryError && e.code === 'image-invalid' && why.test(e.message);
const entry = (arch: string, c: string, os = 'linux', variant?: string, mediaType = manifestType) => ({ mediaType, digest: d(c), size: 10, platform: { os, architecture: arch, ...(variant ? { variant } : {}) } });
const nothingNested = async (): Promise<unknown> => assert.fail('no nested index to fetch');

test('an index: the linux/amd64 manifest is chosen; without it, the error lists the platforms', async () => {
  const index = { schemaVersion: 2, manifests: [entry('arm64', 'a'), entry('amd64', 'b'), entry('unknown', 'c', 'unknown')] };
  assert.equal((await selectManifest(index, nothingNested, 'r.io/x')).digest, d('b'));
  const noAmd = { schemaVersion: 2, manifests: [entry('arm64', 'a', 'linux', 'v8'), entry('arm', 'c', 'linux', 'v7'), entry('unknown', 'e', 'unknown')] };
  await assert.rejects(selectManifest(noAmd, nothingNested, 'r.io/x'), refused(/r\.io\/x has no linux\/amd64 image; it has linux\/arm64\/v8, linux\/arm\/v7$/));
});

test('an index within an index is followed by digest; a chosen entry without a sha256 digest is refused', async () => {
  const inner = { schemaVersion: 2, manifests: [entry('amd64', 'f')] };
  const outer = { schemaVersion: 2, manifests: [entry('amd64', 'e', 'linux', undefined, indexType)] };
  const fetched: string[] = [];
  const chosen = await selectManifest(outer, async (digest) => (fetched.push(digest), inner), 'r.io/x');
  assert.deepEqual([chosen.digest, fetched], [d('f'), [d('e')]]);
  const odd = { schemaVersion: 2, manifests: [{ ...entry('amd64', 'b'), digest: 'sha256:../../v2/other' }] };
  await assert.rejects(selectManifest(odd, nothingNested), refused(/no sha256 digest/));
});
