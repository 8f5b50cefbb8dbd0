import assert from 'node:assert/strict';
import { lstat, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { makeZip } from '../../test/support/archive-writers.js';
import { listTree, mode, removeSandboxes, unpackFails, unpackOk } from '../../test/support/unpack-checks.js';

const ZIP = 'application/zip';

after(removeSandboxes);

test('a good zip: nested dirs, an executable keeps its exec bit, inner symlink, deflate', async () => {
  const { result, dest } = await unpackOk(makeZip([
    { name: 'ferry.json', body: '{"runtime":"exec"}' },
    { name: 'bin/', mode: 0o40700 },
    { name: 'bin/run', body: '#!/bin/sh\necho hi\n', mode: 0o104755 },
    { name: 'lib/deep/nested.txt', body: 'n'.repeat(5000), deflate: true },
    { name: 'lib/current', body: 'deep', mode: 0o120777 },
    { name: 'dos.txt', body: 'no unix mode', mode: 0 },
  ]), ZIP);
  assert.equal(result.entries, 6);
  assert.equal(result.bytes, 18 + 18 + 5000 + 12);
  assert.deepEqual(await listTree(dest), [
    'bin', 'bin/run', 'dos.txt', 'ferry.json', 'lib', 'lib/current', 'lib/deep', 'lib/deep/nested.txt',
  ]);
  assert.equal(await mode(join(dest, 'bin')), 0o755);
  assert.equal(await mode(join(dest, 'bin/run')), 0o755); // setuid stripped, exec kept
  assert.equal(await mode(join(dest, 'ferry.json')), 0o644);
  assert.equal(await mode(join(dest, 'dos.txt')), 0o644);
  assert.equal(await readFile(join(dest, 'lib/deep/nested.txt'), 'utf8'), 'n'.repeat(5000));
  assert.equal(await readlink(join(dest, 'lib/current')), 'deep');
});

test('an empty zip is fine', async () => {
  assert.deepEqual((await unpackOk(makeZip([]), ZIP)).result, { entries: 0, bytes: 0 });
});

test('zip names: .., absolute, backslash .. are unsafe paths', async () => {
  const outside = join(tmpdir(), `ferry-zip-escape-${process.pid}`);
  await unpackFails(makeZip([{ name: '../evil', body: 'x' }]), ZIP, 'archive-unsafe-path');
  await unpackFails(makeZip([{ name: 'ok', body: 'x' }, { name: 'a/../../evil', body: 'x' }]), ZIP, 'archive-unsafe-path');
  await unpackFails(makeZip([{ name: outside, body: 'x' }]), ZIP, 'archive-unsafe-path');
  await assert.rejects(stat(outside));
  await unpackFails(makeZip([{ name: '..\\evil', body: 'x' }]), ZIP, 'archive-unsafe-path');
});

test('zip symlinks: escaping, absolute, and writing through one', async () => {
  await unpackFails(makeZip([{ name: 'l', body: '../../etc', mode: 0o120777 }]), ZIP, 'archive-unsafe-link');
  await unpackFails(makeZip([{ name: 'a/l', body: '../..', mode: 0o120777 }]), ZIP, 'archive-unsafe-link');
  await unpackFails(makeZip([{ name: 'l', body: '/etc/passwd', mode: 0o120777 }]), ZIP, 'archive-unsafe-link');
  await unpackFails(makeZip([
    { name: 'l', body: 'sub', mode: 0o120777 },
    { name: 'l/x', body: 'x' },
  ]), ZIP, 'archive-unsafe-link');
});

test('zip special entries: fifo, devices, sockets', async () => {
  for (const m of [0o010644, 0o020644, 0o060644, 0o140755]) {
    const dest = await unpackFails(makeZip([{ name: 'special', mode: m }]), ZIP, 'archive-unsafe-entry');
    assert.deepEqual(await readdir(dest), []);
  }
});

test('zip with too many entries', async () => {
  const items = Array.from({ length: 4 }, (_, i) => ({ name: `f${i}`, body: 'x' }));
  await unpackFails(makeZip(items), ZIP, 'archive-too-many-entries', { maxEntries: 3, maxBytes: 1e6 });
});

test('zip bombs stop at the limit, whether the sizes are honest or lie', async () => {
  const lim = { maxEntries: 10, maxBytes: 1024 * 1024 };
  const zeros = Buffer.alloc(16 * 1024 * 1024);
  const honest = await unpackFails(makeZip([{ name: 'bomb', body: zeros, deflate: true }]), ZIP, 'archive-too-large', lim);
  assert.deepEqual(await readdir(honest), []); // refused before inflating anything
  const lying = await unpackFails(makeZip([{ name: 'bomb', body: zeros, deflate: true, declaredSize: 100 }]), ZIP, 'archive-too-large', lim);
  assert.ok((await lstat(join(lying, 'bomb'))).size <= lim.maxBytes);
  // Within the limit, a size that does not match the data is a corrupt archive.
  await unpackFails(makeZip([{ name: 'f', body: 'abcdef', declaredSize: 3 }]), ZIP, 'archive-invalid', lim);
});

test('corrupt and truncated zips', async () => {
  const text = Array.from({ length: 2000 }, (_, i) => i * 7919).join(',');
  const good = makeZip([{ name: 'a', body: 'hello' }, { name: 'b', body: text, deflate: true }]);
  await unpackFails(good.subarray(0, good.length - 30), ZIP, 'archive-invalid');
  await unpackFails(Buffer.from('definitely not a zip'.repeat(10)), ZIP, 'archive-invalid');
  await unpackFails(Buffer.alloc(0), ZIP, 'archive-invalid');
  const badData = Buffer.from(good);
  badData.fill(0xff, 100, 140); // inside b's deflate stream (it starts at byte 67)
  await unpackFails(badData, ZIP, 'archive-invalid');
});
