// The driver conformance suite (sandbox/driver.suite.ts) for the gvisor driver, on a data dir of
// its own, with `host` networks allowed so that policy is checked too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultLimits, defaultSandbox } from '../../core/index.js';
import { gvisorSupport } from '../../../test/support/gvisor.js';
import { pythonRuntime } from '../../runtime/python/python-runtime.js';
import { driverSuite } from '../driver.suite.js';
import { makeGvisorDriver } from './index.js';

const support = await gvisorSupport();

driverSuite({
  name: 'gvisor',
  skip: support.ok ? false : `the gvisor sandbox cannot run here: ${support.why}`,
  isolated: true,
  python: pythonRuntime,
  open: async (dataDir) => {
    const driver = await makeGvisorDriver({ dataDir, bindable: ['/usr/share'], allowHostNetwork: true, egressAllow: [], sandboxUid: 2_000_000 });
    await driver.cleanup();
    return { driver, close: () => driver.close() };
  },
});

// The pre-booted pool needs a package handed to a sandbox already running; gVisor's gofer opened
// each mount source when the sandbox started, so a package mounted there later is never seen.
// The driver offers no pool and says why (the server then starts every gvisor instance cold).
test('gvisor: no pre-booted pool, and the driver says why', { skip: support.ok ? false : support.why }, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'ferry-gvisor-pool-'));
  const driver = await makeGvisorDriver({ dataDir, bindable: [], allowHostNetwork: false, egressAllow: [], sandboxUid: 2_000_000 });
  try {
    assert.equal(driver.prestart, undefined);
    assert.equal(driver.handOff, undefined);
    assert.match(driver.poolUnavailable?.() ?? '', /gofer/);
  } finally {
    await driver.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

// The environment holds secrets and the instance's token: it reaches runsc in the bundle's
// config.json (0600, in a 0700 directory), which goes once runsc has read it, and never appears
// on a command line.
test('gvisor: the environment is in no command line, and its config.json is gone once the instance runs', { skip: support.ok ? false : support.why }, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'ferry-gvisor-env-'));
  await chmod(dataDir, 0o711);
  const driver = await makeGvisorDriver({ dataDir, bindable: [], allowHostNetwork: false, egressAllow: [], sandboxUid: 2_000_000 });
  const runDir = join(dataDir, 'run-env');
  await mkdir(runDir, { mode: 0o700 });
  const secret = `secret-${randomUUID()}`;
  const id = `env-${randomUUID().slice(0, 8)}`;
  const proc = await driver.spawn({
    instanceId: id, argv: ['/usr/bin/python3', '-c', 'import os, time\nprint(len(os.environ["X_SECRET"]), flush=True)\ntime.sleep(60)'], env: { X_SECRET: secret },
    packageDir: runDir, runDir, cwd: '/', limits: defaultLimits, sandbox: { ...defaultSandbox, network: 'none' }, rootfs: [],
  });
  try {
    let out = '';
    proc.child.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
    const bundle = join(dataDir, 'sandbox', 'gvisor', 'bundles', id);
    for (let i = 0; i < 600 && !out.includes(String(secret.length)); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(out, new RegExp(`^${secret.length}$`, 'm'), 'the instance got its environment');
    assert.equal((await stat(bundle)).mode & 0o777, 0o700);
    assert.deepEqual(await readdir(bundle).then((n) => n.filter((f) => f === 'config.json')), [], 'config.json is removed once read');
    for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      assert.ok(!cmdline.includes(secret), `pid ${pid} shows the secret on its command line`);
    }
  } finally {
    await proc.stop(500);
    await driver.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
