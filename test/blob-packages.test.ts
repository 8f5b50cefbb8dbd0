/**
 * Packages through the blob store: a committed package is in the blob store under its sha; a
 * host whose cache lacks it fetches it from there before an instance starts; deleting the last
 * version that uses it deletes its blobs (not those another package shares) and its cache entry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { access, lstat, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { serverStarter, type Ferry } from './support/ferry.js';
import { nodeFn, until } from './support/helpers.js';
import { sandboxSupport } from './support/sandbox.js';
import { busyboxTree, imagePackage } from './support/image-trees.js';

const support = await sandboxSupport();
const skip = support.ok ? false : `the bwrap sandbox cannot run here: ${support.why}`;

const blobPath = (dataDir: string, hex: string): string => join(dataDir, 'blobs', 'sha256', hex);
const cachePath = (dataDir: string, sha: string): string => join(dataDir, 'packages', sha);
const present = (p: string): Promise<boolean> => access(p).then(() => true, () => false);

/** The file blobs a package's listing names (`kind NUL path NUL exec NUL size NUL sha256 LF`). */
async function fileBlobs(dataDir: string, sha: string): Promise<string[]> {
  const listing = await readFile(blobPath(dataDir, sha), 'utf8');
  return [...listing.matchAll(/file\0[^\0]*\0[x-]\0\d+\0([0-9a-f]{64})\n/g)].map((m) => m[1]!);
}

async function packageSha(f: Ferry, fn: string): Promise<string> {
  const res = await f.api('GET', `/v1/functions/${fn}/versions/v1`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { packageSha: string }).packageSha;
}

async function call(f: Ferry, fn: string): Promise<string> {
  const res = await fetch(`${f.url}/fn/${fn}`);
  const text = await res.text();
  assert.equal(res.status, 200, `${fn}: ${text}`);
  return text;
}

test('a package runs from the blob store where the cache lacks it, and goes with its last version', async (t) => {
  const start = serverStarter(t);
  const first = await start();
  const dataDir = first.dataDir;
  // Two packages sharing their ferry.json and package.json, each with an index.js of its own.
  await first.deploy('gone', nodeFn('export default () => "gone here";\n'), 'v1');
  await first.deploy('kept', nodeFn('export default () => "kept here";\n'), 'v1');
  const gone = await packageSha(first, 'gone');
  const kept = await packageSha(first, 'kept');
  assert.ok(await present(blobPath(dataDir, gone)), 'the package is in the blob store under its sha');
  const goneFiles = await fileBlobs(dataDir, gone);
  const keptFiles = await fileBlobs(dataDir, kept);
  assert.equal(goneFiles.length, 3);
  for (const hex of [...goneFiles, ...keptFiles]) assert.ok(await present(blobPath(dataDir, hex)), `file blob ${hex}`);
  const shared = keptFiles.filter((hex) => goneFiles.includes(hex));
  assert.equal(shared.length, 2, 'ferry.json and package.json are one blob each, for both');

  // A host without the unpacked packages: the next start finds them in the blob store only.
  assert.equal(await first.stop(), 0);
  await rm(cachePath(dataDir, gone), { recursive: true, force: true });
  await rm(cachePath(dataDir, kept), { recursive: true, force: true });
  const second = await start({ dataDir });
  assert.equal(await call(second, 'gone'), 'gone here');
  assert.equal((await lstat(cachePath(dataDir, gone))).mode & 0o777, 0o555, 'fetched into the cache, sealed');
  assert.equal(await present(cachePath(dataDir, kept)), false, 'fetched when an instance needs it, not before');

  // Deleting the last version using a package deletes its blobs and its cache entry.
  assert.equal((await second.api('DELETE', '/v1/functions/gone')).status, 204);
  assert.ok(await until(async () => !(await present(blobPath(dataDir, gone))) && !(await present(cachePath(dataDir, gone))), 10_000), 'the package stayed');
  for (const hex of goneFiles.filter((h) => !shared.includes(h))) assert.equal(await present(blobPath(dataDir, hex)), false, `its own file blob ${hex} stayed`);
  // What the other package shares with it stays, and that package still starts from its blobs.
  for (const hex of keptFiles) assert.ok(await present(blobPath(dataDir, hex)), `shared file blob ${hex} went`);
  assert.equal(await call(second, 'kept'), 'kept here');
});

test('an image version rides the same way: its root file system is fetched from the blob store', { skip }, async (t) => {
  const start = serverStarter(t);
  const first = await start({ args: ['--driver', 'bwrap'] });
  const dataDir = first.dataDir;
  const pkg = await imagePackage(busyboxTree(), { runtime: 'exec', image: { entrypoint: ['/bin/cat'] } });
  const res = await first.api('POST', '/v1/functions/img/versions', pkg.archive, { 'content-type': 'application/x-docker-archive', 'ferry-manifest': pkg.manifest });
  assert.equal(res.status, 201, await res.text());
  const sha = await packageSha(first, 'img');
  assert.ok(await present(blobPath(dataDir, sha)));
  assert.equal(await first.stop(), 0);
  await rm(cachePath(dataDir, sha), { recursive: true, force: true });
  const second = await start({ dataDir, args: ['--driver', 'bwrap'] });
  const answer = await fetch(`${second.url}/fn/img`, { method: 'POST', body: 'through the image' });
  assert.equal(answer.status, 200);
  assert.equal(await answer.text(), 'through the image');
  assert.equal((await lstat(join(cachePath(dataDir, sha), 'bin/busybox'))).mode & 0o777, 0o555);
});
