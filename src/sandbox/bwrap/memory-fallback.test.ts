// The memory bound of each runtime where no memory cgroup is writable: the choice, and real
// sandboxes started by the driver on a host that pretends to have no memory cgroup.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { defaultLimits, defaultSandbox, type RootfsNeed, type RuntimeName } from '../../core/index.js';
import { createBwrapDriver } from './bwrap-driver.js';
import { detectCgroups, type CgroupHost } from './cgroups.js';
import { writeEtcFiles } from './etc-files.js';
import { helperAvailable, helperExecArgv, helperPath } from './helper.js';
import { fallbackRlimits, instanceLimits, memoryFallbackNotice } from './memory-fallback.js';
import { findTool } from './network.js';
import { SeccompCompiler } from './seccomp.js';
import { need } from '../../../test/support/must-work.js';
import { systemBindArgs } from './system-binds.js';

const MiB = 1024 * 1024;

test('the choice: node gets no RLIMIT_AS; python, exec, http and an unnamed runtime get 4 x memoryMb', () => {
  assert.deepEqual(fallbackRlimits('node', 256), []);
  for (const r of ['python', 'exec', 'http', undefined] as Array<RuntimeName | undefined>) assert.deepEqual(fallbackRlimits(r, 64), [`as=${256 * MiB}`], String(r));
  assert.match(memoryFallbackNotice, /python, exec and http instances get RLIMIT_AS of 4 x memoryMb/);
  assert.match(memoryFallbackNotice, /node instances get no RLIMIT_AS/);
});

/** A cgroup host with cgroups for cpu and pids only, as where memory is not writable. */
function withoutMemory(host: CgroupHost, created: string[] = []): CgroupHost {
  return {
    controllers: { ...host.controllers, memory: { ...host.controllers.memory, enforceable: false, detail: 'pretended unwritable' } },
    unenforced: () => ['memory', ...host.unenforced().filter((c) => c !== 'memory')],
    create: async (id, l, opts) => {
      if (!opts?.allowFallback) throw new Error('the fallback must be asked for');
      const cg = await host.create(id, { cpu: l.cpu, pids: l.pids });
      created.push(...cg.dirs);
      return { ...cg, unenforced: ['memory'] };
    },
    cleanupStale: () => host.cleanupStale(),
  };
}

test('instanceLimits: rlimits only where memory has no cgroup, chosen by the runtime', async () => {
  const fake = (unenforced: Array<'memory'>): CgroupHost => ({
    controllers: {} as CgroupHost['controllers'],
    unenforced: () => unenforced,
    create: async () => ({ dirs: ['/cg/x'], unenforced, oomKilled: async () => false, remove: async () => {}, update: async () => {}, memoryBytes: async () => undefined }),
    cleanupStale: async () => [],
  });
  const l = { memoryMb: 64, cpu: 1, pids: 32 };
  assert.deepEqual((await instanceLimits(fake(['memory']), 'i1', l, 'python')).rlimits, [`as=${256 * MiB}`]);
  assert.deepEqual((await instanceLimits(fake(['memory']), 'i2', l, 'node')).rlimits, []);
  assert.deepEqual((await instanceLimits(fake([]), 'i3', l, 'python')).rlimits, []);
  assert.deepEqual((await instanceLimits(fake([]), 'i4', l, 'python')).dirs, ['/cg/x']);
});

test('why node is left out: under 4 x 64 MB of address space Node cannot even start', (t) => {
  if (!need(t, helperAvailable(), 'the sandbox helper is not built (node scripts/build-native.mjs)')) return;
  const argv = helperExecArgv({ rlimits: { as: 256 * MiB } }, [process.execPath, '-e', 'console.log("ran")']);
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  assert.notEqual(r.stdout.trim(), 'ran');
  assert.match(r.stderr, /Fatal process OOM|Failed to reserve/);
});

// The real interpreter, not a pyenv shell shim.
const python = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout?.trim() ?? '';
// The driver resolves the `python3` need itself; given the interpreter found here, it does not ask a
// pyenv shim again (slow in the emulated VM this file also runs in, test/cgroup-v2.test.ts).
if (python && !process.env['FERRY_PYTHON']) process.env['FERRY_PYTHON'] = python;
const scope = `test-mf-${process.pid}`;
const cgroups = detectCgroups({ scope });
const work = mkdtempSync(join(tmpdir(), 'ferry-memfb-'));
after(async () => {
  await cgroups.cleanupStale().catch(() => {});
  // The scope's own directories go too (a server keeps its own; this test's are spent).
  for (const c of Object.values(cgroups.controllers)) {
    try {
      if (c.base) rmdirSync(join(c.base, 'ferry', scope));
    } catch {
      /* never made (memory is not used here), or shared with another hierarchy's entry */
    }
  }
  rmSync(work, { recursive: true, force: true });
});

function ready(t: TestContext): boolean {
  const bwrap = findTool('bwrap');
  if (!need(t, helperAvailable(), 'the sandbox helper is not built (node scripts/build-native.mjs)')) return false;
  if (!need(t, !!bwrap && spawnSync(bwrap, ['--unshare-user', ...systemBindArgs(), 'true']).status === 0, 'bwrap cannot create a user namespace here')) return false;
  if (!need(t, !!python, 'python3 is not installed')) return false;
  return (['cpu', 'pids'] as const).every((c) => need(t, cgroups.controllers[c].enforceable, `no writable ${c} cgroup here: ${cgroups.controllers[c].detail}`));
}

/** Runs argv in a real sandbox of the driver, as `runtime`, with memoryMb 64 and no memory cgroup. */
async function sandboxed(runtime: RuntimeName, argv: string[], rootfs: RootfsNeed[]): Promise<{ code: number | null; out: string; err: string }> {
  const id = `m${runtime}${Math.random().toString(36).slice(2, 8)}`;
  const runDir = join(work, id);
  const pkg = join(work, 'pkg');
  mkdirSync(runDir);
  mkdirSync(pkg, { recursive: true });
  const seccomp = new SeccompCompiler(join(work, 'seccomp'));
  const host = withoutMemory(cgroups);
  const driver = createBwrapDriver({
    bwrap: findTool('bwrap')!,
    helper: helperPath(),
    seccomp: (p) => seccomp.compile(p),
    limits: (i, l, rt) => instanceLimits(host, i, l, rt),
    network: () => ({ prefix: [], bwrapArgs: ['--unshare-net'], binds: [] }),
    // Ferry's own uid: the interpreters here may live where only it can read (e.g. /root/.pyenv).
    sandboxUser: undefined,
    bindable: [],
    dataDir: join(work, 'data'),
    etcFiles: writeEtcFiles(join(work, 'etc')),
    unenforced: [],
    bindSource: (p) => p,
  });
  const proc = await driver.spawn({
    instanceId: id,
    argv,
    env: {},
    packageDir: pkg,
    runDir,
    cwd: '/pkg',
    limits: { ...defaultLimits, memoryMb: 64, pids: 64 },
    sandbox: { ...defaultSandbox, network: 'none' },
    rootfs,
    runtime,
  });
  let out = '';
  let err = '';
  proc.child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  proc.child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  const [code] = await new Promise<[number | null]>((r) => proc.child.once('close', (c) => r([c])));
  await proc.stop(100);
  return { code, out: out.trim(), err: err.trim() };
}

const addressLimit = "open('/proc/self/limits').read().split('Max address space')[1].split()[0]";

test('python under the fallback: RLIMIT_AS of 4 x memoryMb, an allocation past it is a MemoryError', async (t) => {
  if (!ready(t)) return;
  const src = `limit = ${addressLimit}
try:
    x = bytearray(400 * 1024 * 1024)
    print(limit, 'allocated')
except MemoryError:
    print(limit, 'MemoryError')`;
  const r = await sandboxed('python', [python, '-c', src], [{ kind: 'python3' }]);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, `${256 * MiB} MemoryError`);
});

test('node under the fallback: no RLIMIT_AS, so it starts and allocates with memoryMb 64', async (t) => {
  if (!ready(t)) return;
  const src = `const limit = require('fs').readFileSync('/proc/self/limits', 'utf8').split('Max address space')[1].trim().split(/\\s+/)[0];
console.log(limit, Buffer.alloc(16 * 1024 * 1024).length)`;
  const r = await sandboxed('node', [process.execPath, '--max-old-space-size=48', '-e', src], [{ kind: 'node' }]);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, `unlimited ${16 * MiB}`);
});
