// Naming refused syscalls: the record parser and the per-instance rate limit on their own, then
// the whole path for real: filters compiled by the helper, the logged one loaded inside bwrap by
// the helper's seccomp-exec, the kernel's audit records read by its seccomp-log.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test, type TestContext } from 'node:test';
import type { SeccompPolicy } from '../../core/index.js';
import { helperAvailable, helperPath, resolveSyscalls } from './helper.js';
import { readChildPid } from './sandbox-process.js';
import { SeccompCompiler } from './seccomp.js';
import { checkSeccompLog, InstanceRefusals, parseRefusal, REFUSALS_PER_SECOND, SeccompLog, type Refusal } from './seccomp-log.js';
import { need } from '../../../test/support/must-work.js';
import { systemBindArgs } from './system-binds.js';

const work = mkdtempSync(join(tmpdir(), 'ferry-seccomp-log-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const probeSrc = fileURLToPath(new URL('../../../../native/probes/try-syscall.c', import.meta.url));
const probe = join(work, 'try-syscall');
const probeBuilt = spawnSync('gcc', ['-O2', '-o', probe, probeSrc, '-lseccomp']).status === 0;
const bwrapWorks = spawnSync('bwrap', ['--unshare-user', ...systemBindArgs(), 'true']).status === 0;
const logCheck = await checkSeccompLog();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const refusal = (over: Partial<Refusal> = {}): Refusal => ({ pid: 4242, action: 'errno', nr: 101, name: 'ptrace', comm: 'python3', cgroups: [], ...over });

test('parseRefusal: the helper line, and nothing that is not one', () => {
  assert.deepEqual(parseRefusal('4242\terrno\t101\tptrace\tpython3\t/,/ferry/abc/i1'), refusal({ cgroups: ['/', '/ferry/abc/i1'] }));
  assert.deepEqual(parseRefusal('4242\tkill\t63\tuname\tnode\t-'), refusal({ action: 'kill', nr: 63, name: 'uname', comm: 'node' }));
  for (const bad of ['', 'ready', '4242\terrno\t101\tptrace\tpython3', 'x\terrno\t101\tptrace\tp\t-', '0\terrno\t1\ta\tb\t-', '1\terrno\t-1\ta\tb\t-']) {
    assert.equal(parseRefusal(bad), undefined, JSON.stringify(bad));
  }
});

test('InstanceRefusals: lines wait for a listener, then at most the per-second limit, then one count', async () => {
  const lines: string[] = [];
  const inst = new InstanceRefusals(() => {});
  inst.add(refusal());
  inst.onLine((l) => lines.push(l));
  assert.deepEqual(lines, ['seccomp refused ptrace (syscall 101) with EPERM in python3'], 'the early line is handed over');
  for (let i = 0; i < 30; i++) inst.add(refusal({ name: 'getsid', nr: 124 }));
  assert.equal(lines.length, REFUSALS_PER_SECOND);
  await sleep(1100);
  assert.equal(lines.length, REFUSALS_PER_SECOND + 1);
  assert.match(lines.at(-1)!, /^seccomp refused 21 more syscalls in that second/);
  inst.add(refusal());
  assert.equal(lines.length, REFUSALS_PER_SECOND + 2, 'a new second, new lines');
  inst.close();
  inst.add(refusal());
  assert.equal(lines.length, REFUSALS_PER_SECOND + 2, 'nothing after close');
});

test("InstanceRefusals: the runtime's kill is remembered, a child's is not; killedBy waits for it", async () => {
  const lines: string[] = [];
  const inst = new InstanceRefusals(() => {});
  inst.runtimePid = 10;
  inst.onLine((l) => lines.push(l));
  inst.add(refusal({ pid: 11, action: 'kill', comm: 'sh' }));
  assert.equal(await inst.killedBy(50), undefined);
  const waiting = inst.killedBy(2000);
  inst.add(refusal({ pid: 10, action: 'kill', name: 'uname', nr: 63 }));
  assert.equal(await waiting, 'uname (63)');
  assert.deepEqual(lines, ['seccomp killed sh, a process of the instance: syscall ptrace (101)', 'seccomp killed the instance (python3): syscall uname (63)']);
  const closed = new InstanceRefusals(() => {});
  const pending = closed.killedBy(5000);
  closed.close();
  assert.equal(await pending, undefined, 'closing answers the waiters');
});

function ready(t: TestContext): boolean {
  if (!need(t, helperAvailable(), 'the sandbox helper is not built (node scripts/build-native.mjs; needs gcc, libseccomp-dev)')) return false;
  if (!need(t, bwrapWorks, 'bwrap cannot create a user namespace here')) return false;
  if (!need(t, probeBuilt, 'cannot build the syscall probe (gcc, libseccomp-dev)')) return false;
  return need(t, logCheck.ok, `refused syscalls cannot be named here: ${logCheck.detail} (${logCheck.fix})`);
}

let log: SeccompLog | undefined;
after(() => log?.close());
const compiler = new SeccompCompiler(join(work, 'cache'));

/** Runs the probe as the driver runs a runtime (info fd 3, quiet filter to bwrap, logged one to the helper) and collects its lines. */
async function probeRun(id: string, policy: SeccompPolicy, args: string[]): Promise<{ out: string; lines: string[]; killedBy: string | undefined }> {
  log ??= await SeccompLog.start();
  assert.equal(log.unavailable, undefined);
  const filters = await compiler.compile(policy);
  const fds = [openSync(filters.quiet, 'r'), openSync(filters.logged, 'r')];
  const argv = ['--unshare-user', '--unshare-pid', '--as-pid-1', '--die-with-parent', ...systemBindArgs([work, dirname(helperPath())]), '--dev', '/dev', '--proc', '/proc', '--info-fd', '3', '--seccomp', '4', '--', helperPath(), 'seccomp-exec', '--fd', '5', '--', probe, ...args];
  const child = spawn('bwrap', argv, { stdio: ['ignore', 'pipe', 'pipe', 'pipe', ...fds] });
  for (const fd of fds) closeSync(fd);
  const refusals = log.watch(id, readChildPid(child));
  const lines: string[] = [];
  refusals.onLine((l) => lines.push(l));
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (out += s));
  await new Promise((r) => child.once('close', r));
  const killedBy = await refusals.killedBy(2000);
  await sleep(300); // records come after the exit at times
  refusals.close();
  return { out: out.trim(), lines, killedBy };
}

test('for real: an EPERM refusal is named, the call still fails, and clone3 stays quiet', async (t) => {
  if (!ready(t)) return;
  const nr = (await resolveSyscalls(['getppid'])).get('getppid');
  const r = await probeRun('sl-errno', { mode: 'deny', syscalls: ['getppid'] }, ['getppid']);
  assert.equal(r.out, 'errno 1 EPERM');
  assert.deepEqual(r.lines, [`seccomp refused getppid (syscall ${nr}) with EPERM in try-syscall`]);
  // glibc's clone3-then-clone probe on every thread must not write an audit record each time.
  const q = await probeRun('sl-clone3', { mode: 'deny', syscalls: [] }, ['clone3']);
  assert.match(q.out, /ENOSYS/);
  assert.deepEqual(q.lines, []);
  // The default deny list is logged too.
  const d = await probeRun('sl-default', { mode: 'deny', syscalls: [] }, ['ptrace']);
  assert.equal(d.out, 'errno 1 EPERM');
  assert.match(d.lines.join('\n'), /^seccomp refused ptrace \(syscall \d+\) with EPERM in try-syscall$/);
});

test('for real: a kill names the syscall, also in allow mode', async (t) => {
  if (!ready(t)) return;
  const nr = (await resolveSyscalls(['getppid'])).get('getppid');
  const k = await probeRun('sl-kill', { mode: 'deny', syscalls: ['getppid'], action: 'kill' }, ['getppid']);
  assert.equal(k.killedBy, `getppid (${nr})`);
  assert.deepEqual(k.lines, [`seccomp killed the instance (try-syscall): syscall getppid (${nr})`]);
  // chroot is outside the runtime baseline: refused by the allow list's default action.
  const a = await probeRun('sl-allow', { mode: 'allow', syscalls: [] }, ['chroot']);
  assert.equal(a.out, 'errno 1 EPERM');
  assert.match(a.lines.join('\n'), /^seccomp refused chroot \(syscall \d+\) with EPERM in try-syscall$/);
});
