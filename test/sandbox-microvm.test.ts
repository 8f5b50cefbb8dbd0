// The driver conformance suite (sandbox/driver.suite.ts) for the microvm driver: real QEMU
// microvm guests (emulated where there is no /dev/kvm, as here), booted ahead into a pool of
// two (FERRY_TEST_MICROVM_POOL), so each case takes a booted VM while the next one boots. The
// root is built once per checkout (`ferry rootfs build`, host mode) into FERRY_TEST_MICROVM_ROOT
// and rebuilt when its agent is not this build's or an older builder made it. Instances start
// with `none` (a VM without a NIC); the `egress` case boots its own VM (egress VMs are a pool of
// their own, empty here: one more VM booted ahead would cost the suite a boot it never uses) in a
// namespace linked to the shared egress router; `host` is refused.
// Every case of the suite runs; none is left out for time.
import { makeMicrovmDriver } from '../src/sandbox/microvm/index.js';
import { pythonRuntime } from '../src/runtime/python/python-runtime.js';
import { driverSuite } from '../src/sandbox/driver.suite.js';
import { ensureMicrovmRoot, microvmMissing } from './support/microvm-root.js';

const why = microvmMissing();

driverSuite({
  name: 'microvm',
  skip: why && process.env['CI'] !== 'true' ? `the microvm tier cannot run here: ${why}` : false,
  isolated: true,
  python: pythonRuntime,
  sandboxDefaults: { network: 'none' },
  networks: ['none', 'egress'],
  readyMs: 240_000,
  open: async (dataDir) => {
    const rootfsDir = await ensureMicrovmRoot();
    const driver = await makeMicrovmDriver({ dataDir, rootfsDir, sandboxUid: 2_000_000, poolSize: Number(process.env['FERRY_TEST_MICROVM_POOL']) || 2, bootTimeoutMs: 240_000 });
    return { driver, close: () => driver.close() };
  },
});
