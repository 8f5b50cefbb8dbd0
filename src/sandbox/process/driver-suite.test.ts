// The driver conformance suite (sandbox/driver.suite.ts) for the process driver: the parts that
// apply to a driver that does not isolate (lifecycle, channel, HELLO, logs, stop under load).
import { pythonRuntime } from '../../runtime/python/python-runtime.js';
import { driverSuite } from '../driver.suite.js';
import { processDriver } from './process-driver.js';

driverSuite({
  name: 'process',
  skip: false,
  isolated: false,
  python: pythonRuntime,
  open: async () => ({ driver: processDriver, close: async () => {} }),
});
