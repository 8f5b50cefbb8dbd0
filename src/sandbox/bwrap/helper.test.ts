// The native helper's exec and resolve subcommands, run for real.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { helperAvailable, helperExecArgv, helperPath, helperVersion, resolveSyscalls, runHelper } from './helper.js';

import { mustWork, need } from '../../../test/support/must-work.js';

const built = (t: TestContext): boolean => need(t, helperAvailable(), 'the sandbox helper is not built (node scripts/build-native.mjs; needs gcc, libseccomp-dev)');
const isRoot = process.getuid?.() === 0;

/** Runs an argv; fd 3 is a pipe whose output is returned as `fd3`. */
function run(argv: string[]): Promise<{ code: number | null; out: string; err: string; fd3: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let fd3 = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
    (child.stdio[3] as NodeJS.ReadableStream).setEncoding('utf8').on('data', (s: string) => (fd3 += s));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, out: out.trim(), err: err.trim(), fd3: fd3.trim() }));
  });
}

test('helperExecArgv: options in order, program after --, bad input refused', () => {
  const argv = helperExecArgv({ cgroups: ['/a', '/b'], rlimits: { nofile: 64, as: undefined }, uid: 65534, gid: 65534 }, ['bwrap', '--x']);
  assert.deepEqual(argv, [helperPath(), 'exec', '--cgroup', '/a', '--cgroup', '/b', '--rlimit', 'nofile=64', '--uid', '65534', '--gid', '65534', '--', 'bwrap', '--x']);
  assert.throws(() => helperExecArgv({ uid: 1 }, ['x']), /together/);
  assert.throws(() => helperExecArgv({ rlimits: { nproc: -1 } }, ['x']), /non-negative/);
  assert.throws(() => helperExecArgv({}, []), /program/);
});

test('helperPath: FERRY_SANDBOX_HELPER overrides the built-in location', (t) => {
  const before = process.env['FERRY_SANDBOX_HELPER'];
  t.after(() => (before === undefined ? delete process.env['FERRY_SANDBOX_HELPER'] : (process.env['FERRY_SANDBOX_HELPER'] = before)));
  assert.match(helperPath(), /\/dist\/native\/ferry-sandbox-helper$/);
  process.env['FERRY_SANDBOX_HELPER'] = '/nonexistent/helper';
  assert.equal(helperPath(), '/nonexistent/helper');
  assert.equal(helperAvailable(), false);
});

test('resolve and version: libseccomp answers for the native arch', async (t) => {
  if (!built(t)) return;
  const v = await helperVersion();
  assert.match(v.libseccomp, /^\d+\.\d+\.\d+$/);
  const r = await resolveSyscalls(['read', 'vm86', 'no_such_call', '--deny']);
  assert.equal(typeof r.get('read'), 'number');
  assert.ok(r.get('read')! >= 0);
  if (v.arch === 'x86_64') assert.ok(r.get('vm86')! < 0, 'known to libseccomp, absent on x86_64');
  assert.equal(r.get('no_such_call'), null);
  assert.equal(r.get('--deny'), null, 'option-like strings are never passed on');
});

test('seccomp-compile: unknown names exit 2 naming them; mixed modes refused', async (t) => {
  if (!built(t)) return;
  const r = await runHelper(['seccomp-compile', '--default-action', 'allow', '--deny', 'bogus_one', '--deny', 'read', '--deny', 'bogus_two']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bogus_one bogus_two/);
  assert.equal(r.stdout.length, 0);
  assert.equal((await runHelper(['seccomp-compile', '--default-action', 'allow', '--allow', 'read'])).code, 2);
  assert.equal((await runHelper(['seccomp-compile', '--default-action', 'errno', '--deny', 'read'])).code, 2);
});

test('seccomp-compile: --enosys and the socket families refuse what would contradict them', async (t) => {
  if (!built(t)) return;
  const compile = async (...args: string[]): Promise<{ code: number | null; stderr: string }> => runHelper(['seccomp-compile', ...args]);
  assert.equal((await compile('--default-action', 'allow', '--enosys', 'io_uring_setup', '--socket-family', '1', '--socket-family', '16:0', '--socketpair-family', '1')).code, 0);
  // A listed name would get two answers; an unconditional allow or deny of socket would override the family rules.
  assert.match((await compile('--default-action', 'allow', '--deny', 'io_uring_setup', '--enosys', 'io_uring_setup')).stderr, /both listed and --enosys/);
  assert.equal((await compile('--default-action', 'errno', '--allow', 'socket', '--socket-family', '1')).code, 2);
  assert.equal((await compile('--default-action', 'allow', '--deny', 'socketpair', '--socketpair-family', '1')).code, 2);
  // One entry per domain, domains below 64, socketpair without a protocol.
  for (const bad of [['--socket-family', '1', '--socket-family', '1:0'], ['--socket-family', '64'], ['--socket-family', '1:x'], ['--socketpair-family', '1:0'], ['--socket-family', '-1']]) {
    assert.equal((await compile('--default-action', 'allow', ...bad)).code, 2, bad.join(' '));
  }
  assert.match((await compile('--default-action', 'allow', '--enosys', 'no_such_call')).stderr, /unknown syscall names: no_such_call/);
});

test('exec: drops to uid/gid 65534 with no extra groups, no capabilities, no_new_privs; fds 3+ stay open', async (t) => {
  if (!built(t) || !need(t, isRoot, 'dropping privileges needs root')) return;
  const script = 'id -u; id -g; id -G; grep -E "^(CapEff|CapPrm|NoNewPrivs):" /proc/self/status | tr -s "\\t" " "; echo via-fd3 >&3';
  const r = await run(helperExecArgv({ uid: 65534, gid: 65534 }, ['/bin/sh', '-c', script]));
  assert.equal(r.code, 0, r.err);
  const lines = r.out.split('\n');
  assert.deepEqual(lines.slice(0, 3), ['65534', '65534', '65534']);
  assert.ok(lines.includes('CapEff: 0000000000000000'), r.out);
  assert.ok(lines.includes('CapPrm: 0000000000000000'), r.out);
  assert.ok(lines.includes('NoNewPrivs: 1'), r.out);
  assert.equal(r.fd3, 'via-fd3');
});

test('exec: rlimits are set hard, so the program cannot raise them', async (t) => {
  if (!built(t)) return;
  const r = await run(helperExecArgv({ rlimits: { nofile: 77, core: 0 } }, ['/bin/sh', '-c', 'ulimit -n; ulimit -Hn; ulimit -c; ulimit -n 100 2>/dev/null && echo raised || echo refused']));
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(r.out.split('\n'), ['77', '77', '0', 'refused']);
});

test('exec: fails closed with 127 and a message; the program never runs', async (t) => {
  if (!built(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'ferry-helper-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const marker = join(dir, 'ran');
  const cases: Array<[string[], RegExp]> = [
    [[helperPath(), 'exec', '--cgroup', join(dir, 'not-a-cgroup'), '--', '/bin/touch', marker], /cannot open .*not-a-cgroup\/cgroup\.procs/],
    [[helperPath(), 'exec', '--rlimit', 'stack=1', '--', '/bin/touch', marker], /unknown rlimit/],
    [[helperPath(), 'exec', '--rlimit', 'nofile=-1', '--', '/bin/touch', marker], /bad --rlimit/],
    [[helperPath(), 'exec', '--uid', '65534', '--', '/bin/touch', marker], /together/],
    [[helperPath(), 'exec', '/bin/touch', marker], /bad option|usage/],
    [[helperPath(), 'exec', '--', join(dir, 'missing-program')], /cannot run/],
  ];
  for (const [argv, message] of cases) {
    const r = await run(argv);
    assert.equal(r.code, 127, argv.join(' '));
    assert.match(r.err, message);
    assert.match(r.err, /^ferry-sandbox-helper: /);
  }
  const { existsSync } = await import('node:fs');
  assert.equal(existsSync(marker), false);
});
