// The driver conformance suite (sandbox/driver.suite.ts) for the bwrap driver, on a data dir of
// its own, with `host` networks allowed so that policy is checked too.
import { sandboxSupport } from '../../../test/support/sandbox.js';
import { pythonRuntime } from '../../runtime/python/python-runtime.js';
import { driverSuite } from '../driver.suite.js';
import { makeBwrapDriver } from './index.js';

const support = await sandboxSupport();

driverSuite({
  name: 'bwrap',
  skip: support.ok ? false : `the bwrap sandbox cannot run here: ${support.why}`,
  isolated: true,
  python: pythonRuntime,
  open: async (dataDir) => {
    const driver = await makeBwrapDriver({ dataDir, bindable: ['/usr/share'], allowHostNetwork: true, egressAllow: [], sandboxUid: 2_000_000 });
    return { driver, close: () => driver.close() };
  },
});
