import assert from 'node:assert/strict';
import { once } from 'node:events';
import { chmod, lstat, mkdir, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar';
import { FerryError } from '../errors/index.js';
import { archiveFormat, findPackageRoot, unpackArchive } from './index.js';
import { bodyOf, gzipBomb, makeTar, tarHeader, type TarItem } from '../../test/support/archive-writers.js';
import { defaultLimits as limits, listTree, mode, removeSandboxes, sandbox, unpackFails, unpackOk } from '../../test/support/unpack-checks.js';

const TAR = 'application/x-tar';
const TGZ = 'application/gzip';

after(removeSandboxes);

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks);
}

/** A real package tree packed by the tar library, as `tar czf fn.tgz fn/` would. */
async function realTar(gzip: boolean): Promise<Buffer> {
  const { base } = await sandbox();
  const src = join(base, 'myfn');
  await mkdir(join(src, 'lib/nested'), { recursive: true });
  await writeFile(join(src, 'ferry.json'), '{"runtime":"exec"}');
  await writeFile(join(src, 'run.sh'), '#!/bin/sh\necho hi\n');
  await chmod(join(src, 'run.sh'), 0o755);
  await writeFile(join(src, 'lib/nested/deep.txt'), 'deep');
  const buf = await collect(tar.c({ cwd: base, portable: true, gzip }, ['myfn']) as unknown as AsyncIterable<Buffer>);
  await rm(base, { recursive: true, force: true });
  return buf;
}

test('archiveFormat follows the Content-Type, ignoring parameters and case', () => {
  assert.equal(archiveFormat('application/x-tar'), 'tar');
  assert.equal(archiveFormat('Application/GZIP; charset=binary'), 'tar.gz');
  assert.equal(archiveFormat('application/x-gzip'), 'tar.gz');
  assert.equal(archiveFormat('application/tar+gzip'), 'tar.gz');
  assert.equal(archiveFormat('application/zip'), 'zip');
  assert.throws(() => archiveFormat('text/plain'), (e: FerryError) => e.code === 'unsupported-media-type' && /application\/zip/.test(e.message));
});

for (const gzip of [false, true]) {
  test(`a real ${gzip ? 'tar.gz' : 'tar'} unpacks with modes normalised, and findPackageRoot finds the folder`, async () => {
    const { result, dest } = await unpackOk(await realTar(gzip), gzip ? TGZ : TAR);
    assert.equal(result.bytes, '{"runtime":"exec"}'.length + '#!/bin/sh\necho hi\n'.length + 4);
    assert.deepEqual(await listTree(dest), [
      'myfn', 'myfn/ferry.json', 'myfn/lib', 'myfn/lib/nested', 'myfn/lib/nested/deep.txt', 'myfn/run.sh',
    ]);
    assert.equal(await mode(join(dest, 'myfn/run.sh')), 0o755);
    assert.equal(await mode(join(dest, 'myfn/ferry.json')), 0o644);
    assert.equal(await mode(join(dest, 'myfn/lib/nested')), 0o755);
    assert.equal(await readFile(join(dest, 'myfn/lib/nested/deep.txt'), 'utf8'), 'deep');
    assert.equal(await findPackageRoot(dest), join(dest, 'myfn'));
  });
}

test('tiny chunks, ./ prefixes, links inside the package, modes stripped of setuid/sticky', async () => {
  const archive = makeTar([
    { name: './', type: '5' },
    { name: './bin/', type: '5', mode: 0o1777 },
    { name: './bin/tool', body: 'x', mode: 0o4755 },
    { name: './bin/data', body: 'y', mode: 0o2644 },
    { name: './self', type: '2', linkname: '.' },
    { name: './bin/up', type: '2', linkname: '../bin/tool' },
    { name: './hard', type: '1', linkname: './bin/tool' },
  ]);
  const { result, dest } = await unpackOk(bodyOf(archive, 7), TAR);
  assert.deepEqual(result, { entries: 7, bytes: 3 }); // the hard link counts like a copy
  assert.equal(await mode(join(dest, 'bin')), 0o755);
  assert.equal(await mode(join(dest, 'bin/tool')), 0o755);
  assert.equal(await mode(join(dest, 'bin/data')), 0o644);
  assert.equal(await readlink(join(dest, 'self')), '.');
  assert.equal(await readFile(join(dest, 'bin/up'), 'utf8'), 'x');
  assert.equal((await stat(join(dest, 'hard'))).ino, (await stat(join(dest, 'bin/tool'))).ino);
  assert.equal((await stat(join(dest, 'bin/tool'))).uid, process.getuid?.());
});

test('a later entry replaces an earlier one and never writes through a symlink', async () => {
  const { dest } = await unpackOk(makeTar([
    { name: 'f', type: '2', linkname: 'g' },
    { name: 'f', body: 'new' },
    { name: 'd/', type: '5' },
    { name: 'd/x', body: '1' },
    { name: 'd', body: 'file now' },
  ]), TAR);
  assert.deepEqual(await listTree(dest), ['d', 'f']);
  assert.equal(await readFile(join(dest, 'f'), 'utf8'), 'new');
  assert.ok((await lstat(join(dest, 'd'))).isFile());
});

test('empty archives are fine; an empty body is not an archive', async () => {
  assert.deepEqual((await unpackOk(Buffer.alloc(1024), TAR)).result, { entries: 0, bytes: 0 });
  assert.deepEqual((await unpackOk(gzipSync(Buffer.alloc(10240)), TGZ)).result, { entries: 0, bytes: 0 });
  await unpackFails(Buffer.alloc(0), TAR, 'archive-invalid');
});

test('unsafe paths: absolute, .. anywhere, backslash ..', async () => {
  const outside = join(tmpdir(), `ferry-escape-${process.pid}-${Date.now()}`);
  await unpackFails(makeTar([{ name: outside, body: 'pwned' }]), TAR, 'archive-unsafe-path');
  await assert.rejects(stat(outside));
  await unpackFails(makeTar([{ name: '../escape', body: 'pwned' }]), TAR, 'archive-unsafe-path');
  await unpackFails(makeTar([{ name: 'ok', body: '1' }, { name: 'a/../../escape', body: 'x' }]), TAR, 'archive-unsafe-path');
  await unpackFails(makeTar([{ name: '..\\escape', body: 'x' }]), TAR, 'archive-unsafe-path');
  await unpackFails(gzipSync(makeTar([{ name: 'd/../../x', type: '5' }])), TGZ, 'archive-unsafe-path');
});

test('unsafe symlinks: escaping, absolute, through a link, changed meaning by a later link', async () => {
  await unpackFails(makeTar([{ name: 'l', type: '2', linkname: '../../etc/passwd' }]), TAR, 'archive-unsafe-link');
  await unpackFails(makeTar([{ name: 'a/b/l', type: '2', linkname: '../../..' }]), TAR, 'archive-unsafe-link');
  await unpackFails(makeTar([{ name: 'dir', type: '2', linkname: '/etc' }]), TAR, 'archive-unsafe-link');
  // `a -> .` is safe by itself, but nothing may be written through it.
  await unpackFails(makeTar([{ name: 'a', type: '2', linkname: '.' }, { name: 'a/x', body: 'x' }]), TAR, 'archive-unsafe-link');
  // sub/up -> .. is the root; sub/up/.. is its parent, which lexical checks would miss.
  await unpackFails(makeTar([
    { name: 'sub/', type: '5' },
    { name: 'sub/up', type: '2', linkname: '..' },
    { name: 'esc', type: '2', linkname: 'sub/up/..' },
  ]), TAR, 'archive-unsafe-link');
  // x -> d/.. looks like the root until d becomes a link to the root.
  await unpackFails(makeTar([
    { name: 'x', type: '2', linkname: 'd/..' },
    { name: 'd', type: '2', linkname: '.' },
  ]), TAR, 'archive-unsafe-link');
});

test('unsafe hard links: escaping, absolute, through a symlink, to a symlink, too many', async () => {
  await unpackFails(makeTar([{ name: 'h', type: '1', linkname: '../../etc/passwd' }]), TAR, 'archive-unsafe-link');
  await unpackFails(makeTar([{ name: 'h', type: '1', linkname: '/etc/passwd' }]), TAR, 'archive-unsafe-link');
  await unpackFails(makeTar([
    { name: 'sub/f', body: 'x' },
    { name: 'l', type: '2', linkname: 'sub' },
    { name: 'h', type: '1', linkname: 'l/f' },
  ]), TAR, 'archive-unsafe-link');
  await unpackFails(makeTar([
    { name: 'a/up', type: '2', linkname: '..' },
    { name: 'h', type: '1', linkname: 'a/up' },
  ]), TAR, 'archive-unsafe-link');
  await unpackFails(makeTar([{ name: 'h', type: '1', linkname: 'missing' }]), TAR, 'archive-invalid');
  // Links count like copies, so they cannot multiply the work of hashing the package.
  const links: TarItem[] = Array.from({ length: 5 }, (_, i) => ({ name: `h${i}`, type: '1', linkname: 'big' }));
  await unpackFails(makeTar([{ name: 'big', body: Buffer.alloc(1000) }, ...links]), TAR, 'archive-too-large', { maxEntries: 10, maxBytes: 5000 });
});

test('special entries: fifo, character and block devices, unknown types', async () => {
  for (const type of ['6', '3', '4', 'S']) {
    const dest = await unpackFails(makeTar([{ name: 'ok', body: '1' }, { name: 'dev', type }]), TAR, 'archive-unsafe-entry');
    await assert.rejects(lstat(join(dest, 'dev')));
  }
});

test('too many entries', async () => {
  const items: TarItem[] = Array.from({ length: 6 }, (_, i) => ({ name: `f${i}`, body: 'x' }));
  await unpackFails(makeTar(items), TAR, 'archive-too-many-entries', { maxEntries: 5, maxBytes: 1e6 });
  await unpackOk(makeTar(items.slice(0, 5)), TAR, { maxEntries: 5, maxBytes: 1e6 });
});

test('too large: by real bytes over several files, exactly at the limit is fine', async () => {
  const lim = { maxEntries: 10, maxBytes: 3000 };
  const kb = Buffer.alloc(1000, 1);
  await unpackOk(makeTar([{ name: 'a', body: kb }, { name: 'b', body: kb }, { name: 'c', body: kb }]), TAR, lim);
  await unpackFails(makeTar([{ name: 'a', body: kb }, { name: 'b', body: kb }, { name: 'c', body: kb }, { name: 'd', body: 'x' }]), TAR, 'archive-too-large', lim);
});

test('a gzip bomb is stopped early, with at most the limit on disk', async () => {
  const lim = { maxEntries: 10, maxBytes: 1024 * 1024 };
  const header = tarHeader({ name: 'bomb' }, 64 * 1024 * 1024);
  const dest = await unpackFails(gzipBomb(header, 64), TGZ, 'archive-too-large', lim);
  assert.deepEqual(await readdir(dest), []);
  // Zeros after the end marker are never written, but still may not be inflated forever.
  const tiny = makeTar([{ name: 'f', body: 'x' }]);
  const dest2 = await unpackFails(gzipBomb(tiny, 64), TGZ, 'archive-too-large', lim);
  assert.ok((await stat(join(dest2, 'f'))).size <= 1);
});

test('corrupt and truncated archives', async () => {
  const good = makeTar([{ name: 'a', body: Buffer.alloc(2000, 7) }, { name: 'b', body: 'x' }]);
  const badSum = Buffer.from(good);
  badSum[0] = 0x41; // name changes, checksum no longer matches
  await unpackFails(badSum, TAR, 'archive-invalid');
  await unpackFails(good.subarray(0, 1024), TAR, 'archive-invalid'); // ends inside a's body
  await unpackFails(Buffer.from('this is not a tar file at all'.repeat(40)), TAR, 'archive-invalid');
  const gz = gzipSync(good);
  await unpackFails(gz.subarray(0, gz.length - 20), TGZ, 'archive-invalid');
  await unpackFails(good, TGZ, 'archive-invalid'); // not gzip at all
  await unpackFails(gz, TAR, 'archive-invalid'); // gzip sent as plain tar
});

test('wrong content type is refused and the body still drained', async () => {
  const body = bodyOf(makeTar([{ name: 'a', body: 'x' }]));
  await unpackFails(body, 'text/plain', 'unsupported-media-type');
  await finished(body);
  assert.ok(body.readableEnded);
});

test('a failing body passes its FerryError through', async () => {
  const half = makeTar([{ name: 'a', body: Buffer.alloc(4096) }]).subarray(0, 2048);
  let sent = false;
  // Fails only once reading started, as a request-size limiter in front of us would.
  const body = new Readable({
    read() {
      if (sent) return void setImmediate(() => this.destroy(new FerryError('body-too-large', 'limit')));
      sent = true;
      this.push(half);
    },
  });
  await unpackFails(body, TAR, 'body-too-large');
});

test('over HTTP, an error answer still reaches the client after a rejected entry', async () => {
  const server = createServer((req, res) => {
    void (async () => {
      const { dest, base } = await sandbox();
      try {
        await unpackArchive(req, String(req.headers['content-type']), dest, limits);
        res.writeHead(200).end('ok');
      } catch (err) {
        res.writeHead((err as FerryError).status).end((err as FerryError).code);
      } finally {
        await rm(base, { recursive: true, force: true });
      }
    })();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const { port } = server.address() as AddressInfo;
    const archive = makeTar([{ name: '../evil', body: 'x' }, { name: 'big', body: Buffer.alloc(512 * 1024) }]);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ port, host: '127.0.0.1', method: 'POST', headers: { 'content-type': TAR } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.end(archive);
    });
    assert.deepEqual(answer, { status: 422, body: 'archive-unsafe-path' });
  } finally {
    server.close();
    server.closeAllConnections();
  }
});

test('findPackageRoot: root manifest, single folder, __MACOSX, ambiguous', async () => {
  const { base } = await sandbox();
  const a = join(base, 'a');
  await mkdir(join(a, 'fn'), { recursive: true });
  await mkdir(join(a, '__MACOSX'));
  await writeFile(join(a, 'fn/ferry.json'), '{}');
  assert.equal(await findPackageRoot(a), join(a, 'fn'));
  await writeFile(join(a, 'ferry.json'), '{}');
  assert.equal(await findPackageRoot(a), a);
  const b = join(base, 'b');
  await mkdir(join(b, 'x'), { recursive: true });
  await mkdir(join(b, 'y'));
  await writeFile(join(b, 'x/ferry.json'), '{}');
  assert.equal(await findPackageRoot(b), b);
  await rm(base, { recursive: true, force: true });
});
