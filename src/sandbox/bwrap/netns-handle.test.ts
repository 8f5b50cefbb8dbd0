import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { fstatSync, readlinkSync } from 'node:fs';
import { childNetnsPath, NetnsHandle } from './netns-handle.js';
import { need } from '../../../test/support/netns.js';

const missing = process.getuid?.() !== 0 ? 'a network namespace of its own needs root' : undefined;

test("the server's own namespace is refused: a reused pid must never configure the host", () => {
  assert.throws(() => NetnsHandle.open(process.pid), /own network namespace/);
});

test('the handle keeps naming the namespace after its process ended; close waits for a use', async (t) => {
  if (!need(t, missing)) return;
  const p = spawn('unshare', ['--net', '--', 'sh', '-c', 'echo ready; read x'], { stdio: ['pipe', 'pipe', 'inherit'] });
  await once(p.stdout!, 'data');
  const ns = NetnsHandle.open(p.pid!);
  const inode = readlinkSync(`/proc/${p.pid}/ns/net`);
  p.stdin!.end();
  await once(p, 'exit');
  // The process is gone; a child given the descriptor still enters that namespace.
  let closedDuring = true;
  await ns.use(async (fd) => {
    ns.close(); // waits for this use
    const r = spawnSync('readlink', [childNetnsPath(0)], { stdio: ['ignore', 'pipe', 'pipe', fd], encoding: 'utf8' });
    assert.equal(r.stdout.trim(), inode);
    closedDuring = (() => {
      try {
        fstatSync(fd);
        return false;
      } catch {
        return true;
      }
    })();
  });
  assert.equal(closedDuring, false, 'the descriptor stayed open while in use');
  assert.throws(() => fstatSync(ns.fd), /EBADF/, 'closed once the use ended');
  await assert.rejects(ns.use(async () => {}), /released/);
});
