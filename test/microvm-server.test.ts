// The microvm tier through a real server: `--sandbox-tiers microvm` with its pool settings, a
// python function whose ferry.json asks for `"tier": "microvm"` deployed through the API (the
// deploy-time check runs in the tier), called, and answering from its own kernel; the API and the
// answer name the tier. One pooled VM (emulated here), booted while the server starts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFerry, disposeFerry, type Ferry } from './support/ferry.js';
import { ensureMicrovmRoot, microvmMissing } from './support/microvm-root.js';

const why = microvmMissing();
const skip = why && process.env['CI'] !== 'true' ? `the microvm tier cannot run here: ${why}` : false;
let ferry: Ferry | undefined;
let dataDir = '';

before(async () => {
  if (skip) return;
  dataDir = await mkdtemp(join(tmpdir(), 'ferry-microvm-server-'));
  // The server's root is `<data-dir>/microvm` (`ferry rootfs build`); the suite's is built once.
  await symlink(await ensureMicrovmRoot(), join(dataDir, 'microvm'));
  ferry = await startFerry({ dataDir, args: ['--driver', 'bwrap', '--sandbox-tiers', 'microvm', '--microvm-pool', '1', '--microvm-egress-pool', '0', '--pool-size', '0'] });
});
after(async () => {
  if (ferry) await disposeFerry(ferry);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test('a function asking for the microvm tier is deployed through the API and answers from its own kernel', { skip, timeout: 600_000 }, async () => {
  const f = ferry!;
  const { version } = await f.deploy('in-vm', {
    'ferry.json': JSON.stringify({ runtime: 'python', handler: 'main.py', tier: 'microvm' }),
    'main.py': 'def handler(req, ctx):\n    return {"cmdline": open("/proc/cmdline").read(), "cpus": open("/proc/cpuinfo").read().count("processor")}\n',
  });
  const res = await fetch(`${f.url}/fn/in-vm`);
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get('x-ferry-sandbox'), 'microvm');
  const body = (await res.json()) as { cmdline: string; cpus: number };
  // The guest's kernel was booted by QEMU with the tier's command line, not the host's.
  assert.notEqual(body.cmdline.trim(), readFileSync('/proc/cmdline', 'utf8').trim());
  assert.match(body.cmdline, /console=/);
  const v = (await (await f.api('GET', `/v1/functions/in-vm/versions/${version}`)).json()) as { sandbox?: string };
  assert.equal(v.sandbox, 'microvm');
  // A second call is served by the same warm guest.
  const again = await fetch(`${f.url}/fn/in-vm`);
  assert.equal(again.status, 200);
  assert.deepEqual(await again.json(), body);
});
