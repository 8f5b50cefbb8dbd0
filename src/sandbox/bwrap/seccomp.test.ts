// Seccomp filters, compiled for real by the native helper and enforced for real by bwrap: a
// small C probe (native/probes/try-syscall.c, built here with gcc) makes the syscalls.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import type { SeccompPolicy } from '../../core/index.js';
import { FerryError } from '../../errors/index.js';
import { helperAvailable, helperPath } from './helper.js';
import { SeccompCompiler, validateSyscallNames, type SeccompFilters } from './seccomp.js';
import { defaultDenyList, enosysSyscalls, runtimeBaseline, socketFamilies, socketpairFamilies } from './seccomp-defaults.js';

import { mustWork, need } from '../../../test/support/must-work.js';
import { systemBindArgs } from './system-binds.js';

const work = mkdtempSync(join(tmpdir(), 'ferry-seccomp-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const probeSrc = fileURLToPath(new URL('../../../../native/probes/try-syscall.c', import.meta.url));
const probe = join(work, 'try-syscall');
const probeBuilt = spawnSync('gcc', ['-O2', '-o', probe, probeSrc, '-lseccomp']).status === 0;
/** Where the python3 on PATH lives (a pyenv install is outside /usr), bound for the allow-mode run. */
const pythonHome = spawnSync('python3', ['-c', 'import sys; print(sys.base_prefix)'], { encoding: 'utf8' }).stdout?.trim();
const bwrapWorks = spawnSync('bwrap', ['--unshare-user', ...systemBindArgs(), 'true']).status === 0;

function ready(t: TestContext, enforce = false): boolean {
  if (!need(t, helperAvailable(), 'the sandbox helper is not built (node scripts/build-native.mjs; needs gcc, libseccomp-dev)')) return false;
  if (!enforce) return true;
  return need(t, bwrapWorks, 'bwrap cannot create a user namespace here') && need(t, probeBuilt, 'cannot build the syscall probe (gcc, libseccomp-dev)');
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
}

/** Runs argv under bwrap as the driver does when given filters: the quiet one loaded by bwrap, the logged one by the helper inside. */
function underBwrap(filters: SeccompFilters | undefined, argv: string[]): Promise<Run> {
  const fds = filters ? [openSync(filters.quiet, 'r'), openSync(filters.logged, 'r')] : [];
  const inner = filters ? [helperPath(), 'seccomp-exec', '--fd', '4', '--', ...argv] : argv;
  const args = ['--unshare-user', ...systemBindArgs([work, dirname(helperPath()), dirname(process.execPath), ...(pythonHome ? [pythonHome] : [])]), '--dev', '/dev', '--proc', '/proc', ...(filters ? ['--seccomp', '3'] : []), '--', ...inner];
  return new Promise((resolve, reject) => {
    const child = spawn('bwrap', args, { stdio: ['ignore', 'pipe', 'pipe', ...fds] });
    for (const fd of fds) closeSync(fd);
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, out: out.trim() }));
  });
}

const sigsys = (r: Run): boolean => r.signal === 'SIGSYS' || r.code === 128 + 31; // bwrap reports a signal death as 128+n

const compiler = (dir = join(work, `cache-${Math.random().toString(36).slice(2)}`)): { c: SeccompCompiler; dir: string } => ({ c: new SeccompCompiler(dir), dir });

test('the default list and baseline: the names the issue requires, all sorted data', () => {
  for (const n of ['ptrace', 'mount', 'umount2', 'pivot_root', 'unshare', 'setns', 'keyctl', 'add_key', 'request_key', 'bpf', 'perf_event_open', 'kexec_load', 'kexec_file_load', 'init_module', 'finit_module', 'delete_module', 'open_by_handle_at', 'userfaultfd', 'personality', 'reboot', 'swapon', 'swapoff', 'modify_ldt', 'move_pages', 'set_mempolicy']) {
    assert.ok(defaultDenyList.includes(n), n);
  }
  assert.deepEqual([...runtimeBaseline], [...new Set(runtimeBaseline)].sort());
  for (const n of ['execve', 'exit_group', 'mmap', 'accept4', 'epoll_pwait', 'clone3', 'socket', 'socketpair']) assert.ok(runtimeBaseline.includes(n), n);
  assert.deepEqual(runtimeBaseline.filter((n) => defaultDenyList.includes(n) || enosysSyscalls.includes(n)), []);
  assert.deepEqual([...enosysSyscalls].sort(), ['io_uring_enter', 'io_uring_register', 'io_uring_setup']);
  assert.deepEqual(enosysSyscalls.filter((n) => defaultDenyList.includes(n)), []);
  assert.deepEqual(socketFamilies, [{ domain: 1 }, { domain: 2 }, { domain: 10 }, { domain: 16, protocol: 0 }]);
  assert.deepEqual(socketpairFamilies, [1]);
});

test('compile: every kind of policy gives non-empty BPF files, 0644, one per policy, cached', async (t) => {
  if (!ready(t)) return;
  const { c, dir } = compiler();
  const policies: Array<SeccompPolicy | undefined> = [undefined, { mode: 'deny', syscalls: ['getppid'] }, { mode: 'deny', syscalls: ['getppid'], action: 'kill' }, { mode: 'allow', syscalls: ['chroot'] }, { mode: 'allow', syscalls: [], action: 'kill' }];
  const filters = await Promise.all(policies.map((p) => c.compile(p)));
  const paths = filters.map((f) => f.logged);
  assert.equal(new Set(paths).size, policies.length);
  // The quiet filter (the namespace rules) depends on the action alone.
  assert.equal(new Set(filters.map((f) => f.quiet)).size, 2);
  for (const p of [...paths, ...filters.map((f) => f.quiet)]) {
    assert.ok(p.startsWith(`${dir}/`) && /\/[0-9a-f]{64}\.bpf$/.test(p), p);
    const st = statSync(p);
    assert.ok(st.size > 0 && st.size % 8 === 0, `${p}: ${st.size} bytes`);
    assert.equal(st.mode & 0o777, 0o644);
  }
  // Same meaning, same file: order, duplicates and the explicit default action do not matter.
  const before = statSync(paths[1]!);
  const again = c.compile({ mode: 'deny', syscalls: ['getppid', 'getppid'], action: 'errno' });
  assert.equal(again, c.compile({ mode: 'deny', syscalls: ['getppid'] }), 'concurrent callers share one compilation');
  assert.equal((await again).logged, paths[1]);
  // A new compiler (a restart) reuses the file on disk instead of writing it again.
  assert.equal((await new SeccompCompiler(dir).compile({ mode: 'deny', syscalls: ['getppid'] })).logged, paths[1]);
  const after = statSync(paths[1]!);
  assert.equal(after.ino, before.ino);
  assert.equal(after.mtimeMs, before.mtimeMs);
});

test('unknown user syscall names: invalid-manifest naming each; unknown default names would only be skipped', async (t) => {
  if (!ready(t)) return;
  const { c } = compiler();
  await assert.rejects(c.compile({ mode: 'deny', syscalls: ['getpid', 'not_a_syscall', 'fork_bomb'] }), (err: unknown) => {
    assert.ok(err instanceof FerryError);
    assert.equal(err.code, 'invalid-manifest');
    assert.match(err.message, /not_a_syscall/);
    assert.match(err.message, /fork_bomb/);
    assert.doesNotMatch(err.message, /getpid/);
    return true;
  });
  await assert.rejects(validateSyscallNames(['open', 'openn']), /openn/);
  await validateSyscallNames(['open', 'vm86', 'clone3']); // vm86: known to libseccomp, absent on x86_64: fine
  const plan = await c.plan(undefined);
  assert.deepEqual(plan.skipped, []);
});

test('the default deny list always applies: unioned in deny mode, subtracted in allow mode', async (t) => {
  if (!ready(t)) return;
  const { c } = compiler();
  const deny = await c.plan({ mode: 'deny', syscalls: ['getppid'] });
  assert.ok(deny.request.deny.includes('getppid') && deny.request.deny.includes('ptrace'));
  assert.equal(deny.request.defaultAction, 'allow');
  const allow = await c.plan({ mode: 'allow', syscalls: ['ptrace', 'chroot'], action: 'kill' });
  assert.ok(allow.request.allow.includes('chroot') && allow.request.allow.includes('read'));
  assert.ok(!allow.request.allow.includes('ptrace'), 'an allow list cannot re-allow a default-denied name');
  assert.equal(allow.request.defaultAction, 'kill');
  // The namespace rules live in the quiet filter, with the policy's action; so do the answers no
  // policy changes: io_uring's ENOSYS and the socket families.
  assert.deepEqual([deny.request.noNewNamespaces, allow.request.noNewNamespaces], [false, false]);
  assert.deepEqual(allow.quiet, {
    defaultAction: 'allow',
    denyAction: 'kill',
    deny: [],
    allow: [],
    noNewNamespaces: true,
    enosys: ['io_uring_setup', 'io_uring_enter', 'io_uring_register'],
    socketFamilies: { socket: socketFamilies, socketpair: socketpairFamilies },
  });
  assert.deepEqual([deny.request.enosys, deny.request.socketFamilies, allow.request.enosys, allow.request.socketFamilies], [[], null, [], null]);
  // The lists let io_uring through, so that only the quiet filter's ENOSYS answers it: a listed
  // name or the kill action cannot turn that answer into EPERM or a kill.
  const listed = await c.plan({ mode: 'deny', syscalls: ['io_uring_setup', 'getppid'], action: 'kill' });
  assert.ok(!listed.request.deny.some((n) => n.startsWith('io_uring')) && listed.request.deny.includes('getppid'));
  const narrow = await c.plan({ mode: 'allow', syscalls: ['modify_ldt', 'io_uring_setup'], action: 'kill' });
  assert.ok(!narrow.request.allow.includes('modify_ldt'), 'an allow list cannot re-allow modify_ldt');
  for (const n of enosysSyscalls) assert.ok(narrow.request.allow.includes(n), n);
  assert.deepEqual(narrow.quiet.enosys, allow.quiet.enosys);
});

test('enforced: default-denied syscalls fail with EPERM, others work', async (t) => {
  if (!ready(t, true)) return;
  const { c } = compiler();
  const bpf = await c.compile(undefined);
  // Arguments chosen so that, unfiltered, each call answers something other than EPERM.
  for (const [name, ...args] of [['unshare'], ['ptrace'], ['mount'], ['keyctl'], ['bpf'], ['clone', '0x10000011']] as string[][]) {
    const plain = await underBwrap(undefined, [probe, name!, ...args]);
    assert.doesNotMatch(plain.out, /EPERM/, `${name} unfiltered must not already be EPERM: ${plain.out}`);
    const r = await underBwrap(bpf, [probe, name!, ...args]);
    assert.match(r.out, /^errno 1 EPERM$/, `${name}: ${r.out}`);
  }
  assert.match((await underBwrap(bpf, [probe, 'getpid'])).out, /^ok \d+$/);
  assert.match((await underBwrap(bpf, [probe, 'clone', '0x11'])).out, /^ok \d+$/, 'a plain fork still works');
  assert.match((await underBwrap(bpf, [probe, 'clone3'])).out, /ENOSYS/, 'clone3 answers ENOSYS so libc falls back to clone');
  // An x32 syscall number would otherwise dodge every rule: the bad-arch action kills.
  assert.ok(sigsys(await underBwrap(bpf, [probe, 'unshare', '--x32'])), 'x32 ABI is killed');
  // Real programs still run under the default filter.
  const node = await underBwrap(bpf, [process.execPath, '-e', 'console.log(require("os").cpus().length > 0)']);
  assert.equal(node.out, 'true');
});

test('enforced: a function deny list with the kill action kills with SIGSYS', async (t) => {
  if (!ready(t, true)) return;
  const { c } = compiler();
  const bpf = await c.compile({ mode: 'deny', syscalls: ['getppid'], action: 'kill' });
  assert.ok(sigsys(await underBwrap(bpf, [probe, 'getppid'])));
  assert.ok(sigsys(await underBwrap(bpf, [probe, 'ptrace'])), 'the default list takes the policy action too');
  assert.match((await underBwrap(bpf, [probe, 'getpid'])).out, /^ok \d+$/);
  const errno = await c.compile({ mode: 'deny', syscalls: ['getppid'] });
  assert.match((await underBwrap(errno, [probe, 'getppid'])).out, /^errno 1 EPERM$/);
});

test('enforced: allow mode runs node and python, refuses what is not listed', async (t) => {
  if (!ready(t, true)) return;
  const { c } = compiler();
  const bpf = await c.compile({ mode: 'allow', syscalls: ['getppid'] });
  const node = await underBwrap(bpf, [process.execPath, '-e', 'console.log(1)']);
  assert.equal(node.out, '1');
  assert.equal(node.code, 0);
  const python = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim();
  if (python) assert.equal((await underBwrap(bpf, [python, '-c', 'import json, socket; print(json.dumps(2))'])).out, '2');
  assert.match((await underBwrap(bpf, [probe, 'getppid'])).out, /^ok \d+$/, 'the user list is allowed');
  // chroot is in neither the baseline nor the list; unfiltered it fails with EFAULT, not EPERM.
  assert.match((await underBwrap(undefined, [probe, 'chroot'])).out, /EFAULT/);
  assert.match((await underBwrap(bpf, [probe, 'chroot'])).out, /^errno 1 EPERM$/);
  assert.match((await underBwrap(bpf, [probe, 'clone', '0x10000011'])).out, /EPERM/, 'no namespaces through clone');
  const kill = await c.compile({ mode: 'allow', syscalls: [], action: 'kill' });
  assert.ok(sigsys(await underBwrap(kill, [probe, 'chroot'])));
  assert.equal((await underBwrap(kill, [process.execPath, '-e', 'console.log(3)'])).out, '3');
});

/** Every policy an instance can have, for the rules that must hold under all of them. */
const everyPolicy: Array<SeccompPolicy | undefined> = [
  undefined,
  { mode: 'deny', syscalls: ['io_uring_setup', 'io_uring_enter', 'connect'], action: 'kill' },
  { mode: 'allow', syscalls: ['io_uring_setup', 'modify_ldt'] },
  { mode: 'allow', syscalls: [], action: 'kill' },
];

test('enforced: io_uring answers ENOSYS under every policy, never EPERM and never a kill', async (t) => {
  if (!ready(t, true)) return;
  const { c } = compiler();
  // Unfiltered, each answers something else: EFAULT (no parameters), EBADF or EINVAL (no ring).
  const calls = [['io_uring_setup', '1', '0'], ['io_uring_enter', '0xffffffff'], ['io_uring_register', '0xffffffff']];
  for (const call of calls) assert.doesNotMatch((await underBwrap(undefined, [probe, ...call])).out, /ENOSYS/, call[0]);
  for (const policy of everyPolicy) {
    const bpf = await c.compile(policy);
    for (const call of calls) {
      const r = await underBwrap(bpf, [probe, ...call]);
      assert.match(r.out, /^errno 38 ENOSYS$/, `${call[0]} under ${JSON.stringify(policy)}: ${r.out} (${r.signal ?? r.code})`);
    }
  }
});

test('enforced: sockets only in AF_UNIX, AF_INET, AF_INET6 and NETLINK_ROUTE; others EAFNOSUPPORT under every policy', async (t) => {
  if (!ready(t, true)) return;
  const { c } = compiler();
  // [call, domain, type, protocol]; the refused ones open unfiltered on this kernel (AF_VSOCK,
  // netlink audit and uevents) or fail with another errno, so EAFNOSUPPORT proves the filter.
  const refusedSockets = [
    ['socket', '40', '1', '0'], // AF_VSOCK
    ['socket', '16', '3', '9'], // NETLINK_AUDIT
    ['socket', '16', '3', '15'], // NETLINK_KOBJECT_UEVENT
    ['socket', '16', '3', '0x100000000'], // NETLINK_ROUTE to the kernel, not to the filter: refused
    ['socket', '0x100000001', '1', '0'], // AF_UNIX to the kernel, not to the filter: refused
    ['socket', '17', '2', '0'], // AF_PACKET
    ['socket', '38', '5', '0'], // AF_ALG
    ['socket', '0', '1', '0'], // AF_UNSPEC
    ['socket', '45', '2', '0'], // AF_MCTP, the newest family
    ['socketpair', '2', '1', '0'], // AF_INET pairs
    ['socketpair', '30', '5', '0'], // AF_TIPC pairs
  ];
  const plain = await underBwrap(undefined, [probe, 'socket', '40', '1', '0']);
  assert.match(plain.out, /^ok \d+$/, `AF_VSOCK opens unfiltered here: ${plain.out}`);
  for (const policy of everyPolicy) {
    const bpf = await c.compile(policy);
    for (const call of refusedSockets) {
      const r = await underBwrap(bpf, [probe, ...call]);
      assert.match(r.out, /^errno 97 EAFNOSUPPORT$/, `${call.join(' ')} under ${JSON.stringify(policy)}: ${r.out} (${r.signal ?? r.code})`);
    }
    for (const call of [['socket', '1', '1', '0'], ['socket', '2', '1', '0'], ['socket', '10', '2', '0'], ['socket', '16', '3', '0']]) {
      assert.match((await underBwrap(bpf, [probe, ...call])).out, /^ok \d+$/, `${call.join(' ')} under ${JSON.stringify(policy)}`);
    }
    // socketpair(AF_UNIX) reaches the kernel: without a result array it answers EFAULT.
    assert.match((await underBwrap(bpf, [probe, 'socketpair', '1', '1', '0'])).out, /^errno 14 EFAULT$/);
  }
});

test('enforced: modify_ldt, move_pages and set_mempolicy are refused, also when an allow list names them', async (t) => {
  if (!ready(t, true)) return;
  const { c } = compiler();
  const calls = [['modify_ldt', '0', '0', '0'], ['move_pages', '0'], ['set_mempolicy', '0']];
  for (const call of calls) assert.doesNotMatch((await underBwrap(undefined, [probe, ...call])).out, /EPERM/, `${call[0]} unfiltered`);
  const policies: Array<SeccompPolicy | undefined> = [undefined, { mode: 'allow', syscalls: ['modify_ldt', 'move_pages', 'set_mempolicy'] }];
  for (const policy of policies) {
    const bpf = await c.compile(policy);
    for (const call of calls) assert.match((await underBwrap(bpf, [probe, ...call])).out, /^errno 1 EPERM$/, `${call[0]} under ${JSON.stringify(policy)}`);
  }
  const kill = await c.compile({ mode: 'deny', syscalls: [], action: 'kill' });
  assert.ok(sigsys(await underBwrap(kill, [probe, 'modify_ldt', '0', '0', '0'])), 'the default list takes the policy action');
});

/**
 * Runs a classic-BPF seccomp program (as libseccomp emits it) on one syscall, without the
 * kernel: for ABIs this host cannot call. Throws on an instruction it does not know.
 */
function runFilter(bpf: Buffer, arch: number, nr: number, args: number[]): number {
  const data = Buffer.alloc(64);
  data.writeUInt32LE(nr, 0);
  data.writeUInt32LE(arch, 4);
  args.forEach((a, i) => data.writeBigUInt64LE(BigInt(a), 16 + 8 * i));
  let acc = 0;
  for (let pc = 0; pc * 8 < bpf.length; pc++) {
    const [code, jt, jf, k] = [bpf.readUInt16LE(pc * 8), bpf[pc * 8 + 2]!, bpf[pc * 8 + 3]!, bpf.readUInt32LE(pc * 8 + 4)];
    if (code === 0x20) acc = data.readUInt32LE(k); // ld [k]
    else if (code === 0x54) acc = (acc & k) >>> 0; // and #k
    else if (code === 0x06) return k; // ret #k
    else if (code === 0x05) pc += k; // ja
    else if (code === 0x15) pc += acc === k ? jt : jf; // jeq
    else if (code === 0x25) pc += acc > k ? jt : jf; // jgt
    else if (code === 0x35) pc += acc >= k ? jt : jf; // jge
    else if (code === 0x45) pc += (acc & k) !== 0 ? jt : jf; // jset
    else throw new Error(`unknown BPF instruction ${code.toString(16)} at ${pc}`);
  }
  throw new Error('the filter ran off its end');
}

test('other ABIs: x32 calls are killed by both filters, and so are i386 calls (checked on the BPF)', async (t) => {
  if (!ready(t, true)) return;
  const { c } = compiler();
  for (const policy of everyPolicy) {
    const bpf = await c.compile(policy);
    for (const call of [['io_uring_setup', '1', '0'], ['socket', '40', '1', '0']]) {
      const r = await underBwrap(bpf, [probe, ...call, '--x32']);
      assert.ok(sigsys(r), `x32 ${call[0]} under ${JSON.stringify(policy)}: exit ${r.code} signal ${r.signal}: ${r.out.slice(0, 300)}`);
    }
    // int 0x80 is not available on every host; the filter decides on the audit arch before
    // anything else, so evaluating it shows what the kernel would do.
    const killProcess = 0x80000000;
    const [i386, x86_64] = [0x40000003, 0xc000003e];
    for (const file of [bpf.quiet, bpf.logged]) {
      const prog = readFileSync(file);
      assert.equal(runFilter(prog, x86_64, 0x40000000 + 425, [1, 0]), killProcess, `x32 io_uring_setup: ${file}`);
      assert.equal(runFilter(prog, i386, 359, [40, 1, 0]), killProcess, `i386 socket(AF_VSOCK): ${file}`);
      assert.equal(runFilter(prog, i386, 425, [1, 0]), killProcess, `i386 io_uring_setup: ${file}`);
      assert.equal(runFilter(prog, x86_64, 39, []) >>> 16, 0x7fff, `x86_64 getpid is allowed: ${file}`);
    }
    assert.equal(runFilter(readFileSync(bpf.quiet), x86_64, 425, [1, 0]), 0x00050000 + 38, 'the quiet filter answers io_uring_setup with ENOSYS');
    assert.equal(runFilter(readFileSync(bpf.quiet), x86_64, 41, [40, 1, 0]), 0x00050000 + 97, 'and AF_VSOCK with EAFNOSUPPORT');
  }
});
