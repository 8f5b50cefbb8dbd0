import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { LocalBlobStore } from '../blobs/index.js';
import { defaultExecutionSettings, defaultLimits, defaultPrivacySettings, defaultSandbox, defaultScaling, type DeployTarget, type PackageCache, type Runtime } from '../core/index.js';
import { isFerryError } from '../errors/index.js';
import { FsPackageStore } from '../packages/index.js';
import { removeTree } from '../packages/seal.js';
import { TargetResolver } from './target-resolver.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => removeTree(d))));

/** A real package store on a temp data dir, counting the fetches asked of it. */
async function packages(): Promise<{ store: FsPackageStore; cache: PackageCache & { asked: number }; sha: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ferry-resolver-'));
  dirs.push(dataDir);
  const store = new FsPackageStore(dataDir, new LocalBlobStore(dataDir));
  const staging = await store.stage();
  await writeFile(join(staging, 'ferry.json'), '{"runtime":"node"}');
  const { sha } = await store.commit(staging);
  const cache = {
    asked: 0,
    localPath(s: string) {
      cache.asked++;
      return store.localPath(s);
    },
  };
  return { store, cache, sha };
}

const node = { name: 'node' } as Runtime;
const target = (packageSha: string, revision = 'r1', runtime = 'node'): DeployTarget => ({
  function: 'f', version: 'v1', revision, runtime, packageSha,
  config: { runtime: 'node', handler: 'index.handler', env: {}, secrets: [], ...defaultExecutionSettings, ...defaultPrivacySettings, recordPayloads: false, scaling: defaultScaling, limits: defaultLimits, invoke: 'public', sandbox: defaultSandbox },
});

test('a target resolves to its runtime and local package once per version and revision', async () => {
  const { store, cache, sha } = await packages();
  const resolver = new TargetResolver(new Map([['node', node]]), cache);
  const first = await resolver.resolve(target(sha));
  assert.equal(first.runtime, node);
  assert.equal(first.packageDir, store.path(sha));
  // Known now: answered at once, not as a promise, and nothing is asked of the package cache.
  const again = resolver.resolve(target(sha));
  assert.equal(again, first);
  assert.equal(cache.asked, 1);
  // A new revision (a PATCH, a secret) is resolved again; so is a version whose entry was dropped.
  assert.notEqual(await resolver.resolve(target(sha, 'r2')), first);
  assert.equal(cache.asked, 2);
  resolver.forget('f');
  await resolver.resolve(target(sha, 'r2'));
  assert.equal(cache.asked, 3);
});

test('a package this host lacks is fetched from the blob store by its sha', async () => {
  const { store, cache, sha } = await packages();
  await removeTree(store.path(sha));
  const resolver = new TargetResolver(new Map([['node', node]]), cache);
  const [a, b] = await Promise.all([resolver.resolve(target(sha)), resolver.resolve(target(sha))]);
  assert.equal(a, b);
  assert.equal(cache.asked, 1);
  assert.equal(a.packageDir, store.path(sha));
});

test('a failed resolution is not kept, and an unknown runtime fails the start', async () => {
  const { cache, sha } = await packages();
  const resolver = new TargetResolver(new Map([['node', node]]), cache);
  const missing = 'f'.repeat(64);
  await assert.rejects(Promise.resolve(resolver.resolve(target(missing))), (e) => isFerryError(e) && e.code === 'blob-not-found');
  await assert.rejects(Promise.resolve(resolver.resolve(target(missing))), (e) => isFerryError(e) && e.code === 'blob-not-found');
  assert.equal(cache.asked, 2);
  await assert.rejects(Promise.resolve(resolver.resolve(target(sha, 'r1', 'cobol'))), (e) => isFerryError(e) && e.code === 'instance-start-failed');
});
