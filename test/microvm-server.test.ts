// The microvm tier through a real server: `--sandbox-tiers microvm` with its pool settings, a
// python function whose ferry.json asks for `"tier": "microvm"` deployed through the API (the
// deploy-time check runs in the tier), called, and answering from its own kernel; the API and the
// answer name the tier. Container image versions in the tier too, uploaded as `docker save`
// archives: a busybox `exec` (its user, working directory and tree as `/` checked from inside),
// busybox httpd as `http`, and a glibc image (Debian's python3.11). An ad-hoc run (`POST /v1/run`)
// naming the tier runs in a guest too. One pooled VM (emulated here), booted while the server
// starts; each start takes one and the next boots behind it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFerry, disposeFerry, type Ferry } from './support/ferry.js';
import { busyboxTree, imagePackage, pythonTree, type ImageUpload } from './support/image-trees.js';
import { ensureMicrovmRoot, microvmMissing } from './support/microvm-root.js';
import { usableKvm } from '../src/sandbox/host/kvm.js';

const why = microvmMissing();
const skip = why && process.env['CI'] !== 'true' ? `the microvm tier cannot run here: ${why}` : false;
let ferry: Ferry | undefined;
let dataDir = '';

before(async () => {
  if (skip) return;
  dataDir = await mkdtemp(join(tmpdir(), 'ferry-microvm-server-'));
  // The server's root is `<data-dir>/microvm` (`ferry rootfs build`); the suite's is built once.
  await symlink(await ensureMicrovmRoot(), join(dataDir, 'microvm'));
  // KVM first, whatever the host offers: where it cannot run the guest (missing, or PVM as on
  // the machines this suite is sized for) the first VM is booted again emulated, and so is every
  // later one (the test below checks the log says so).
  ferry = await startFerry({ dataDir, args: ['--driver', 'bwrap', '--sandbox-tiers', 'microvm', '--microvm-accel', 'kvm', '--microvm-pool', '1', '--microvm-egress-pool', '0', '--pool-size', '0', '--allow-run'] });
});
after(async () => {
  if (ferry) await disposeFerry(ferry);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test('a function asking for the microvm tier is deployed through the API and answers from its own kernel', { skip, timeout: 600_000 }, async () => {
  const f = ferry!;
  const { version } = await f.deploy('in-vm', {
    'ferry.json': JSON.stringify({ runtime: 'python', handler: 'main.py', tier: 'microvm' }),
    'main.py': 'def handler(req, ctx):\n    return {"cmdline": open("/proc/cmdline").read(), "cpus": open("/proc/cpuinfo").read().count("processor")}\n',
  });
  const res = await fetch(`${f.url}/fn/in-vm`);
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get('x-ferry-sandbox'), 'microvm');
  const body = (await res.json()) as { cmdline: string; cpus: number };
  // The guest's kernel was booted by QEMU with the tier's command line, not the host's.
  assert.notEqual(body.cmdline.trim(), readFileSync('/proc/cmdline', 'utf8').trim());
  assert.match(body.cmdline, /console=/);
  const v = (await (await f.api('GET', `/v1/functions/in-vm/versions/${version}`)).json()) as { sandbox?: string };
  assert.equal(v.sandbox, 'microvm');
  // Its check loaded the handler, the function's own code: in the version's tier, not moved.
  assert.doesNotMatch(await buildLogOf('in-vm', version), /check: in the default tier/);
  // A second call is served by the same warm guest.
  const again = await fetch(`${f.url}/fn/in-vm`);
  assert.equal(again.status, 200);
  assert.deepEqual(await again.json(), body);
});

test('--microvm-accel kvm on a host whose KVM cannot run the guest: the VM is booted again emulated, and the log says why', { skip: skip || usableKvm().ok, timeout: 60_000 }, () => {
  const log = ferry!.output.join('\n');
  assert.match(log, /microvm: guests run KVM \(--microvm-accel kvm\)/);
  assert.match(log, /microvm: guests run emulated \(TCG\): a VM did not boot on KVM \(the microVM did not boot: [^)]*\); every VM from now on is emulated/);
});

/** Uploads an image version in the microvm tier; answers the version. */
async function deployImage(name: string, pkg: ImageUpload): Promise<string> {
  const res = await ferry!.api('POST', `/v1/functions/${name}/versions`, pkg.archive, { 'content-type': 'application/x-docker-archive', 'ferry-manifest': pkg.manifest });
  const text = await res.text();
  assert.equal(res.status, 201, `deploy ${name}: ${text}`);
  return (JSON.parse(text) as { version: string }).version;
}

async function buildLogOf(name: string, version: string): Promise<string> {
  const res = await ferry!.api('GET', `/v1/functions/${name}/versions/${version}/build-log`);
  assert.equal(res.status, 200);
  return res.text();
}

async function call(name: string, body?: string, path = ''): Promise<{ status: number; text: string; tier: string | null }> {
  const res = await fetch(`${ferry!.url}/fn/${name}${path}`, body === undefined ? {} : { method: 'POST', body });
  return { status: res.status, text: await res.text(), tier: res.headers.get('x-ferry-sandbox') };
}

test("image versions in the microvm tier: exec and http from busybox, and a glibc python, the image's tree as /", { skip, timeout: 600_000 }, async () => {
  const sh = (script: string): string[] => ['/bin/sh', '-c', script];
  // The guest was booted (pooled) before it knew the image; the agent makes the image's tree the
  // instance's `/`, enters it as the image's user and working directory, and talks frames.
  const probe = [
    'id -u; id -g; pwd; cat note.txt; cat',
    'echo; ls -a / | busybox tr "\\n" " "; echo',
    '[ -e /pkg ] && echo "seen /pkg"; [ -e /usr/bin/busybox ] && echo "seen the guest root"',
    'touch /x 2>/dev/null && echo "wrote /"; touch /bin/x 2>/dev/null && echo "wrote /bin"; touch /tmp/x && echo "wrote /tmp"',
    'ls /proc | busybox grep -c "^[0-9]"',
  ].join('; ');
  const whoVersion = await deployImage('vm-img-who', await imagePackage(busyboxTree({ 'srv/data/note.txt': 'a note in the image\n' }), {
    runtime: 'exec',
    tier: 'microvm',
    image: { entrypoint: sh(probe), user: 'app', workdir: '/srv/data' },
  }));
  // Its deploy check only looked for the command in the tree (no code of the function ran): in
  // the default tier, so no VM was booted for it and the pooled one is left for the first call.
  assert.match(await buildLogOf('vm-img-who', whoVersion), /check: in the default tier \(bwrap\), not 'microvm': it runs none of the function's code/);
  const who = await call('vm-img-who', 'the body');
  assert.equal(who.status, 200, who.text);
  assert.equal(who.tier, 'microvm');
  const [uid, gid, cwd, note, body, listing, ...rest] = who.text.split('\n');
  assert.deepEqual([uid, gid, cwd, note, body], ['1234', '2345', '/srv/data', 'a note in the image', 'the body']);
  // The image's entries and Ferry's own (/.ferry, /dev, /proc, /run, /tmp); nothing of the guest's root.
  assert.deepEqual(listing!.trim().split(' ').filter((n) => n !== '.' && n !== '..'), ['.ferry', 'bin', 'dev', 'etc', 'proc', 'run', 'srv', 'tmp']);
  // Only /tmp is writable; /proc shows the instance's own processes (the shim, the shell, ls), never the agent's.
  assert.equal(rest[0], 'wrote /tmp', who.text);
  assert.ok(Number(rest[1]) >= 1 && Number(rest[1]) <= 6, `processes seen in /proc: ${rest[1]}`);

  await deployImage('vm-img-web', await imagePackage(busyboxTree({ 'www/index.html': '<p>from the image, in a VM</p>\n' }), {
    runtime: 'http',
    tier: 'microvm',
    image: { entrypoint: sh('exec httpd -f -p "$PORT" -h /www'), user: 'app' },
  }));
  assert.deepEqual(await call('vm-img-web', undefined, '/index.html'), { status: 200, text: '<p>from the image, in a VM</p>\n', tier: 'microvm' });

  await deployImage('vm-img-py', await imagePackage(pythonTree(), {
    runtime: 'exec',
    tier: 'microvm',
    image: { entrypoint: ['/usr/bin/python3.11', '-S', '-c', 'import sys; sys.stdout.write(sys.stdin.read()[::-1])'] },
  }));
  assert.deepEqual(await call('vm-img-py', 'abc def'), { status: 200, text: 'fed cba', tier: 'microvm' });

  // A command missing from the image is refused at deploy, in this tier as in the others.
  const bad = await imagePackage(busyboxTree(), { runtime: 'exec', tier: 'microvm', image: { entrypoint: ['/bin/not-there'] } });
  const res = await ferry!.api('POST', '/v1/functions/vm-img-bad/versions', bad.archive, { 'content-type': 'application/x-docker-archive', 'ferry-manifest': bad.manifest });
  const problem = (await res.json()) as { code: string; detail: string };
  assert.equal(res.status, 422, JSON.stringify(problem));
  assert.match(problem.detail, /not-there' is not an executable file in the image/);
  assert.equal((await ferry!.api('GET', '/v1/functions/vm-img-bad')).status, 404);
});

test('an ad-hoc run names the microvm tier: it runs in a guest of its own', { skip, timeout: 600_000 }, async () => {
  const f = ferry!;
  const res = await fetch(`${f.url}/v1/run`, {
    method: 'POST',
    headers: { authorization: `Bearer ${f.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ command: ['python3', '-c', 'print(open("/proc/cmdline").read().strip())'], sandbox: 'microvm' }),
  });
  const body = (await res.json()) as { exitCode?: number; stdout?: string };
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.exitCode, 0, JSON.stringify(body));
  assert.match(String(body.stdout), /console=hvc0/, 'the guest kernel\'s command line, not the host\'s');
});
