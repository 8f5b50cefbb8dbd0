import assert from 'node:assert/strict';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { LocalBlobStore } from '../blobs/index.js';
import { FerryError } from '../errors/index.js';
import { FsPackageStore } from './package-store.js';
import { removeTree } from './seal.js';
import { hashTree } from './tree-hash.js';

const dataDirs: string[] = [];
after(() => Promise.all(dataDirs.map((d) => removeTree(d))));

async function newStore(): Promise<{ store: FsPackageStore; dataDir: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ferry-store-'));
  dataDirs.push(dataDir);
  return { store: new FsPackageStore(dataDir, new LocalBlobStore(dataDir)), dataDir };
}

/** Writes a small package; `variant` tweaks one aspect so trees differ in exactly that. */
async function fill(dir: string, variant = ''): Promise<void> {
  await mkdir(join(dir, 'lib/empty'), { recursive: true });
  await writeFile(join(dir, 'ferry.json'), variant === 'content' ? '{"runtime":"node"}' : '{"runtime":"exec"}');
  await writeFile(join(dir, 'run'), '#!/bin/sh\n');
  await chmod(join(dir, 'run'), variant === 'exec' ? 0o644 : 0o755);
  await writeFile(join(dir, 'lib/a.txt'), 'a');
  await symlink(variant === 'link' ? 'empty' : 'a.txt', join(dir, 'lib/link'));
  if (variant === 'dir') await mkdir(join(dir, 'lib/extra'));
  if (variant === 'name') await writeFile(join(dir, 'lib/b.txt'), '');
}

const modeOf = async (p: string): Promise<number> => (await lstat(p)).mode & 0o777;

test('commit stores the tree under its sha, read-only, and empties staging', async () => {
  const { store } = await newStore();
  const staging = await store.stage();
  assert.ok(staging.startsWith(join(store.root, '.staging') + '/'));
  await fill(staging);
  const { sha, size, dir } = await store.commit(staging);
  assert.match(sha, /^[0-9a-f]{64}$/);
  assert.equal(dir, join(store.root, sha));
  assert.equal(store.path(sha), dir);
  assert.equal(size, '{"runtime":"exec"}'.length + '#!/bin/sh\n'.length + 1);
  assert.deepEqual(await readdir(join(store.root, '.staging')), []);
  assert.equal(await readFile(join(dir, 'lib/a.txt'), 'utf8'), 'a');
  assert.equal(await modeOf(dir), 0o555);
  assert.equal(await modeOf(join(dir, 'lib')), 0o555);
  assert.equal(await modeOf(join(dir, 'lib/empty')), 0o555);
  assert.equal(await modeOf(join(dir, 'run')), 0o555);
  assert.equal(await modeOf(join(dir, 'ferry.json')), 0o444);
  assert.ok((await lstat(join(dir, 'lib/link'))).isSymbolicLink());
  if (process.getuid?.() !== 0) {
    // Root ignores modes; everyone else, instances included, cannot touch a shared package.
    await assert.rejects(writeFile(join(dir, 'ferry.json'), 'tampered'), { code: 'EACCES' });
    await assert.rejects(writeFile(join(dir, 'new-file'), 'x'), { code: 'EACCES' });
  }
});

test('identical trees dedupe to one package, whatever their mtimes and write order', async () => {
  const { store } = await newStore();
  const one = await store.stage();
  await fill(one);
  const two = await store.stage();
  await writeFile(join(two, 'placeholder'), '');
  await rm(join(two, 'placeholder'));
  await fill(two);
  const first = await store.commit(one);
  const second = await store.commit(two);
  assert.deepEqual(second, first);
  assert.deepEqual((await readdir(store.root)).sort(), ['.staging', first.sha].sort());
  assert.deepEqual(await readdir(join(store.root, '.staging')), []);
});

test('trees differing in content, exec bit, link target, an empty dir or a name differ', async () => {
  const { store } = await newStore();
  const shas = new Set<string>();
  for (const variant of ['', 'content', 'exec', 'link', 'dir', 'name']) {
    const staging = await store.stage();
    await fill(staging, variant);
    shas.add((await store.commit(staging)).sha);
  }
  assert.equal(shas.size, 6);
});

test('the hash is stable and ignores mode bits other than owner-exec', async () => {
  const { store } = await newStore();
  const a = await store.stage();
  await fill(a);
  const before = await hashTree(a);
  await chmod(join(a, 'lib/a.txt'), 0o600);
  await chmod(join(a, 'run'), 0o700);
  assert.equal((await hashTree(a)).sha, before.sha);
  assert.deepEqual(before.entries.map((e) => e.rel), ['ferry.json', 'lib', 'lib/a.txt', 'lib/empty', 'lib/link', 'run']);
});

test('commit accepts a folder inside a staging dir (an archive with one top-level folder)', async () => {
  const { store } = await newStore();
  const staging = await store.stage();
  await fill(join(staging, 'myfn'));
  const flat = await store.stage();
  await fill(flat);
  const { sha } = await store.commit(join(staging, 'myfn'));
  assert.equal((await store.commit(flat)).sha, sha);
  await store.discard(staging);
  assert.deepEqual(await readdir(join(store.root, '.staging')), []);
});

test('remove deletes a read-only package; missing ones are fine', async () => {
  const { store } = await newStore();
  const staging = await store.stage();
  await fill(staging);
  const { sha, dir } = await store.commit(staging);
  await store.remove(sha, []);
  await assert.rejects(lstat(dir));
  assert.deepEqual(await readdir(join(store.root, '.staging')), []);
  await store.remove(sha, []);
  await store.remove('0'.repeat(64), []);
});

test('discard removes staging content even when it was made read-only', async () => {
  const { store } = await newStore();
  const staging = await store.stage();
  await fill(staging);
  await chmod(join(staging, 'lib'), 0o555);
  await store.discard(staging);
  await store.discard(staging);
  assert.deepEqual(await readdir(join(store.root, '.staging')), []);
});

test('a new store clears staging leftovers of a crash, keeps packages', async () => {
  const { store, dataDir } = await newStore();
  const committed = await store.stage();
  await fill(committed);
  const { sha } = await store.commit(committed);
  const leftover = await store.stage();
  await fill(leftover);
  await chmod(join(leftover, 'lib'), 0o555);
  await writeFile(join(store.root, '.staging', '.upload-1234.zip'), 'spool');
  const reopened = new FsPackageStore(dataDir, new LocalBlobStore(dataDir));
  assert.deepEqual(await readdir(join(reopened.root, '.staging')), []);
  assert.equal(await readFile(join(reopened.path(sha), 'lib/a.txt'), 'utf8'), 'a');
});

test('path and discard refuse anything outside the store', async () => {
  const { store, dataDir } = await newStore();
  for (const bad of ['../etc', 'abc', 'A'.repeat(64), '']) {
    assert.throws(() => store.path(bad), (e: FerryError) => e.code === 'internal');
  }
  await assert.rejects(store.discard(dataDir), (e: FerryError) => e.code === 'internal');
  await assert.rejects(store.discard(join(store.root, '.staging')), (e: FerryError) => e.code === 'internal');
  await assert.rejects(store.commit(join(store.root, '.staging', '..', 'x')), (e: FerryError) => e.code === 'internal');
});
