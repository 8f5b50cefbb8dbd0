// The driver conformance suite (sandbox/driver.suite.ts) for the gvisor driver, on a data dir of
// its own, with `host` networks allowed so that policy is checked too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultLimits, defaultSandbox } from '../../core/index.js';
import { gvisorSupport } from '../../../test/support/gvisor.js';
import { busyboxTree } from '../../../test/support/image-trees.js';
import { pythonRuntime } from '../../runtime/python/python-runtime.js';
import { driverSuite } from '../driver.suite.js';
import { makeGvisorDriver } from './index.js';

const support = await gvisorSupport();

driverSuite({
  name: 'gvisor',
  skip: support.ok ? false : `the gvisor sandbox cannot run here: ${support.why}`,
  isolated: true,
  python: pythonRuntime,
  open: async (dataDir) => {
    const driver = await makeGvisorDriver({ dataDir, bindable: ['/usr/share'], allowHostNetwork: true, egressAllow: [], sandboxUid: 2_000_000 });
    await driver.cleanup();
    return { driver, close: () => driver.close() };
  },
});

// The pre-booted pool needs a package handed to a sandbox already running; gVisor's gofer opened
// each mount source when the sandbox started, so a package mounted there later is never seen.
// The driver offers no pool and says why (the server then starts every gvisor instance cold).
test('gvisor: no pre-booted pool, and the driver says why', { skip: support.ok ? false : support.why }, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'ferry-gvisor-pool-'));
  const driver = await makeGvisorDriver({ dataDir, bindable: [], allowHostNetwork: false, egressAllow: [], sandboxUid: 2_000_000 });
  try {
    assert.equal(driver.prestart, undefined);
    assert.equal(driver.handOff, undefined);
    assert.match(driver.poolUnavailable?.() ?? '', /gofer/);
  } finally {
    await driver.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

// The environment holds secrets and the instance's token: it reaches runsc in the bundle's
// config.json (0600, in a 0700 directory), which goes once runsc has read it, and never appears
// on a command line.
test('gvisor: the environment is in no command line, and its config.json is gone once the instance runs', { skip: support.ok ? false : support.why }, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'ferry-gvisor-env-'));
  await chmod(dataDir, 0o711);
  const driver = await makeGvisorDriver({ dataDir, bindable: [], allowHostNetwork: false, egressAllow: [], sandboxUid: 2_000_000 });
  const runDir = join(dataDir, 'run-env');
  await mkdir(runDir, { mode: 0o700 });
  const secret = `secret-${randomUUID()}`;
  const id = `env-${randomUUID().slice(0, 8)}`;
  const proc = await driver.spawn({
    instanceId: id, argv: ['/usr/bin/python3', '-c', 'import os, time\nprint(len(os.environ["X_SECRET"]), flush=True)\ntime.sleep(60)'], env: { X_SECRET: secret },
    packageDir: runDir, runDir, cwd: '/', limits: defaultLimits, sandbox: { ...defaultSandbox, network: 'none' }, rootfs: [],
  });
  try {
    let out = '';
    proc.child.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
    const bundle = join(dataDir, 'sandbox', 'gvisor', 'bundles', id);
    for (let i = 0; i < 600 && !out.includes(String(secret.length)); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(out, new RegExp(`^${secret.length}$`, 'm'), 'the instance got its environment');
    assert.equal((await stat(bundle)).mode & 0o777, 0o700);
    assert.deepEqual(await readdir(bundle).then((n) => n.filter((f) => f === 'config.json')), [], 'config.json is removed once read');
    for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      assert.ok(!cmdline.includes(secret), `pid ${pid} shows the secret on its command line`);
    }
  } finally {
    await proc.stop(500);
    await driver.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

// A container image version: the image's tree is `/` (a busybox image: no libc, no node), Ferry's
// Node runs from /.ferry through the host's loader, the channel works through the run dir, and
// under `egress` /etc/resolv.conf is Ferry's while the rest of the image's /etc stays. Nothing of
// the host's system is seen, the root is read-only, and the image's tree is left as it was.
test('gvisor: a container image runs with its own tree as /, under egress, reached over its channel', { skip: support.ok ? false : support.why }, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'ferry-gvisor-image-'));
  await chmod(dataDir, 0o711);
  const driver = await makeGvisorDriver({ dataDir, bindable: [], allowHostNetwork: false, egressAllow: [], sandboxUid: 2_000_000 });
  const image = await busyboxTree({ 'etc/hostname': 'image\n' });
  await chmod(image, 0o755);
  const runDir = join(dataDir, 'run-image');
  await mkdir(runDir, { mode: 0o700 });
  const view = driver.view({ packageDir: image, runDir, root: 'package' });
  const server = `require('net').createServer((s) => s.end(require('fs').readFileSync('/etc/hostname', 'utf8'))).listen(${JSON.stringify(view.channel.http)})`;
  const node = view.rootfs.command({ kind: 'node' }, ['-e', server]).map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const probe = 'id -u; cat /etc/resolv.conf; for p in /usr/bin/node /usr/lib /home /pkg; do [ -e "$p" ] && echo "seen $p"; done; touch /x /bin/x 2>/dev/null || echo read-only; exec ' + node;
  const proc = await driver.spawn({
    instanceId: `img-${randomUUID().slice(0, 8)}`, argv: ['/bin/sh', '-c', probe], env: { PATH: '/bin' }, packageDir: image, runDir, cwd: '/', root: 'package', user: { uid: 1234, gid: 2345 },
    limits: defaultLimits, sandbox: { ...defaultSandbox, network: 'egress' }, rootfs: [{ kind: 'node' }], channel: 'http',
  });
  try {
    let out = '';
    proc.child.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
    proc.child.stderr?.setEncoding('utf8').on('data', (s: string) => (out += s));
    let answer = '';
    for (let i = 0; i < 300 && !answer; i++) {
      answer = await proc.dial().then(async (s) => {
        let text = '';
        for await (const chunk of s) text += String(chunk);
        return text;
      }, () => new Promise<string>((r) => setTimeout(() => r(''), 100)));
    }
    assert.equal(answer, 'image\n', `the image's own /etc/hostname over the channel; the instance printed: ${out}`);
    assert.deepEqual(out.trim().split('\n'), ['2000000', '# Ferry egress: the network stack forwards these queries to the host\'s resolver.', 'nameserver 10.0.2.3', 'read-only']);
    assert.deepEqual((await readdir(image)).sort(), ['bin', 'etc'], 'the image tree gained no mount points');
  } finally {
    await proc.stop(500);
    await driver.close();
    await rm(dataDir, { recursive: true, force: true });
    await rm(image, { recursive: true, force: true });
  }
});
