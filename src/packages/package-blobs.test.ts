/** Packages in the blob store: the listing format, the fetch into the local cache, removal. */
import assert from 'node:assert/strict';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { LocalBlobStore } from '../blobs/index.js';
import { isFerryError } from '../errors/index.js';
import { FsPackageStore } from './package-store.js';
import { removeTree } from './seal.js';
import { hashTree } from './tree-hash.js';
import { decodeListing, encodeListing } from './tree-listing.js';
import { createHash } from 'node:crypto';

const dataDirs: string[] = [];
after(() => Promise.all(dataDirs.map((d) => removeTree(d))));

async function newStore(): Promise<{ store: FsPackageStore; blobs: LocalBlobStore; dataDir: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ferry-pkgblobs-'));
  dataDirs.push(dataDir);
  const blobs = new LocalBlobStore(dataDir);
  return { store: new FsPackageStore(dataDir, blobs), blobs, dataDir };
}

/** A package with a shared file, a file of its own, an executable, a symlink and an empty dir. */
async function fill(dir: string, own: string): Promise<void> {
  await mkdir(join(dir, 'lib/empty'), { recursive: true });
  await writeFile(join(dir, 'ferry.json'), '{"runtime":"exec"}');
  await writeFile(join(dir, 'run'), '#!/bin/sh\n');
  await chmod(join(dir, 'run'), 0o755);
  await writeFile(join(dir, 'lib/own.txt'), own);
  await writeFile(join(dir, 'lib/odd\nname'), 'a name with a newline');
  await symlink('own.txt', join(dir, 'lib/link'));
  await symlink('odd\nfile\ntarget', join(dir, 'lib/odd-link'));
}

async function commit(store: FsPackageStore, own: string): Promise<string> {
  const staging = await store.stage();
  await fill(staging, own);
  return (await store.commit(staging)).sha;
}

const digest = (s: string): string => `sha256:${createHash('sha256').update(s).digest('hex')}`;
const modeOf = async (p: string): Promise<number> => (await lstat(p)).mode & 0o777;

async function stored(blobs: LocalBlobStore): Promise<string[]> {
  const out: string[] = [];
  for await (const b of blobs.list()) out.push(b.digest);
  return out.sort();
}

test('a listing decodes to the entries it was made of, and its sha256 is the tree hash', async () => {
  const { store } = await newStore();
  const staging = await store.stage();
  await fill(staging, 'mine');
  const { sha, entries } = await hashTree(staging);
  const listing = encodeListing(entries);
  assert.equal(createHash('sha256').update(listing).digest('hex'), sha);
  assert.deepEqual(decodeListing(listing), entries);
  assert.deepEqual(decodeListing(encodeListing([])), []);
  assert.throws(() => decodeListing(Buffer.from('ferry-tree-v1\nfile\0x\0-\0')), (e) => isFerryError(e) && e.code === 'internal');
});

test('a package missing from the local cache is fetched from the blob store, sealed, once', async () => {
  const { store } = await newStore();
  const sha = await commit(store, 'mine');
  const dir = store.path(sha);
  await removeTree(dir);
  const [a, b] = await Promise.all([store.localPath(sha), store.localPath(sha)]);
  assert.equal(a, dir);
  assert.equal(b, dir);
  assert.equal((await hashTree(dir)).sha, sha);
  assert.equal(await readFile(join(dir, 'lib/own.txt'), 'utf8'), 'mine');
  assert.equal(await readlink(join(dir, 'lib/odd-link')), 'odd\nfile\ntarget');
  assert.equal(await modeOf(dir), 0o555);
  assert.equal(await modeOf(join(dir, 'run')), 0o555);
  assert.equal(await modeOf(join(dir, 'ferry.json')), 0o444);
  assert.equal(await modeOf(join(dir, 'lib/empty')), 0o555);
  assert.deepEqual(await readdir(join(store.root, '.staging')), []);
});

test('a file blob that does not match refuses the fetch and leaves nothing in the cache', async () => {
  const { store, dataDir } = await newStore();
  const sha = await commit(store, 'mine');
  await removeTree(store.path(sha));
  // The blob's bytes changed behind the store's back (a broken disk, a bad copy).
  await writeFile(join(dataDir, 'blobs', 'sha256', digest('mine').slice(7)), 'MINE');
  await assert.rejects(store.localPath(sha), (e) => isFerryError(e) && e.code === 'blob-digest-mismatch');
  await assert.rejects(lstat(store.path(sha)));
  assert.deepEqual(await readdir(join(store.root, '.staging')), []);
});

test('a package with no blobs fails its fetch with blob-not-found', async () => {
  const { store } = await newStore();
  await assert.rejects(store.localPath('0'.repeat(64)), (e) => isFerryError(e) && e.code === 'blob-not-found');
});

test('removing a package deletes its listing, its own blobs and its cache entry, not what others share', async () => {
  const { store, blobs } = await newStore();
  const one = await commit(store, 'one');
  const two = await commit(store, 'two');
  const shared = [digest('{"runtime":"exec"}'), digest('#!/bin/sh\n'), digest('a name with a newline')];
  assert.deepEqual(await stored(blobs), [...shared, digest('one'), digest('two'), `sha256:${one}`, `sha256:${two}`].sort());
  await store.remove(one, [two]);
  assert.deepEqual(await stored(blobs), [...shared, digest('two'), `sha256:${two}`].sort());
  await assert.rejects(lstat(store.path(one)));
  await store.remove(two, []);
  assert.deepEqual(await stored(blobs), []);
});

test('a cached package the blob store lacks (an older data dir) is published from the cache', async () => {
  const { store, blobs, dataDir } = await newStore();
  const sha = await commit(store, 'mine');
  await rm(join(dataDir, 'blobs'), { recursive: true });
  const fresh = new LocalBlobStore(dataDir);
  const reopened = new FsPackageStore(dataDir, fresh);
  await reopened.publishCached([sha]);
  assert.ok(await fresh.has(`sha256:${sha}`));
  await removeTree(reopened.path(sha));
  assert.equal((await hashTree(await reopened.localPath(sha))).sha, sha);
  assert.ok(blobs);
});
