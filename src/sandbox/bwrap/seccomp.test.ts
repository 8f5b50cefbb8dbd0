// Seccomp filters, compiled for real by the native helper and enforced for real by bwrap: a
// small C probe (native/probes/try-syscall.c, built here with gcc) makes the syscalls.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import type { SeccompPolicy } from '../../core/index.js';
import { FerryError } from '../../errors/index.js';
import { helperAvailable, helperPath } from './helper.js';
import { SeccompCompiler, validateSyscallNames, type SeccompFilters } from './seccomp.js';
import { defaultDenyList, runtimeBaseline } from './seccomp-defaults.js';

import { mustWork, need } from './test-support.js';

const work = mkdtempSync(join(tmpdir(), 'ferry-seccomp-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const probeSrc = fileURLToPath(new URL('../../../../native/probes/try-syscall.c', import.meta.url));
const probe = join(work, 'try-syscall');
const probeBuilt = spawnSync('gcc', ['-O2', '-o', probe, probeSrc, '-lseccomp']).status === 0;
const bwrapWorks = spawnSync('bwrap', ['--unshare-user', '--ro-bind', '/', '/', 'true']).status === 0;

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
  const args = ['--unshare-user', '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', ...(filters ? ['--seccomp', '3'] : []), '--', ...inner];
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
  for (const n of ['ptrace', 'mount', 'umount2', 'pivot_root', 'unshare', 'setns', 'keyctl', 'add_key', 'request_key', 'bpf', 'perf_event_open', 'kexec_load', 'kexec_file_load', 'init_module', 'finit_module', 'delete_module', 'open_by_handle_at', 'userfaultfd', 'personality', 'reboot', 'swapon', 'swapoff']) {
    assert.ok(defaultDenyList.includes(n), n);
  }
  assert.deepEqual([...runtimeBaseline], [...new Set(runtimeBaseline)].sort());
  for (const n of ['execve', 'exit_group', 'mmap', 'accept4', 'epoll_pwait', 'clone3']) assert.ok(runtimeBaseline.includes(n), n);
  assert.deepEqual(runtimeBaseline.filter((n) => defaultDenyList.includes(n)), []);
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
  // The namespace rules live in the quiet filter, with the policy's action.
  assert.deepEqual([deny.request.noNewNamespaces, allow.request.noNewNamespaces], [false, false]);
  assert.deepEqual(allow.quiet, { defaultAction: 'allow', denyAction: 'kill', deny: [], allow: [], noNewNamespaces: true });
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
