import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFerry, disposeFerry } from './support/ferry.js';

/** Whether a process exists (and is not a zombie). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return true;
}

test('instances a killed server left running are stopped by the next start', { timeout: 60_000 }, async (t) => {
  const first = await startFerry();
  t.after(() => disposeFerry(first));
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

  await first.stop('SIGKILL');
  const second = await startFerry({ dataDir: first.dataDir });
  t.after(() => second.stop());
  const deadline = Date.now() + 10_000;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(alive(pid), false, `instance pid ${pid} of the killed server must be stopped by the next start`);
  assert.ok(second.output.some((l) => l.includes('left running by a previous server')), 'the start says so');
});
