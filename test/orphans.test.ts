import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { startFerry, disposeFerry, type Ferry } from './support/ferry.js';
import { processesMentioning, procState } from './support/procs.js';

/** Whether a process exists (and is not a zombie). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return true;
}

test('instances a killed server left running are stopped by the next start (or died with it)', { timeout: 60_000 }, async (t) => {
  const first = await startFerry();
  let second: Ferry | undefined;
  // The second server runs in the first one's data dir: it stops before that dir is removed
  // (its run dirs are mounts as root).
  t.after(async () => {
    await second?.stop();
    await disposeFerry(first);
  });
  // An http function: its process is the user's own server, with no shim to notice the loss.
  await first.deploy('stray', {
    'ferry.json': JSON.stringify({ runtime: 'http', command: ['node', 'server.js'] }),
    'server.js': "require('http').createServer((q, s) => s.end(String(process.pid))).listen(process.env.PORT, '127.0.0.1');\n",
  });
  const res = await fetch(`${first.url}/fn/stray`);
  assert.equal(res.status, 200);
  // The host pid of the instance (inside a sandbox the process sees itself as pid 1).
  const listed = (await (await first.api('GET', '/v1/functions/stray/instances')).json()) as { instances: Array<{ pid: number }> };
  const pid = listed.instances[0]!.pid;
  assert.ok(alive(pid), 'the instance runs');
  // As root, its egress goes through the server's shared router: a namespace holder and the
  // slirp4netns attached to it, both the server's children.
  const parent = (p: number): number => Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1]);
  const router = process.getuid?.() === 0 ? processesMentioning('ferry-egress-router').filter((p) => parent(p.pid) === first.proc.pid).map((p) => p.pid) : [];
  const stacks = router.flatMap((h) => processesMentioning('slirp4netns').filter((p) => p.cmdline.split(' ').includes(String(h))).map((p) => p.pid));
  if (process.getuid?.() === 0) assert.equal(stacks.length, 1, 'one shared router with its slirp4netns');

  await first.stop('SIGKILL');
  // The router goes with the server: its pipes close, it has nothing to wait for.
  const gone = (p: number): boolean => procState(p) === undefined || procState(p) === 'Z';
  const until = Date.now() + 5000;
  while (![...router, ...stacks].every(gone) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual([...router, ...stacks].filter((p) => !gone(p)), [], 'the shared router does not outlive a killed server');
  // bwrap's --die-with-parent usually takes the instance down with the server; whatever is still
  // running (not a zombie) now was left behind, and the next start must find and say so.
  const state = procState(pid);
  const leftRunning = state !== undefined && state !== 'Z';
  second = await startFerry({ dataDir: first.dataDir });
  const deadline = Date.now() + 10_000;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(alive(pid), false, `instance pid ${pid} of the killed server must be stopped by the next start`);
  if (leftRunning) assert.ok(second.output.some((l) => l.includes('left running by a previous server')), 'the start says so');
});
