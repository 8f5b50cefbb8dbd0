// Package slots of the pre-booted pool on this host's real mounts (root only): a slot is a
// shared mount, a package bound onto it is read-only and reaches a sandbox started before it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { Mounter, mountdAvailable } from './mounter.js';
import { mountsUnder, slotRoot, Slots } from './slots.js';
import { findTool } from './network.js';
import { need } from '../../../test/support/must-work.js';
import { systemBindArgs } from './system-binds.js';

const root = slotRoot(`test-${process.pid}`);
const mounter = new Mounter();
after(async () => {
  await new Slots(root, mounter).cleanup();
  await mounter.close();
});

function ready(t: TestContext): boolean {
  return need(t, process.getuid?.() === 0, 'slots need root (mounts)') && need(t, mountdAvailable(), 'ferry-mountd is not built (node scripts/build-native.mjs)');
}

function pkg(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-slot-pkg-'));
  writeFileSync(join(dir, 'a.txt'), 'package content');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const mountLine = (point: string): string | undefined => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === point);

test('a slot is a shared mount; a package bound onto it is read-only; remove leaves nothing', async (t) => {
  if (!ready(t)) return;
  const slots = new Slots(root, mounter);
  const slot = await slots.create('s1');
  assert.match(mountLine(slot) ?? '', / shared:\d+/, 'the slot is shared: mounts on it propagate');
  const dir = pkg(t);
  await slots.fill(slot, dir);
  assert.equal(readFileSync(join(slot, 'a.txt'), 'utf8'), 'package content');
  // Even root cannot write through it: the mount itself is read-only.
  assert.throws(() => writeFileSync(join(slot, 'b.txt'), 'x'), (e: NodeJS.ErrnoException) => e.code === 'EROFS');
  assert.deepEqual(mountsUnder(root), [slot]);
  await slots.remove(slot);
  assert.deepEqual(mountsUnder(root), []);
  assert.equal(existsSync(slot), false);
  assert.equal(readFileSync(join(dir, 'a.txt'), 'utf8'), 'package content', 'the package itself is untouched');
});

test('a sandbox that bound the slot before the package arrived sees it, read-only', async (t) => {
  if (!ready(t)) return;
  const bwrap = findTool('bwrap');
  if (!need(t, !!bwrap, 'bwrap is not installed')) return;
  const slots = new Slots(root, mounter);
  const slot = await slots.create('s2');
  t.after(() => slots.remove(slot));
  const script = 'echo up; for i in $(seq 250); do [ -f /tmp/pkg/a.txt ] && break; sleep 0.02; done; cat /tmp/pkg/a.txt; echo; touch /tmp/pkg/x 2>&1 || echo refused';
  const args = ['--unshare-user', '--unshare-pid', ...systemBindArgs(), '--tmpfs', '/tmp', '--ro-bind', slot, '/tmp/pkg', '--', '/bin/sh', '-c', script];
  const child = spawn(bwrap!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let out = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (out += s));
  // Filled only once the sandbox runs with the empty slot at /tmp/pkg.
  const up = new Promise<void>((resolve) => child.stdout.setEncoding('utf8').on('data', (s: string) => ((out += s), out.includes('up') && resolve())));
  await Promise.race([up, exited]);
  await slots.fill(slot, pkg(t));
  const code = await exited;
  assert.equal(code, 0, out);
  assert.match(out, /^up\npackage content\n/);
  assert.match(out, /Read-only file system[\s\S]*refused/);
});

test('cleanup: slots an earlier server left mounted are unmounted and removed', async (t) => {
  if (!ready(t)) return;
  const stale = new Slots(root, mounter);
  await stale.fill(await stale.create('s3'), pkg(t));
  await stale.create('s4');
  assert.equal(mountsUnder(root).length, 2);
  const removed = await new Slots(root, mounter).cleanup();
  assert.equal(removed.length, 2);
  assert.deepEqual(mountsUnder(root), []);
  assert.equal(existsSync(root), false);
});

test('mountd refuses relative paths and reports failures per request', async (t) => {
  if (!ready(t)) return;
  await assert.rejects(mounter.request('unmount', 'relative/path'), /bad path/);
  await assert.rejects(mounter.request('bind-ro', '/nonexistent-ferry-src', '/nonexistent-ferry-dst'), /mount failed/);
  await mounter.request('unmount', '/nonexistent-ferry-dst'); // nothing mounted there: fine
});
