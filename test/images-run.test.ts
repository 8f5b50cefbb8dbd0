// Container image versions, uploaded as `docker save` archives, run in the bwrap sandbox with the
// image's root file system as `/`: a static busybox image (no libc at all) and a glibc one
// (Debian's python3.11), as `exec` and as `http`, with the image's user, working directory and
// environment; nothing of the host's files but Ferry's own under /.ferry; a command missing from
// the image refuses the deploy; the version's limits still hold.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startFerry, disposeFerry, type Ferry } from './support/ferry.js';
import { expectProblem, until } from './support/helpers.js';
import { sandboxSupport } from './support/sandbox.js';
import { listInstances } from './support/fn.js';
import { descendants } from './support/cmdline-leaks.js';
import { busyboxTree, imagePackage, pythonTree, type ImageUpload } from './support/image-trees.js';

const support = await sandboxSupport();
const skip = support.ok ? false : `the bwrap sandbox cannot run here: ${support.why}`;

let ferry: Ferry;
before(async () => {
  if (skip) return;
  ferry = await startFerry({ args: ['--driver', 'bwrap'] });
});
after(async () => {
  if (ferry) await disposeFerry(ferry);
});

/** Uploads an image archive with its manifest; answers the response. */
function upload(name: string, pkg: ImageUpload): Promise<Response> {
  return ferry.api('POST', `/v1/functions/${name}/versions`, pkg.archive, { 'content-type': 'application/x-docker-archive', 'ferry-manifest': pkg.manifest });
}

async function deploy(name: string, pkg: ImageUpload): Promise<void> {
  const res = await upload(name, pkg);
  assert.equal(res.status, 201, `deploy ${name}: ${await res.text()}`);
}

/** Calls the function with `body`; answers status and text. */
async function call(name: string, body?: string, path = ''): Promise<{ status: number; text: string }> {
  const res = await fetch(`${ferry.url}/fn/${name}${path}`, body === undefined ? {} : { method: 'POST', body });
  return { status: res.status, text: await res.text() };
}

const sh = (script: string): string[] => ['/bin/sh', '-c', script];

test('exec: a busybox image (no libc) echoes the body through its own /bin/cat', { skip }, async () => {
  await deploy('img-cat', await imagePackage(busyboxTree(), { runtime: 'exec', image: { entrypoint: ['/bin/cat'] } }));
  assert.deepEqual(await call('img-cat', 'hello from the image'), { status: 200, text: 'hello from the image' });
});

test("exec: the image's user by name from its /etc/passwd, its working directory, a name on its PATH, the version's env", { skip }, async () => {
  const pkg = await imagePackage(busyboxTree({ 'srv/data/note.txt': 'note\n' }), {
    runtime: 'exec',
    env: { GREETING: 'hi' },
    // `sh`, a bare name: found on the image's PATH (Docker's default) inside the tree.
    image: { entrypoint: ['sh', '-c', 'echo "$GREETING $FERRY_FUNCTION"; id -u; id -g; pwd; cat note.txt; echo "$PATH"'], user: 'app', workdir: '/srv/data' },
  });
  await deploy('img-who', pkg);
  const r = await call('img-who');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.text.split('\n'), ['hi img-who', '1234', '2345', '/srv/data', 'note', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', '']);
});

test("exec: a numeric user:group and the manifest's command replacing the entrypoint", { skip }, async () => {
  const pkg = await imagePackage(busyboxTree(), { runtime: 'exec', command: ['/bin/sh', '-c', 'id -u; id -g'], image: { entrypoint: ['/bin/false-not-there'], user: '4321:staff' } });
  await deploy('img-num', pkg);
  assert.deepEqual(await call('img-num'), { status: 200, text: '4321\n50\n' });
});

test("the image's root hides the host: no host /etc/hostname, no /usr/bin/node, Ferry's files only under /.ferry, read-only", { skip }, async () => {
  const probe = [
    'for p in /etc/hostname /usr/bin/node /usr /home /root /pkg; do [ -e "$p" ] && echo "seen $p"; done',
    '[ -x /.ferry/usr/bin/node ] || [ -n "$(ls /.ferry)" ] && echo "ferry dir"',
    'touch /x 2>/dev/null && echo "wrote /"',
    'touch /.ferry/x 2>/dev/null && echo "wrote /.ferry"',
    'touch /bin/x 2>/dev/null && echo "wrote /bin"',
    'touch /tmp/x && echo "wrote /tmp"',
    'echo done',
  ].join('; ');
  await deploy('img-hide', await imagePackage(busyboxTree(), { runtime: 'exec', image: { entrypoint: sh(probe) } }));
  const r = await call('img-hide');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.text.trim().split('\n'), ['ferry dir', 'wrote /tmp', 'done']);
});

test('http: busybox httpd from the image serves a file on PORT', { skip }, async () => {
  const pkg = await imagePackage(busyboxTree({ 'www/index.html': '<p>from the image</p>\n' }), {
    runtime: 'http',
    image: { entrypoint: sh('exec httpd -f -p "$PORT" -h /www'), user: 'app' },
  });
  await deploy('img-web', pkg);
  assert.deepEqual(await call('img-web', undefined, '/index.html'), { status: 200, text: '<p>from the image</p>\n' });
});

test('exec: a glibc image (python3.11 with its own libraries) runs a one-liner', { skip }, async () => {
  const pkg = await imagePackage(pythonTree(), {
    runtime: 'exec',
    image: { entrypoint: ['/usr/bin/python3.11', '-S', '-c', 'import sys; sys.stdout.write(sys.stdin.read()[::-1])'] },
  });
  await deploy('img-py', pkg);
  assert.deepEqual(await call('img-py', 'abc def'), { status: 200, text: 'fed cba' });
});

test('a command, user or working directory missing from the image refuses the deploy (422), nothing deployed', { skip }, async () => {
  const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['img-bad-cmd', { entrypoint: ['/bin/not-there'] }, 'handler-check-failed', /not-there' is not an executable file in the image/],
    ['img-bad-name', { entrypoint: ['nothere'] }, 'handler-check-failed', /nothere' is not an executable file in the image \(searched its PATH/],
    ['img-bad-user', { entrypoint: ['/bin/cat'], user: 'nobody-here' }, 'handler-check-failed', /user 'nobody-here' is not in the image's \/etc\/passwd/],
    ['img-bad-dir', { entrypoint: ['/bin/cat'], workdir: '/nowhere' }, 'handler-check-failed', /working directory '\/nowhere' is not a directory/],
    ['img-no-cmd', {}, 'invalid-manifest', /names no Entrypoint or Cmd/],
  ];
  for (const [name, image, code, message] of cases) {
    const p = await expectProblem(await upload(name, await imagePackage(busyboxTree(), { runtime: 'exec', image })), 422, code, name);
    assert.match(p.detail, message, name);
    assert.equal((await ferry.api('GET', `/v1/functions/${name}`)).status, 404, `${name} must not exist`);
  }
});

test("an image version's limits hold: more memory than limits.memoryMb is refused", { skip }, async () => {
  // dd's 256 MiB buffer is touched as /dev/zero is read into it.
  const pkg = await imagePackage(busyboxTree(), { runtime: 'exec', limits: { memoryMb: 96 }, image: { entrypoint: sh('dd if=/dev/zero of=/dev/null bs="$(cat)" count=1 2>/dev/null && echo ok') } });
  await deploy('img-mem', pkg);
  assert.deepEqual(await call('img-mem', '1M'), { status: 200, text: 'ok\n' });
  const big = await call('img-mem', '256M');
  assert.notEqual(big.status, 200, `256 MiB under a 96 MB limit must fail: ${big.text}`);
});

test("root in the image is not root on the host: the instance's processes run as the unprivileged instance uid", { skip }, async () => {
  // No User: Docker's default, uid 0 inside the sandbox's user namespace.
  await deploy('img-root', await imagePackage(busyboxTree(), { runtime: 'exec', image: { entrypoint: sh('id -u; sleep 30 >/dev/null 2>&1 & echo started') } }));
  assert.deepEqual(await call('img-root'), { status: 200, text: '0\nstarted\n' });
  const [inst] = await listInstances(ferry, 'img-root');
  assert.ok(inst?.pid, 'the instance has a pid');
  const uids = [...descendants(inst.pid)].map((pid) => {
    try {
      return { pid, uids: /^Uid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!.split(/\s+/).map(Number) };
    } catch {
      return undefined; // gone meanwhile
    }
  }).filter((x) => x !== undefined);
  // The instance's processes (bwrap, the shim, the sleep left behind): never host uid 0.
  assert.ok(uids.length >= 3, `the instance's processes: ${JSON.stringify(uids)}`);
  for (const u of uids) assert.ok(u.uids.every((id) => id !== 0), `pid ${u.pid} runs with host uids ${u.uids.join(' ')}`);
});

test("egress: the network's resolv.conf replaces the image's, the image's other /etc files stay", { skip }, async () => {
  const pkg = await imagePackage(busyboxTree({ 'etc/resolv.conf': 'nameserver 192.0.2.1\n', 'etc/motd': 'image motd\n' }), {
    runtime: 'exec',
    network: 'egress',
    image: { entrypoint: sh('grep -c 192.0.2.1 /etc/resolv.conf; grep -c Ferry /etc/resolv.conf; cat /etc/motd; id -un') , user: 'app' },
  });
  await deploy('img-egress', pkg);
  assert.deepEqual(await call('img-egress'), { status: 200, text: '0\n1\nimage motd\napp\n' });
});

test('the process driver refuses image versions: it cannot give an instance a root of its own', { skip }, async () => {
  const dev = await startFerry({ args: ['--driver', 'process', '--unsandboxed'] });
  try {
    const pkg = await imagePackage(busyboxTree(), { runtime: 'exec', image: { entrypoint: ['/bin/cat'] } });
    const res = await dev.api('POST', '/v1/functions/img-dev/versions', pkg.archive, { 'content-type': 'application/x-docker-archive', 'ferry-manifest': pkg.manifest });
    const p = await expectProblem(res, 422, 'invalid-manifest');
    assert.match(p.detail, /need the bwrap driver/);
  } finally {
    await disposeFerry(dev);
  }
});

test("an image command's stderr reaches the function's logs with its call's request id", { skip }, async () => {
  await deploy('img-log', await imagePackage(busyboxTree(), { runtime: 'exec', image: { entrypoint: sh('echo "image says $(cat)" >&2; echo ok') } }));
  const res = await fetch(`${ferry.url}/fn/img-log`, { method: 'POST', body: 'marker-7' });
  assert.equal(await res.text(), 'ok\n');
  const rid = res.headers.get('x-request-id');
  let body = '';
  const found = await until(async () => {
    body = await (await ferry.api('GET', '/v1/functions/img-log/logs')).text();
    return body.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { line: string; requestId?: string; stream?: string }).find((l) => l.line === 'image says marker-7');
  });
  assert.ok(found, `no 'image says marker-7' in the logs:\n${body}`);
  assert.deepEqual([found.requestId, found.stream], [rid, 'stderr']);
});
