// The driver conformance suite (sandbox/driver.suite.ts) for the gvisor driver, on a data dir of
// its own, with `host` networks allowed so that policy is checked too.
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
