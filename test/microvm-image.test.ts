// A container image version in the microvm tier: a guest booted with the host-mode root (emulated
// here) before it knows the image, as a pooled one is, is handed a busybox image as its package,
// and the agent makes the image's tree the instance's `/` (Ferry's Node and exec shim bound under
// /.ferry). The exec runtime's shim answers over the same frames channel as every microvm
// instance. One boot (no pool: nothing boots behind it), and every check is made by one call.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { CallSignal, defaultExecutionSettings, defaultLimits, defaultPrivacySettings, defaultSandbox, defaultScaling, type EffectiveConfig, type SandboxDriver } from '../src/core/index.js';
import { makeMicrovmDriver } from '../src/sandbox/microvm/index.js';
import { execRuntime } from '../src/runtime/exec/exec-runtime.js';
import { MemoryWriter } from '../src/service/memory-writer.js';
import { busyboxTree } from './support/image-trees.js';
import { ensureMicrovmRoot, microvmMissing } from './support/microvm-root.js';

const why = microvmMissing();
const skip = why && process.env['CI'] !== 'true' ? `the microvm tier cannot run here: ${why}` : false;

let driver: (SandboxDriver & { close(): Promise<void> }) | undefined;
let dataDir = '';
let tree = '';
before(async () => {
  if (skip) return;
  dataDir = join('/tmp', `ferry-microvm-image-${randomUUID().slice(0, 8)}`);
  await mkdir(join(dataDir, 'run'), { recursive: true, mode: 0o711 });
  await chmod(dataDir, 0o711);
  tree = await busyboxTree({ 'srv/data/note.txt': 'a note in the image\n' });
  await chmod(tree, 0o755);
  driver = await makeMicrovmDriver({ dataDir, rootfsDir: await ensureMicrovmRoot(), sandboxUid: 2_000_000, poolSize: 0, bootTimeoutMs: 240_000 });
});
after(async () => {
  await driver?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  if (tree) await rm(tree, { recursive: true, force: true });
});

test("an image version runs in a microVM booted before it knows the image, the image's tree as /, its user and working directory, over the frames channel", { skip }, async () => {
  const d = driver!;
  const id = `img-${randomUUID().slice(0, 8)}`;
  const runDir = join(dataDir, 'run', id);
  await mkdir(runDir, { mode: 0o700 });
  const probe = [
    'id -u; id -g; pwd; cat note.txt; cat',
    'echo; ls -a / | busybox tr "\\n" " "; echo',
    '[ -e /pkg ] && echo "seen /pkg"; [ -e /usr/bin/busybox ] && echo "seen the guest root"',
    'touch /x 2>/dev/null && echo "wrote /"; touch /bin/x 2>/dev/null && echo "wrote /bin"; touch /tmp/x && echo "wrote /tmp"',
    'ls /proc | busybox grep -c "^[0-9]"',
  ].join('; ');
  const config: EffectiveConfig = {
    runtime: 'exec', handler: undefined, command: undefined, env: {}, secrets: [],
    ...defaultExecutionSettings, ...defaultPrivacySettings, recordPayloads: false, invoke: 'public',
    scaling: defaultScaling, limits: defaultLimits, sandbox: { ...defaultSandbox, network: 'none' },
    image: { entrypoint: ['/bin/sh', '-c', probe], user: 'app', workdir: '/srv/data', config: { entrypoint: [], cmd: [], env: [], workingDir: '', user: '', exposedPorts: [] } },
  };
  const view = d.view({ packageDir: tree, runDir, root: 'package' });
  const plan = execRuntime.launch({ instanceId: id, view, packageDir: tree, config, env: { FERRY_FUNCTION: 'img' }, port: 0, networkIsolated: true });
  const proc = await d.spawn({
    instanceId: id, argv: plan.argv, env: plan.env, packageDir: tree, runDir, cwd: plan.cwd, root: 'package', ...(plan.user && { user: plan.user }),
    limits: config.limits, sandbox: config.sandbox, rootfs: plan.rootfs, runtime: 'exec', channel: 'frames',
  });
  let output = '';
  proc.child.stdout?.setEncoding('utf8').on('data', (s: string) => (output += s));
  proc.child.stderr?.setEncoding('utf8').on('data', (s: string) => (output += s));
  const connector = execRuntime.connect({ dial: () => proc.dial() });
  try {
    await connector.ready(AbortSignal.timeout(240_000)).catch((err: Error) => {
      throw new Error(`${err.message}; the instance printed: ${output.slice(-1500)}`);
    });
    const answer = new MemoryWriter(1 << 20);
    await connector.dispatch({ method: 'POST', path: '/', headers: [], body: Readable.from([Buffer.from('the body')]), bodyLength: 8 }, answer, { requestId: randomUUID(), signal: new CallSignal(), onHeaders() {}, extraHeaders: [] });
    const text = answer.body().toString('utf8');
    assert.equal(answer.statusCode, 200, `${text}; the instance printed: ${output.slice(-1500)}`);
    const [uid, gid, cwd, note, body, listing, ...rest] = text.split('\n');
    assert.deepEqual([uid, gid, cwd, note, body], ['1234', '2345', '/srv/data', 'a note in the image', 'the body']);
    // The image's entries and Ferry's own (/.ferry, /dev, /proc, /run, /tmp); nothing of the guest's root.
    assert.deepEqual(listing!.trim().split(' ').filter((n) => n !== '.' && n !== '..'), ['.ferry', 'bin', 'dev', 'etc', 'proc', 'run', 'srv', 'tmp']);
    // Only /tmp is writable; /proc shows the instance's own processes (the shim, the shell, ls), never the agent's.
    assert.equal(rest[0], 'wrote /tmp', text);
    assert.ok(Number(rest[1]) >= 1 && Number(rest[1]) <= 6, `processes seen in /proc: ${rest[1]}`);
  } finally {
    connector.close();
    await proc.stop(1000);
  }
});
