// A version stopped (its function deleted) while one of its instances is still starting: the
// instance must not outlive it, even under the process driver, which has nothing else that ends
// it once the server is gone. (An instance still being set up when its group goes, before its
// process exists, is stopped once it is ready: scheduler.ts; that window is too short to hit
// from here.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { disposeFerry, startFerry } from './support/ferry.js';
import { manifest } from './support/fn.js';
import { until } from './support/helpers.js';
import { alive } from './support/procs.js';


test('an instance still starting when its function is deleted is stopped, not left running', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-starting-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const ferry = await startFerry({ args: ['--driver', 'process', '--unsandboxed', '--pool-size', '0'] });
  t.after(() => disposeFerry(ferry));
  const pidFile = join(dir, 'pid');
  await ferry.deploy('slowstart', {
    'ferry.json': manifest({ runtime: 'node', handler: 'index.mjs', env: { PID_FILE: pidFile } }),
    // Says its pid, then takes its time to load: the start is in progress for 3 s.
    'index.mjs': `import { writeFileSync } from 'node:fs';\nwriteFileSync(process.env.PID_FILE, String(process.pid));\nawait new Promise((r) => setTimeout(r, 3000));\nexport default () => new Response('started');\n`,
  });
  // The deploy-time check loaded the module too, in a process of its own that has ended.
  await rm(pidFile, { force: true });
  const call = fetch(`${ferry.url}/fn/slowstart`).then((r) => r.status);
  const pid = Number(await until(async () => (await readFile(pidFile, 'utf8').catch(() => '')).trim(), 15_000));
  assert.ok(pid > 0 && alive(pid), 'the instance is starting');
  assert.equal((await ferry.api('DELETE', '/v1/functions/slowstart')).status, 204);
  assert.notEqual(await call, 200, 'the call did not get an instance of a deleted function');
  // Once its start would have ended, it is stopped (the grace is 5 s by default).
  assert.equal(await until(async () => (alive(pid) ? '' : 'gone'), 15_000), 'gone', `instance ${pid} still runs`);
});
