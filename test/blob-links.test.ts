/**
 * The package cache holds no second copy of what the local blob store holds: a package's files
 * that are not executable are hard links to their blobs, after a commit and after a fetch into an
 * empty cache. Since a link shares the blob's bytes, an instance must never be able to change
 * them: every way of writing through its package's files fails, and the blob still hashes to its
 * digest afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { serverStarter, type Ferry } from './support/ferry.js';
import { nodeFn } from './support/helpers.js';
import { sandboxSupport } from './support/sandbox.js';

const support = await sandboxSupport();
const skip = support.ok ? false : `the bwrap sandbox cannot run here: ${support.why}`;

const DATA = 'the bytes of a package file, kept once\n';
const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** Tries every way of changing its own package file and answers what each got (`ok` or the errno code). */
const writer = `import fs from 'node:fs';
const file = new URL('./data.txt', import.meta.url).pathname;
const tries = {
  'open r+': () => fs.closeSync(fs.openSync(file, 'r+')),
  'write': () => fs.writeFileSync(file, 'changed'),
  'append': () => fs.appendFileSync(file, 'more'),
  'truncate': () => fs.truncateSync(file, 0),
  'chmod': () => fs.chmodSync(file, 0o666),
  'utimes': () => fs.utimesSync(file, 0, 0),
  'unlink': () => fs.unlinkSync(file),
  'rename': () => fs.renameSync(file, file + '.moved'),
  'link': () => fs.linkSync(file, file + '.linked'),
};
export default () => {
  const got = {};
  for (const [name, run] of Object.entries(tries)) {
    try { run(); got[name] = 'ok'; } catch (err) { got[name] = err.code ?? String(err); }
  }
  return Response.json({ file, got, content: fs.readFileSync(file, 'utf8') });
};
`;

async function packageSha(f: Ferry, fn: string): Promise<string> {
  const res = await f.api('GET', `/v1/functions/${fn}/versions/v1`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { packageSha: string }).packageSha;
}

/** The cache's data.txt is the blob's inode, and the blob still holds exactly DATA. */
async function assertLinkedAndIntact(dataDir: string, sha: string, what: string): Promise<void> {
  const blob = join(dataDir, 'blobs', 'sha256', sha256(DATA));
  const cached = join(dataDir, 'packages', sha, 'data.txt');
  const [b, c] = await Promise.all([stat(blob), stat(cached)]);
  assert.equal(c.ino, b.ino, `${what}: the cache's file is a hard link to its blob, not a copy`);
  assert.equal(c.dev, b.dev);
  assert.equal(b.mode & 0o777, 0o444, `${what}: the shared inode is read-only`);
  assert.equal(sha256(await readFile(blob)), sha256(DATA), `${what}: the blob still hashes to its digest`);
}

/** Calls the writer and checks that nothing it tried went through. */
async function assertNoWriteThrough(f: Ferry, what: string): Promise<void> {
  const res = await fetch(`${f.url}/fn/writer`);
  const text = await res.text();
  assert.equal(res.status, 200, `${what}: ${text}`);
  const body = JSON.parse(text) as { got: Record<string, string>; content: string };
  for (const [name, got] of Object.entries(body.got)) assert.notEqual(got, 'ok', `${what}: the instance could ${name} its package file (${JSON.stringify(body.got)})`);
  assert.equal(body.content, DATA);
}

test('package files are hard links to their blobs, and no instance can write through them', { skip }, async (t) => {
  const start = serverStarter(t);
  const first = await start();
  const dataDir = first.dataDir;
  await first.deploy('writer', { ...nodeFn(writer), 'data.txt': DATA }, 'v1');
  const sha = await packageSha(first, 'writer');
  await assertLinkedAndIntact(dataDir, sha, 'after the commit');
  await assertNoWriteThrough(first, 'after the commit');
  await assertLinkedAndIntact(dataDir, sha, 'after the instance tried to write');

  // A cache without the package: the fetch from the blob store links too.
  assert.equal(await first.stop(), 0);
  await rm(join(dataDir, 'packages', sha), { recursive: true, force: true });
  const second = await start({ dataDir });
  await assertNoWriteThrough(second, 'after a fetch into an empty cache');
  await assertLinkedAndIntact(dataDir, sha, 'after a fetch into an empty cache');
});
