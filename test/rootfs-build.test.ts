// `ferry rootfs build --from-image`: the microvm guests' root made from a container image built
// here (a one-layer `docker save` archive of a static busybox tree, no daemon, no network), read
// by Ferry's image code, with Ferry's Node, agent and shims under /.ferry; an image whose layer
// names a path outside the root is refused and the root built before stays. The guest is not
// booted here (image versions in a guest: test/microvm-server.test.ts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { findGuestKernel } from '../src/rootfs/index.js';
import { readRootfs, rootfsFiles, staleFerryFiles } from '../src/sandbox/microvm/index.js';
import { hostLibraries } from '../src/sandbox/bwrap/host-libraries.js';
import { agentPath, runtimeDir } from '../src/sandbox/microvm/guest-layout.js';
import { runCli } from './support/helpers.js';
import { busyboxTree, imagePackage } from './support/image-trees.js';
import { busyboxLayer, dockerSaveArchive } from './support/images.js';

function missing(): string | undefined {
  try {
    findGuestKernel();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
const why = missing();
const skip = why && process.env['CI'] !== 'true' ? `no microvm kernel here: ${why}` : false;

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-rootfs-build-'));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

test("--from-image <archive>: the image's tree is the root, Ferry's Node (through the host's loader), agent and busybox under /.ferry", { skip }, async () => {
  const archive = join(dir, 'image.tar');
  await writeFile(archive, (await imagePackage(busyboxTree({ 'srv/note.txt': 'from the image\n' }), {})).archive);
  const dataDir = join(dir, 'data');
  const r = await runCli(['rootfs', 'build', '--from-image', archive, '--data-dir', dataDir]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /built .*microvm \(image mode, from archive@sha256:[0-9a-f]{64}, kernel /);
  const out = join(dataDir, 'microvm');
  const m = readRootfs(out);
  assert.ok(m, 'a manifest the driver reads');
  assert.equal(staleFerryFiles(out), undefined, "the root carries this build's agent and runtime");
  // A shim of another Ferry in the root is stale, as the agent would be.
  const shim = join(rootfsFiles(out).root, `.ferry${runtimeDir}`, 'shim', 'frame-server.js');
  const kept = readFileSync(shim);
  await writeFile(shim, Buffer.concat([kept, Buffer.from('\n// another build\n')]));
  assert.equal(staleFerryFiles(out), 'its runtime file shim/frame-server.js is not this Ferry\'s');
  await writeFile(shim, kept);
  assert.equal(staleFerryFiles(out), undefined);
  const loader = hostLibraries(process.execPath)[0]!;
  assert.deepEqual([m.mode, m.node, m.nodeCommand, m.python], ['image', `/.ferry${process.execPath}`, [`/.ferry/lib/${loader.name}`, '--library-path', '/.ferry/lib', `/.ferry${process.execPath}`], undefined]);
  const root = rootfsFiles(out).root;
  // The image's own files, untouched; Ferry's beside them.
  assert.equal(readFileSync(join(root, 'srv/note.txt'), 'utf8'), 'from the image\n');
  assert.match(readFileSync(join(root, 'etc/passwd'), 'utf8'), /^app:x:1234:2345:/m);
  assert.ok(statSync(join(root, 'bin/busybox')).isFile());
  for (const p of [`.ferry${process.execPath}`, `.ferry/lib/${loader.name}`, `.ferry${agentPath}`, '.ferry/usr/bin/busybox']) assert.ok(statSync(join(root, p)).isFile(), p);
  for (const d of ['proc', 'sys', 'dev', 'tmp', 'run', 'pkg']) assert.ok(statSync(join(root, d)).isDirectory(), d);
  assert.equal(readFileSync(join(root, 'etc/inittab'), 'utf8'), `::once:/.ferry/usr/bin/busybox sh -c 'FERRY_BUSYBOX=/.ferry/usr/bin/busybox ${m.nodeCommand!.join(' ')} /.ferry${agentPath} > /dev/console 2>&1; /.ferry/usr/bin/busybox poweroff -f'\n`);
  assert.ok(existsSync(rootfsFiles(out).initrd) && existsSync(rootfsFiles(out).vmlinuz), 'the initramfs and the kernel');
  assert.ok(!existsSync(join(dataDir, 'images', `spool-rootfs-${process.pid}`)), 'no scratch left');

  // A layer naming a path outside the root: refused, nothing written there, the root above stays.
  const evil = join(dir, 'evil.tar');
  await writeFile(evil, dockerSaveArchive({ layers: [busyboxLayer(), { items: [{ name: `../../${basename(dir)}-escaped`, body: 'out' }] }] }));
  const bad = await runCli(['rootfs', 'build', '--from-image', evil, '--data-dir', dataDir]);
  assert.notEqual(bad.code, 0, bad.stdout);
  assert.match(bad.stderr, /layer .*\.\.\/\.\.\//);
  assert.ok(!existsSync(join(dirname(dir), `${basename(dir)}-escaped`)));
  assert.equal(readRootfs(out)?.builtAt, m.builtAt, 'the root built before is still there');
});

test('the three modes exclude each other, with a clear error', { skip }, async () => {
  const r = await runCli(['rootfs', 'build', '--from-image', 'x.tar', '--debian', 'bookworm', '--data-dir', join(dir, 'none')]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /--from-image and --debian are two ways to make the root: give one/);
  const m = await runCli(['rootfs', 'build', '--mirror', 'http://deb.debian.org/debian', '--data-dir', join(dir, 'none')]);
  assert.match(m.stderr, /--mirror and --include go with --debian/);
});
