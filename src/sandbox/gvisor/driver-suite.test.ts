// The driver conformance suite (sandbox/driver.suite.ts) for the gvisor driver, on a data dir of
// its own, with `host` networks allowed so that policy is checked too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
