/**
 * Package archives through the real upload route: every unsafe kind of archive is refused with
 * its own 4xx code and leaves the data dir exactly as it was; good tar, tar.gz and zip uploads
 * work; identical content is stored once; the upload size cap holds.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { startFerry, disposeFerry, type Ferry } from './support/ferry.js';
import { expectProblem, listTree, until } from './support/helpers.js';
import { makeTar, makeZip, type TarItem, type ZipItem } from './support/archive-writers.js';

const MAX_ENTRIES = 20;
const MAX_BYTES = 100_000;
const MAX_UPLOAD = 200_000;

let ferry: Ferry;
before(async () => {
  ferry = await startFerry({ args: ['--archive-max-entries', String(MAX_ENTRIES), '--archive-max-bytes', String(MAX_BYTES), '--max-upload', String(MAX_UPLOAD)] });
});
after(() => disposeFerry(ferry));

const goodTar: TarItem[] = [
  { name: 'ferry.json', body: JSON.stringify({ runtime: 'node', handler: 'index.js' }) },
  { name: 'package.json', body: '{"type":"module"}' },
  { name: 'index.js', body: 'export default (req, ctx) => `archived ${ctx.version}`;\n' },
];
const goodZip: ZipItem[] = goodTar.map((i) => ({ name: i.name, body: i.body as string }));

const tgz = (items: TarItem[]): Buffer => gzipSync(makeTar(items));

function upload(name: string, body: Uint8Array, contentType: string): Promise<Response> {
  return ferry.api('POST', `/v1/functions/${name}/versions`, body, { 'content-type': contentType });
}

const stagingDir = (): string => join(ferry.dataDir, 'packages', '.staging');

/** What an upload may change: the package tree (staging contents aside) and the functions. */
async function snapshot(): Promise<{ packages: string[]; functions: unknown }> {
  const packages = await listTree(join(ferry.dataDir, 'packages'), (rel) => rel.startsWith('.staging/'));
  const res = await ferry.api('GET', '/v1/functions');
  assert.equal(res.status, 200);
  const { functions } = (await res.json()) as { functions: Array<{ name: string; versions: number; latest: string | null }> };
  return { packages, functions: functions.map((f) => [f.name, f.versions, f.latest]) };
}

/** Staging is empty once background package removal (if any) is done. */
async function stagingSettled(): Promise<void> {
  const empty = await until(async () => (await readdir(stagingDir())).length === 0, 3_000);
  assert.ok(empty, `staging is not empty: ${(await readdir(stagingDir())).join(', ')}`);
}

/** Uploads `body`, expects the problem, and checks the data dir did not change. */
async function rejects(what: string, body: Uint8Array, contentType: string, status: number, code: string): Promise<void> {
  await stagingSettled();
  const name = `bad-${randomBytes(4).toString('hex')}`;
  const before = await snapshot();
  await expectProblem(await upload(name, body, contentType), status, code, what);
  assert.deepEqual(await readdir(stagingDir()), [], `${what}: staging holds leftovers right after the answer`);
  assert.deepEqual(await snapshot(), before, `${what}: the data dir changed`);
  await expectProblem(await ferry.api('GET', `/v1/functions/${name}`), 404, 'function-not-found', what);
}

// ---------------------------------------------------------------------------------------------
// Unsafe archives

test('unsafe: an absolute path is refused (422 archive-unsafe-path) and nothing is written there', async () => {
  const outside = join(tmpdir(), `ferry-evil-abs-${randomBytes(4).toString('hex')}`);
  await rejects('tar.gz absolute path', tgz([...goodTar, { name: outside, body: 'pwned' }]), 'application/gzip', 422, 'archive-unsafe-path');
  await rejects('tar absolute path', makeTar([...goodTar, { name: outside, body: 'pwned' }]), 'application/x-tar', 422, 'archive-unsafe-path');
  assert.equal(existsSync(outside), false, `${outside} was created`);
});

test('unsafe: a .. path is refused (422 archive-unsafe-path)', async () => {
  for (const name of ['../evil-dotdot', '../../evil-dotdot', 'sub/../../evil-dotdot', '..']) {
    await rejects(`tar.gz ${name}`, tgz([...goodTar, { name, body: 'pwned' }]), 'application/gzip', 422, 'archive-unsafe-path');
  }
  assert.equal(existsSync(join(ferry.dataDir, 'evil-dotdot')), false);
  assert.equal(existsSync(join(ferry.dataDir, 'packages', 'evil-dotdot')), false);
});

test('unsafe: a symlink escaping the package is refused (422 archive-unsafe-link)', async () => {
  await rejects('relative escape', tgz([...goodTar, { name: 'escape', type: '2', linkname: '../../../../../../etc' }]), 'application/gzip', 422, 'archive-unsafe-link');
  await rejects('absolute target', tgz([...goodTar, { name: 'escape', type: '2', linkname: '/etc/passwd' }]), 'application/gzip', 422, 'archive-unsafe-link');
  // A link that is harmless by itself, then a file written through it.
  await rejects(
    'write through a link',
    tgz([...goodTar, { name: 'dir', type: '2', linkname: '..' }, { name: 'dir/evil', body: 'pwned' }]),
    'application/gzip',
    422,
    'archive-unsafe-link',
  );
});

test('unsafe: a hard link escaping the package is refused (422 archive-unsafe-link)', async () => {
  await rejects('relative hard link', tgz([...goodTar, { name: 'hl', type: '1', linkname: '../../../../etc/passwd' }]), 'application/gzip', 422, 'archive-unsafe-link');
  await rejects('absolute hard link', tgz([...goodTar, { name: 'hl', type: '1', linkname: '/etc/passwd' }]), 'application/gzip', 422, 'archive-unsafe-link');
});

test('unsafe: a fifo is refused (422 archive-unsafe-entry)', async () => {
  await rejects('fifo', tgz([...goodTar, { name: 'pipe', type: '6' }]), 'application/gzip', 422, 'archive-unsafe-entry');
});

test('unsafe: character and block devices are refused (422 archive-unsafe-entry)', async () => {
  await rejects('char device', tgz([...goodTar, { name: 'null', type: '3' }]), 'application/gzip', 422, 'archive-unsafe-entry');
  await rejects('block device', tgz([...goodTar, { name: 'sda', type: '4' }]), 'application/gzip', 422, 'archive-unsafe-entry');
});

test(`unsafe: more than ${MAX_ENTRIES} entries is refused (413 archive-too-many-entries)`, async () => {
  const many = Array.from({ length: MAX_ENTRIES + 5 }, (_, i) => ({ name: `f${i}.txt`, body: 'x' }));
  await rejects('tar.gz', tgz([...goodTar, ...many]), 'application/gzip', 413, 'archive-too-many-entries');
  await rejects('zip', makeZip([...goodZip, ...many]), 'application/zip', 413, 'archive-too-many-entries');
});

test(`unsafe: unpacking to more than ${MAX_BYTES} bytes is refused (413 archive-too-large)`, async () => {
  const big = { name: 'big.bin', body: Buffer.alloc(MAX_BYTES + 50_000, 'a') };
  await rejects('tar.gz', tgz([...goodTar, big]), 'application/gzip', 413, 'archive-too-large');
  await rejects('deflated zip', makeZip([...goodZip, { ...big, deflate: true }]), 'application/zip', 413, 'archive-too-large');
  // Many files, each small, together too large.
  const parts = Array.from({ length: 4 }, (_, i) => ({ name: `part${i}.bin`, body: Buffer.alloc(30_000, 'b') }));
  await rejects('sum of files', tgz([...goodTar, ...parts]), 'application/gzip', 413, 'archive-too-large');
});

test('unsafe: corrupt gzip and corrupt zip are refused (422 archive-invalid)', async () => {
  const whole = tgz(goodTar);
  await rejects('truncated gzip', whole.subarray(0, Math.floor(whole.length / 2)), 'application/gzip', 422, 'archive-invalid');
  await rejects('gzip magic then garbage', Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]), randomBytes(300)]), 'application/gzip', 422, 'archive-invalid');
  await rejects('not gzip at all', Buffer.from('this is not an archive'), 'application/gzip', 422, 'archive-invalid');
  await rejects('garbage zip', randomBytes(500), 'application/zip', 422, 'archive-invalid');
});

test('unsafe: a zip with .. or an absolute path is refused (422 archive-unsafe-path)', async () => {
  await rejects('zip ..', makeZip([...goodZip, { name: '../evil.txt', body: 'pwned' }]), 'application/zip', 422, 'archive-unsafe-path');
  await rejects('zip a/../../', makeZip([...goodZip, { name: 'a/../../evil.txt', body: 'pwned' }]), 'application/zip', 422, 'archive-unsafe-path');
  await rejects('zip absolute', makeZip([...goodZip, { name: '/tmp/evil.txt', body: 'pwned' }]), 'application/zip', 422, 'archive-unsafe-path');
});

test('unsafe: zip symlinks escaping and zip special files are refused', async () => {
  await rejects('zip symlink', makeZip([...goodZip, { name: 'escape', body: '../../../../etc', mode: 0o120777 }]), 'application/zip', 422, 'archive-unsafe-link');
  await rejects('zip fifo', makeZip([...goodZip, { name: 'pipe', body: '', mode: 0o010644 }]), 'application/zip', 422, 'archive-unsafe-entry');
});

// ---------------------------------------------------------------------------------------------
// Good archives

async function created(res: Response): Promise<{ version: string; packageSha: string }> {
  const text = await res.text();
  assert.equal(res.status, 201, text);
  return JSON.parse(text) as { version: string; packageSha: string };
}

async function invoke(name: string): Promise<string> {
  const res = await fetch(`${ferry.url}/fn/${name}`);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return text;
}

test('good: a zip upload (stored and deflated) works', async () => {
  assert.equal((await created(await upload('zipfn', makeZip(goodZip), 'application/zip'))).version, 'v1');
  assert.equal(await invoke('zipfn'), 'archived v1');
  const deflated = goodZip.map((i) => ({ ...i, deflate: true }));
  assert.equal((await created(await upload('zipfn', makeZip(deflated), 'application/zip'))).version, 'v2');
  assert.equal(await invoke('zipfn'), 'archived v2');
  await stagingSettled();
});

test('good: a plain tar upload (application/x-tar) works', async () => {
  assert.equal((await created(await upload('tarfn', makeTar(goodTar), 'application/x-tar'))).version, 'v1');
  assert.equal(await invoke('tarfn'), 'archived v1');
});

test('good: an archive with a single top-level folder works (tar.gz and zip)', async () => {
  const nested: TarItem[] = [{ name: 'myfn/', type: '5' }, ...goodTar.map((i) => ({ ...i, name: `myfn/${i.name}` }))];
  assert.equal((await created(await upload('nested', tgz(nested), 'application/gzip'))).version, 'v1');
  assert.equal(await invoke('nested'), 'archived v1');
  const nestedZip: ZipItem[] = [{ name: 'myfn/' }, ...goodZip.map((i) => ({ ...i, name: `myfn/${i.name}` }))];
  assert.equal((await created(await upload('nested', makeZip(nestedZip), 'application/zip'))).version, 'v2');
  assert.equal(await invoke('nested'), 'archived v2');
});

test('good: identical content uploaded twice shares one package dir', async () => {
  const content: TarItem[] = [...goodTar, { name: 'unique.txt', body: `dedupe ${randomBytes(8).toString('hex')}` }];
  const packagesDir = join(ferry.dataDir, 'packages');
  const shas = async (): Promise<string[]> => (await readdir(packagesDir)).filter((n) => !n.startsWith('.')).sort();
  await stagingSettled();
  const before = await shas();
  const a = await created(await upload('dedupe', tgz(content), 'application/gzip'));
  const b = await created(await upload('dedupe', tgz(content), 'application/gzip'));
  // The same content as a zip and under another function is still the same package.
  const c = await created(await upload('dedupe-too', makeZip([...goodZip, { name: 'unique.txt', body: content[3]!.body as string }]), 'application/zip'));
  assert.deepEqual([a.version, b.version, c.version], ['v1', 'v2', 'v1']);
  assert.equal(a.packageSha, b.packageSha);
  assert.equal(a.packageSha, c.packageSha);
  const afterShas = await shas();
  assert.deepEqual(afterShas.filter((s) => !before.includes(s)), [a.packageSha], 'exactly one new package dir');
  assert.equal(await invoke('dedupe'), 'archived v2');
  assert.equal(await invoke('dedupe-too'), 'archived v1');

  // Deleting one user of the package keeps it; deleting the last one removes it.
  assert.equal((await ferry.api('DELETE', '/v1/functions/dedupe')).status, 204);
  await stagingSettled();
  assert.ok(existsSync(join(packagesDir, a.packageSha)), 'the package went while dedupe-too still uses it');
  assert.equal(await invoke('dedupe-too'), 'archived v1');
  assert.equal((await ferry.api('DELETE', '/v1/functions/dedupe-too')).status, 204);
  const removed = await until(async () => !existsSync(join(packagesDir, a.packageSha)), 3_000);
  assert.ok(removed, 'the unused package was not removed');
  await stagingSettled();
});

// ---------------------------------------------------------------------------------------------
// The upload cap

test('cap: an upload whose Content-Length is over --max-upload answers 413 body-too-large and changes nothing', async () => {
  await stagingSettled();
  const before = await snapshot();
  const body = Buffer.alloc(MAX_UPLOAD + 1, 0);
  const res = await upload('toobig', body, 'application/gzip');
  await expectProblem(res, 413, 'body-too-large');
  assert.deepEqual(await readdir(stagingDir()), []);
  assert.deepEqual(await snapshot(), before);
  // The server still serves on.
  assert.equal((await fetch(`${ferry.url}/healthz`)).status, 200);
});

test('cap: a chunked upload (no Content-Length) over --max-upload answers 413 body-too-large', async () => {
  await stagingSettled();
  const before = await snapshot();
  // A valid tar followed by zero padding: small when unpacked, but the upload itself is larger
  // than --max-upload.
  const tar = Buffer.concat([makeTar(goodTar), Buffer.alloc(MAX_UPLOAD + 100_000, 0)]);
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < tar.length; i += 16 * 1024) controller.enqueue(new Uint8Array(tar.subarray(i, i + 16 * 1024)));
      controller.close();
    },
  });
  const res = await fetch(`${ferry.url}/v1/functions/chunked/versions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ferry.token}`, 'content-type': 'application/x-tar' },
    body: stream,
    duplex: 'half',
  } as RequestInit);
  await expectProblem(res, 413, 'body-too-large', `a ${tar.length}-byte chunked upload with --max-upload ${MAX_UPLOAD}`);
  await stagingSettled();
  assert.deepEqual(await snapshot(), before);
});
