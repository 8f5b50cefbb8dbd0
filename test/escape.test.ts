// The escape suite: real functions under the bwrap driver try to get out, and every attempt must
// fail the expected way while the platform and other functions keep serving.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { readFileSync } from 'node:fs';
import { startFerry, disposeFerry, type Ferry, type PackageFiles } from './support/ferry.js';
import { sandboxSupport } from './support/sandbox.js';
import { processesMentioning, procState } from './support/procs.js';
import { waitFor } from './support/wait.js';
import { checkSeccompLog } from '../src/sandbox/bwrap/seccomp-log.js';
import { filesystemChecks, filesystemRefused, forkBomb, hostAddresses, hostServiceChecks, kernelChecks, kernelRefused, processChecks, pythonProbe, refused } from '../src/sandbox/escape-probes.js';

const support = await sandboxSupport();
const skip = support.ok ? false : `the bwrap sandbox cannot run here: ${support.why}`;
// Naming refused syscalls needs the kernel's seccomp audit records (root: CAP_AUDIT_READ).
const naming = await checkSeccompLog();
if (!skip && !naming.ok && (process.env.CI === 'true' || process.env.FERRY_SANDBOX_MUST_WORK === '1')) {
  throw new Error(`refused syscalls must be named here (CI or FERRY_SANDBOX_MUST_WORK=1) but: ${naming.detail} (${naming.fix})`);
}
const skipNaming = skip || (naming.ok ? false : `refused syscalls cannot be named here: ${naming.detail}`);

let ferry: Ferry;
let hostServer: Server;
let hostPort = 0;

before(async () => {
  if (skip) return;
  ferry = await startFerry({ args: ['--driver', 'bwrap', '--bindable', '/usr/share,/tmp'] });
  // A TCP service on the host, on every address: the sandbox must reach none of them.
  hostServer = createServer((s) => s.end('host secret\n'));
  await new Promise<void>((r) => hostServer.listen(0, '0.0.0.0', r));
  hostPort = (hostServer.address() as { port: number }).port;
});
after(async () => {
  if (skip) return;
  hostServer.close();
  await disposeFerry(ferry);
});

/** A python function whose handler runs `body` (the driver suite's probes, shared). */
function probe(body: string, manifest: Record<string, unknown> = {}): PackageFiles {
  return { 'ferry.json': JSON.stringify({ runtime: 'python', handler: 'main.py', ...manifest }), 'main.py': pythonProbe(body) };
}

async function run(name: string, files: PackageFiles, path = '/'): Promise<{ status: number; body: Record<string, unknown> }> {
  await ferry.deploy(name, files);
  const res = await fetch(`${ferry.url}/fn/${name}${path}`);
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { raw: text };
  }
  return { status: res.status, body };
}

test('filesystem: no /etc/shadow, no data dir, no writes outside /tmp', { skip }, async () => {
  const { status, body } = await run('esc-fs', probe(filesystemChecks, { env: { X_DATA_DIR: ferry.dataDir } }));
  assert.equal(status, 200, JSON.stringify(body));
  for (const k of filesystemRefused) assert.ok(refused(body[k]), `${k} must fail: ${JSON.stringify(body[k])}`);
  assert.equal((body.tmp_write as { ok: boolean }).ok, true, 'writing /tmp works');
});

test("processes: only the instance's own are visible", { skip }, async () => {
  const { body } = await run('esc-proc', probe(processChecks));
  const cmds = body.cmds as string[];
  assert.ok((body.pids as number) <= 5, `few processes visible: ${JSON.stringify(cmds)}`);
  assert.ok(!cmds.some((c) => c.includes('ferry') && c.includes('server')), `the server is invisible: ${JSON.stringify(cmds)}`);
});

test('kernel: ptrace, mount, module loading, namespaces, raw sockets and the keyring are refused', { skip }, async () => {
  const { body } = await run('esc-kernel', probe(kernelChecks));
  for (const k of kernelRefused) assert.ok(refused(body[k]), `${k} must fail: ${JSON.stringify(body[k])}`);
  // finit_module(-1) fails with EBADF unless seccomp refuses it first: EPERM proves the filter.
  assert.equal((body.module as { errno: number }).errno, 1, `module loading is refused by seccomp: ${JSON.stringify(body.module)}`);
});

for (const network of ['egress', 'none'] as const) {
  test(`network ${network}: the host's services are unreachable on every address`, { skip }, async () => {
    const addrs = hostAddresses();
    const { body } = await run(`esc-net-${network}`, probe(hostServiceChecks(addrs, hostPort), { network }));
    for (const a of addrs) assert.ok(refused(body[a]), `${network}: ${a}:${hostPort} must be unreachable: ${JSON.stringify(body[a])}`);
  });
}

test("network egress, one stack per instance (--egress-stack slirp4netns): slirp4netns runs beside the instance, a child of the server, and ends with it", { skip }, async () => {
  const own = await startFerry({ args: ['--driver', 'bwrap', '--pool-size', '0', '--egress-stack', 'slirp4netns'] });
  try {
    // Idle for 5 s before it stops: long enough for the checks below on a loaded machine.
    await own.deploy('esc-net-stack', probe('return {}', { scaling: { idleTimeoutMs: 5000 } }));
    assert.equal((await fetch(`${own.url}/fn/esc-net-stack/`)).status, 200);
    const listed = (await (await own.api('GET', '/v1/functions/esc-net-stack/instances')).json()) as { instances: Array<{ pid: number }> };
    const pid = listed.instances[0]!.pid;
    // No shell in between: the instance's first process is bwrap, and both are the server's children.
    assert.equal(readFileSync(`/proc/${pid}/comm`, 'utf8').trim(), 'bwrap');
    const stacks = processesMentioning('slirp4netns').filter((p) => p.cmdline.split(' ').includes(String(pid)));
    assert.equal(stacks.length, 1, JSON.stringify(stacks));
    assert.deepEqual([parent(pid), parent(stacks[0]!.pid)], [own.proc.pid, own.proc.pid]);
    // Idle, the instance is stopped; its network stack must go with it.
    await waitFor('the idle instance to stop', () => procState(pid) === undefined || procState(pid) === 'Z', { timeoutMs: 60_000 });
    await waitFor('slirp4netns to exit with its instance', () => procState(stacks[0]!.pid) === undefined || procState(stacks[0]!.pid) === 'Z', { timeoutMs: 30_000 });
  } finally {
    await disposeFerry(own);
  }
});

const parent = (p: number): number => Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1]);
const sharedSkip = skip || (process.getuid?.() === 0 ? false : 'the shared egress router needs root');

test('network egress, shared router (the default as root): no process per instance; instances reach neither each other nor the router; a stopped router is replaced', { skip: sharedSkip }, async () => {
  // A peer listening on every address of its namespace, and reporting its link address.
  await ferry.deploy('esc-peer', {
    'ferry.json': JSON.stringify({ runtime: 'python', handler: 'main.py' }),
    'main.py': [
      'import socket, threading',
      's = socket.socket()',
      's.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
      's.bind(("0.0.0.0", 7070))',
      's.listen()',
      'def serve():',
      '    while True:',
      '        c, _ = s.accept()',
      '        c.sendall(b"peer secret")',
      '        c.close()',
      'threading.Thread(target=serve, daemon=True).start()',
      'def handler(request):',
      '    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
      '    u.connect(("192.0.2.1", 9))  # no packet: only the route is looked up',
      '    return {"addr": u.getsockname()[0]}',
      '',
    ].join('\n'),
  });
  const peer = (await (await fetch(`${ferry.url}/fn/esc-peer/`)).json()) as { addr: string };
  assert.match(peer.addr, /^198\.1[89]\./, 'the instance is linked to the router');
  const { status, body } = await run(
    'esc-lateral',
    probe(`return {
    "peer": attempt(lambda: socket.create_connection((os.environ["PEER"], 7070), timeout=2).recv(100)),
    "router": attempt(lambda: socket.create_connection(("198.18.0.1", 7070), timeout=2).recv(100)),
}`, { env: { PEER: peer.addr } }),
  );
  assert.equal(status, 200, JSON.stringify(body));
  assert.ok(refused(body.peer), `another instance is unreachable: ${JSON.stringify(body.peer)}`);
  assert.ok(refused(body.router), `the router is unreachable: ${JSON.stringify(body.router)}`);

  // One slirp4netns, the router's, for both instances: attached to its namespace holder.
  const instancePids = await Promise.all(
    ['esc-peer', 'esc-lateral'].map(async (n) => ((await (await ferry.api('GET', `/v1/functions/${n}/instances`)).json()) as { instances: Array<{ pid: number }> }).instances[0]!.pid),
  );
  const stacks = processesMentioning('slirp4netns').filter((p) => parent(p.pid) === ferry.proc.pid);
  assert.equal(stacks.length, 1, JSON.stringify(stacks));
  for (const pid of instancePids) assert.ok(!stacks[0]!.cmdline.split(' ').includes(String(pid)), 'no stack attached to an instance');
  const holder = Number(stacks[0]!.cmdline.split(' ').at(-2));
  assert.match(readFileSync(`/proc/${holder}/cmdline`, 'utf8'), /ferry-egress-router/);
  // The router runs in a cgroup of its own, with limits, like an instance.
  for (const p of [holder, stacks[0]!.pid]) assert.match(readFileSync(`/proc/${p}/cgroup`, 'utf8'), /\/ferry\/[0-9a-f]+\/egress-router-\d+$/m);

  // The router is killed: a new one starts at once and the running instances are linked to it.
  process.kill(stacks[0]!.pid, 'SIGKILL');
  await waitFor('the router to go', () => procState(holder) === undefined || procState(holder) === 'Z', { timeoutMs: 5000 });
  const replaced = await waitFor('a new router', () => {
    const now = processesMentioning('slirp4netns').filter((p) => parent(p.pid) === ferry.proc.pid && p.pid !== stacks[0]!.pid);
    return now.length === 1 ? now : undefined;
  });
  const relinked = await waitFor('the peer to have a route again', async () => {
    const res = await fetch(`${ferry.url}/fn/esc-peer/`);
    const b = (await res.json()) as { addr?: string };
    return res.status === 200 && b.addr ? b.addr : undefined;
  });
  assert.match(relinked, /^198\.1[89]\./);
  assert.ok(instancePids.every((p) => procState(p) !== undefined && procState(p) !== 'Z'), 'the instances kept running');
  const again = await run('esc-after-router', probe('return {"ok": True}'));
  assert.equal(again.status, 200, JSON.stringify(again.body));
  assert.deepEqual(processesMentioning('slirp4netns').filter((p) => parent(p.pid) === ferry.proc.pid).map((p) => p.pid), [replaced[0]!.pid], 'still one router');
});

test('roBinds into the data dir are refused at deploy', { skip }, async () => {
  const { packFiles } = await import('./support/ferry.js');
  const archive = await packFiles(probe('return "x"', { roBinds: { [ferry.dataDir]: '/data' } }));
  const res = await ferry.api('POST', '/v1/functions/esc-bind/versions', archive, { 'content-type': 'application/gzip' });
  assert.equal(res.status, 422);
  assert.match(((await res.json()) as { detail: string }).detail, /data dir|--bindable/);
});

test('limits: a fork bomb stops at pids, memory past memoryMb is killed, and others keep serving', { skip }, async () => {
  const bomb = await run('esc-pids', probe(forkBomb, { limits: { pids: 32 } }));
  assert.ok((bomb.body.forked as number) < 40, `forking stops near limits.pids: ${JSON.stringify(bomb.body)}`);
  const hog = await run('esc-mem', probe(`x = bytearray(512 * 1024 * 1024)
return {"allocated": len(x)}`, { limits: { memoryMb: 64 } }));
  assert.equal(hog.status, 502, JSON.stringify(hog.body));
  assert.equal(hog.body.code, 'instance-oom');
  const other = await run('esc-bystander', probe('return {"fine": True}'));
  assert.equal(other.status, 200);
});

test("seccomp: a syscall on the function's own deny list fails", { skip }, async () => {
  const { body } = await run('esc-seccomp', probe('return {"uname": attempt(lambda: os.uname())}', { seccomp: { mode: 'deny', syscalls: ['uname'] } }));
  assert.ok(refused(body.uname), JSON.stringify(body));
});

/** The function's log lines once one matches `until` (or after 10 s). */
async function logLines(name: string, until: RegExp): Promise<string[]> {
  const deadline = Date.now() + 10_000;
  let lines: string[] = [];
  while (Date.now() < deadline) {
    const text = await (await ferry.api('GET', `/v1/functions/${name}/logs?limit=1000`)).text();
    lines = text.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { line: string }).line);
    if (lines.some((l) => until.test(l))) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return lines;
}

test('seccomp kill action: the instance dies, the call answers 502 and the logs name the filter', { skip }, async () => {
  const res = await run('esc-seccomp-kill', probe('os.uname()\nreturn {"survived": True}', { seccomp: { mode: 'deny', syscalls: ['uname'], action: 'kill' } }));
  assert.equal(res.status, 502, JSON.stringify(res.body));
  const lines = await logLines('esc-seccomp-kill', /seccomp filter \(SIGSYS\)/);
  assert.match(lines.join('\n'), /seccomp filter \(SIGSYS\)/);
});

test('seccomp: the logs name the refused syscall, a few lines a second at most', { skip: skipNaming }, async () => {
  const { body } = await run('esc-seccomp-named', probe('return {"getsid": [attempt(lambda: os.getsid(0)) for i in range(50)][0]}', { seccomp: { mode: 'deny', syscalls: ['getsid'] } }));
  assert.equal((body.getsid as { errno: number }).errno, 1, JSON.stringify(body));
  const lines = await logLines('esc-seccomp-named', /refused \d+ more syscalls/);
  const named = lines.filter((l) => /^seccomp refused getsid \(syscall \d+\) with EPERM in \S+$/.test(l));
  assert.equal(named.length, 10, lines.join('\n'));
  assert.ok(lines.some((l) => /^seccomp refused 40 more syscalls in that second/.test(l)), lines.join('\n'));
});

test('seccomp kill action: the logs name the syscall that killed the instance', { skip: skipNaming }, async () => {
  const res = await run('esc-seccomp-kill-named', probe('os.uname()\nreturn {"survived": True}', { seccomp: { mode: 'deny', syscalls: ['uname'], action: 'kill' } }));
  assert.equal(res.status, 502, JSON.stringify(res.body));
  const text = (await logLines('esc-seccomp-kill-named', /seccomp filter \(SIGSYS\)/)).join('\n');
  assert.match(text, /^seccomp killed the instance \(\S+\): syscall uname \(\d+\)$/m);
  assert.match(text, /instance exited unexpectedly \(killed by the seccomp filter \(SIGSYS\): it called uname \(\d+\), a system call its policy refuses\)/);
});

test('roBinds through a symlink into the data dir are refused at deploy', { skip }, async () => {
  const { symlinkSync, mkdtempSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { packFiles } = await import('./support/ferry.js');
  // /tmp is --bindable in this suite; the link under it leads into the data dir.
  const dir = mkdtempSync('/tmp/ferry-esc-link-');
  symlinkSync(ferry.dataDir, join(dir, 'data'));
  const archive = await packFiles(probe('return "x"', { roBinds: { [join(dir, 'data')]: '/data' } }));
  const res = await ferry.api('POST', '/v1/functions/esc-bind-link/versions', archive, { 'content-type': 'application/gzip' });
  assert.equal(res.status, 422);
  assert.match(((await res.json()) as { detail: string }).detail, /data dir/);
});
