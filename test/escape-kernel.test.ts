// The escape suite, kernel surface: real functions under the bwrap driver try the parts of the
// kernel the default seccomp filter closes (io_uring, socket families other than the ones an
// instance needs, modify_ldt and NUMA page moves), under the default policy and under policies a
// function may pick. Syscall numbers come from libseccomp on this host, as the filter's do.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFerry, disposeFerry, type Ferry, type PackageFiles } from './support/ferry.js';
import { sandboxSupport } from './support/sandbox.js';
import { resolveSyscalls } from '../src/sandbox/bwrap/helper.js';

const support = await sandboxSupport();
const skip = support.ok ? false : `the bwrap sandbox cannot run here: ${support.why}`;

let ferry: Ferry;
let numbers: Record<string, number> = {};

before(async () => {
  if (skip) return;
  ferry = await startFerry({ args: ['--driver', 'bwrap'] });
  const names = ['io_uring_setup', 'io_uring_enter', 'io_uring_register', 'modify_ldt', 'move_pages', 'set_mempolicy'];
  numbers = Object.fromEntries([...(await resolveSyscalls(names))].map(([n, nr]) => [n, nr ?? -1]));
});
after(async () => {
  if (skip) return;
  await disposeFerry(ferry);
});

/**
 * A python function that makes each attempt of `attempts` (a dict literal of label -> call) and
 * answers, per label, `{"ok": result}` or `{"errno": N}`. `sys(name, *args)` makes a raw syscall
 * by name; `sock(...)` and `pair(...)` open (and close) sockets of any family.
 */
function kernelProbe(attempts: string, manifest: Record<string, unknown> = {}): PackageFiles {
  return {
    'ferry.json': JSON.stringify({ runtime: 'python', handler: 'main.py', ...manifest, env: { NRS: JSON.stringify(numbers), ...(manifest.env as object) } }),
    'main.py': [
      'import ctypes, json, os, socket',
      'libc = ctypes.CDLL(None, use_errno=True)',
      'libc.syscall.restype = ctypes.c_long',
      'NRS = json.loads(os.environ["NRS"])',
      'def sys(name, *args):',
      '    r = libc.syscall(ctypes.c_long(NRS[name]), *[ctypes.c_long(a) if isinstance(a, int) else a for a in args])',
      '    if r == -1:',
      '        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))',
      '    return r',
      'def sock(family, kind, proto=0):',
      '    socket.socket(family, kind, proto).close()',
      '    return "opened"',
      'def pair(family, kind):',
      '    for s in socket.socketpair(family, kind):',
      '        s.close()',
      '    return "opened"',
      'def attempt(fn):',
      '    try:',
      '        return {"ok": str(fn())}',
      '    except OSError as e:',
      '        return {"errno": e.errno}',
      'def handler(request):',
      `    return {k: attempt(f) for k, f in ${attempts}.items()}`,
      '',
    ].join('\n'),
  };
}

async function run(name: string, files: PackageFiles): Promise<{ status: number; body: Record<string, { ok?: string; errno?: number }> }> {
  await ferry.deploy(name, files);
  const res = await fetch(`${ferry.url}/fn/${name}/`);
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as Record<string, { ok?: string; errno?: number }> };
  } catch {
    return { status: res.status, body: { raw: { ok: text } } };
  }
}

const ENOSYS = 38;
const EPERM = 1;
const EAFNOSUPPORT = 97;

const ioUring = `{
    "io_uring_setup": lambda: sys("io_uring_setup", 4, ctypes.create_string_buffer(120)),
    "io_uring_enter": lambda: sys("io_uring_enter", -1, 1, 0, 0, None, 0),
    "io_uring_register": lambda: sys("io_uring_register", -1, 0, None, 0),
}`;

// Unfiltered, each succeeds (modify_ldt reads the empty LDT) or fails with EINVAL, never EPERM.
const ldtAndNuma = `{
    "modify_ldt": lambda: sys("modify_ldt", 0, ctypes.create_string_buffer(16), 16),
    "move_pages": lambda: sys("move_pages", 0, 0, None, None, None, 0),
    "set_mempolicy": lambda: sys("set_mempolicy", 0, None, 0),
}`;

function expectErrno(body: Record<string, { ok?: string; errno?: number }>, labels: string[], errno: number, what: string): void {
  for (const k of labels) assert.deepEqual(body[k], { errno }, `${what}: ${k} must fail with errno ${errno}: ${JSON.stringify(body[k])}`);
}

test('io_uring: ENOSYS under the default policy; modify_ldt, move_pages and set_mempolicy: EPERM', { skip }, async () => {
  const { status, body } = await run(
    'esck-default',
    kernelProbe(`dict(${ioUring}, **${ldtAndNuma})`),
  );
  assert.equal(status, 200, JSON.stringify(body));
  expectErrno(body, ['io_uring_setup', 'io_uring_enter', 'io_uring_register'], ENOSYS, 'default policy');
  expectErrno(body, ['modify_ldt', 'move_pages', 'set_mempolicy'], EPERM, 'default policy');
});

test("io_uring cannot walk around a function's deny list: ENOSYS under a kill-action deny list of connect, and the instance lives", { skip }, async () => {
  const { status, body } = await run('esck-kill', kernelProbe(ioUring, { seccomp: { mode: 'deny', syscalls: ['connect', 'io_uring_setup'], action: 'kill' } }));
  assert.equal(status, 200, `the instance is not killed: ${JSON.stringify(body)}`);
  expectErrno(body, ['io_uring_setup', 'io_uring_enter', 'io_uring_register'], ENOSYS, 'deny list with kill');
});

test('an allow list cannot re-open what the default refuses: io_uring_setup ENOSYS, modify_ldt and the NUMA calls EPERM', { skip }, async () => {
  const { status, body } = await run(
    'esck-allow',
    kernelProbe(`dict(${ioUring}, **${ldtAndNuma})`, { seccomp: { mode: 'allow', syscalls: ['io_uring_setup', 'io_uring_enter', 'io_uring_register', 'modify_ldt', 'move_pages', 'set_mempolicy'] } }),
  );
  assert.equal(status, 200, JSON.stringify(body));
  expectErrno(body, ['io_uring_setup', 'io_uring_enter', 'io_uring_register'], ENOSYS, 'allow list naming them');
  expectErrno(body, ['modify_ldt', 'move_pages', 'set_mempolicy'], EPERM, 'allow list naming them');
});

// label -> python call; AF_VSOCK and the netlink protocols open unfiltered on an ordinary kernel.
const refusedFamilies = `{
    "vsock": lambda: sock(40, socket.SOCK_STREAM),
    "vsock_dgram": lambda: sock(40, socket.SOCK_DGRAM),
    "netlink_uevent": lambda: sock(16, socket.SOCK_RAW, 15),
    "netlink_audit": lambda: sock(16, socket.SOCK_RAW, 9),
    "netlink_netfilter": lambda: sock(16, socket.SOCK_RAW, 12),
    "netlink_sock_diag": lambda: sock(16, socket.SOCK_RAW, 4),
    "packet": lambda: sock(17, socket.SOCK_DGRAM),
    "alg": lambda: sock(38, socket.SOCK_SEQPACKET),
    "key": lambda: sock(15, socket.SOCK_RAW, 2),
    "xdp": lambda: sock(44, socket.SOCK_RAW),
    "tipc": lambda: sock(30, socket.SOCK_RDM),
    "bluetooth": lambda: sock(31, socket.SOCK_RAW, 1),
    "can": lambda: sock(29, socket.SOCK_RAW, 1),
    "rds": lambda: sock(21, socket.SOCK_SEQPACKET),
    "pair_tipc": lambda: pair(30, socket.SOCK_SEQPACKET),
    "pair_inet": lambda: pair(2, socket.SOCK_STREAM),
}`;
const allowedFamilies = `{
    "unix": lambda: sock(1, socket.SOCK_STREAM),
    "inet": lambda: sock(2, socket.SOCK_STREAM),
    "inet6": lambda: sock(10, socket.SOCK_DGRAM),
    "netlink_route": lambda: sock(16, socket.SOCK_RAW, 0),
    "pair_unix": lambda: pair(1, socket.SOCK_STREAM),
    "interfaces": lambda: len(socket.if_nameindex()),
}`;

for (const network of ['none', 'egress'] as const) {
  test(`socket families, network ${network}: AF_VSOCK, netlink beyond NETLINK_ROUTE and every other family fail with EAFNOSUPPORT; unix, inet, inet6 and routes work`, { skip }, async () => {
    const { status, body } = await run(`esck-families-${network}`, kernelProbe(`dict(${refusedFamilies}, **${allowedFamilies})`, { network }));
    assert.equal(status, 200, JSON.stringify(body));
    expectErrno(body, ['vsock', 'vsock_dgram', 'netlink_uevent', 'netlink_audit', 'netlink_netfilter', 'netlink_sock_diag', 'packet', 'alg', 'key', 'xdp', 'tipc', 'bluetooth', 'can', 'rds', 'pair_tipc', 'pair_inet'], EAFNOSUPPORT, `network ${network}`);
    for (const k of ['unix', 'inet', 'inet6', 'netlink_route', 'pair_unix', 'interfaces']) assert.ok(body[k]?.ok !== undefined, `${k} works: ${JSON.stringify(body[k])}`);
  });
}

test('socket families under a kill-action allow list: still EAFNOSUPPORT, the instance lives', { skip }, async () => {
  const { status, body } = await run('esck-families-kill', kernelProbe(refusedFamilies, { seccomp: { mode: 'allow', syscalls: [], action: 'kill' } }));
  assert.equal(status, 200, `the instance is not killed: ${JSON.stringify(body)}`);
  expectErrno(body, ['vsock', 'netlink_uevent', 'netlink_audit', 'alg', 'pair_tipc'], EAFNOSUPPORT, 'allow list with kill');
});

test("node with libuv's io_uring turned on (UV_USE_IO_URING=1) under a kill-action allow list: libuv falls back and the function serves", { skip }, async () => {
  await ferry.deploy('esck-node-uring', {
    'ferry.json': JSON.stringify({ runtime: 'node', handler: 'index.js', env: { UV_USE_IO_URING: '1' }, seccomp: { mode: 'allow', syscalls: [], action: 'kill' } }),
    'package.json': '{"type":"module"}',
    'index.js': [
      "import { readFile, writeFile } from 'node:fs/promises';",
      'export default async () => {',
      "  await writeFile('/tmp/f', 'through the thread pool');",
      "  return { read: await readFile('/tmp/f', 'utf8'), pkg: JSON.parse(await readFile('/pkg/package.json', 'utf8')).type };",
      '};',
      '',
    ].join('\n'),
  });
  const res = await fetch(`${ferry.url}/fn/esck-node-uring/`);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.deepEqual(JSON.parse(text), { read: 'through the thread pool', pkg: 'module' });
});
