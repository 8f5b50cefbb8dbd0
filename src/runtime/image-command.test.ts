import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FerryError } from '../errors/index.js';
import { defaultLimits, defaultSandbox, defaultScaling, type EffectiveConfig, type ManifestImage } from '../core/index.js';
import { findProgramInTree, resolveInTree } from './image-tree.js';
import { imageCommand, imageUser } from './image-command.js';
import { runDirAddresses } from '../sandbox/socket-channel/index.js';
import { imageRootfsView } from '../sandbox/bwrap/image-root.js';
import { launcherFor } from '../sandbox/bwrap/host-libraries.js';

// A tree on disk as an image's root file system; beside it (outside the tree) a host file of the
// same name as one the tree's links point at.
const base = mkdtempSync(join(tmpdir(), 'ferry-image-tree-'));
after(() => rmSync(base, { recursive: true, force: true }));
const root = join(base, 'root');
const put = (rel: string, content: string, mode = 0o644): void => {
  mkdirSync(join(root, rel, '..'), { recursive: true });
  writeFileSync(join(root, rel), content, { mode });
};
put('bin/busybox', '#!/bin/true\n', 0o755);
symlinkSync('busybox', join(root, 'bin/sh'));
put('usr/local/bin/tool', 'x', 0o755);
put('etc/passwd', '# comment\nroot:x:0:0::/root:/bin/sh\napp:x:1234:2345::/home/app:/bin/sh\n');
put('etc/group', 'root:x:0:\nstaff:x:50:\n');
put('etc/notexec', 'x');
mkdirSync(join(root, 'srv'));
// Absolute links, as images have them: they mean the image's /, never the host's.
symlinkSync('/usr/local/bin/tool', join(root, 'bin/abs-tool'));
symlinkSync(`${base}/outside`, join(root, 'bin/host-file'));
symlinkSync('../../../../../../outside', join(root, 'bin/climb'));
symlinkSync('loop-b', join(root, 'bin/loop-a'));
symlinkSync('loop-a', join(root, 'bin/loop-b'));
writeFileSync(join(base, 'outside'), '#!/bin/sh\n', { mode: 0o755 });

test('paths resolve inside the tree: absolute links and .. stay in it, loops end', () => {
  assert.equal(resolveInTree(root, '/bin/abs-tool')?.hostPath, join(root, 'usr/local/bin/tool'));
  assert.equal(resolveInTree(root, '/bin/sh')?.hostPath, join(root, 'bin/busybox'));
  assert.equal(resolveInTree(root, '/../../bin/sh')?.hostPath, join(root, 'bin/busybox'));
  // Both would reach `outside` on the host; in the tree there is no such file.
  assert.equal(resolveInTree(root, '/bin/host-file'), undefined);
  assert.equal(resolveInTree(root, '/bin/climb'), undefined);
  assert.equal(resolveInTree(root, '/bin/loop-a'), undefined);
  assert.equal(resolveInTree(root, '/etc/passwd/x'), undefined);
});

test('a program is found on the PATH inside the tree, keeping the name it was called by', () => {
  assert.equal(findProgramInTree(root, 'sh', '/usr/local/bin:/bin', '/'), '/bin/sh');
  assert.equal(findProgramInTree(root, 'tool', 'relative:/usr/local/bin', '/'), '/usr/local/bin/tool');
  assert.equal(findProgramInTree(root, '../bin/sh', '/bin', '/srv'), '/bin/sh');
  assert.equal(findProgramInTree(root, '/etc/notexec', '/bin', '/'), undefined);
  assert.equal(findProgramInTree(root, 'host-file', '/bin', '/'), undefined);
  assert.equal(findProgramInTree(root, 'busybox', '/usr/bin', '/'), undefined);
});

test("users by name or number from the image's /etc/passwd and /etc/group", () => {
  assert.deepEqual(imageUser(root, ''), { uid: 0, gid: 0 });
  assert.deepEqual(imageUser(root, 'app'), { uid: 1234, gid: 2345 });
  assert.deepEqual(imageUser(root, '1234'), { uid: 1234, gid: 2345 });
  assert.deepEqual(imageUser(root, '777'), { uid: 777, gid: 0 });
  assert.deepEqual(imageUser(root, 'app:staff'), { uid: 1234, gid: 50 });
  assert.deepEqual(imageUser(root, '5:6'), { uid: 5, gid: 6 });
  for (const bad of ['ghost', 'app:ghosts', '4294967295']) {
    assert.throws(() => imageUser(root, bad), (e: unknown) => e instanceof FerryError && e.code === 'instance-start-failed', bad);
  }
});

const config = (image: ManifestImage, env: Record<string, string> = {}): EffectiveConfig => ({
  runtime: 'exec', handler: undefined, command: undefined, env, secrets: [], scaling: defaultScaling, limits: defaultLimits, invoke: 'public',
  asyncTimeoutMs: 1000, retries: 0, maxConcurrentExecutions: 0, recordPayloads: false, errors: 'private', recordCredentials: false, sandbox: defaultSandbox, image,
});

test("an image command: the image's env under the version's, the program on the merged PATH", () => {
  const image: ManifestImage = { config: { entrypoint: ['tool'], cmd: ['-v'], env: ['PATH=/bin', 'A=image', 'B=image'], workingDir: '/srv', user: 'app', exposedPorts: ['8080/tcp'] } };
  const c = imageCommand(config(image), root, { A: 'version', PATH: '/usr/local/bin' });
  assert.deepEqual(c, { argv: ['/usr/local/bin/tool', '-v'], env: { PATH: '/usr/local/bin', A: 'version', B: 'image' }, cwd: '/srv', user: { uid: 1234, gid: 2345 }, exposedPort: 8080 });
  assert.throws(() => imageCommand(config(image), root, {}), (e: unknown) => e instanceof FerryError && /searched its PATH \/bin/.test(e.message));
  assert.throws(() => imageCommand(config({ ...image, workdir: '/etc/passwd' }), root, { PATH: '/usr/local/bin' }), /working directory/);
});

test("the runtimes' plans for an image: Ferry's Node through the view's launcher, PORT from ExposedPorts in an own network", async () => {
  const { execRuntime } = await import('./exec/exec-runtime.js');
  const { httpRuntime } = await import('./http/http-runtime.js');
  const view = { packageDir: '/', runDir: '/run/ferry', channel: runDirAddresses('/run/ferry'), rootfs: imageRootfsView };
  const image: ManifestImage = { config: { entrypoint: ['/bin/sh'], cmd: ['-c', 'serve'], env: ['A=1'], workingDir: '/srv', user: 'app', exposedPorts: ['9000/tcp'] } };
  const ctx = { instanceId: 'i', view, packageDir: root, config: config(image, { B: '2' }), env: { B: '2' }, port: 41000, networkIsolated: true };
  const exec = execRuntime.launch(ctx);
  assert.deepEqual(exec.argv.slice(0, 4), [...launcherFor(process.execPath), `/.ferry${process.execPath}`]);
  assert.match(exec.argv[0]!, /^\/\.ferry\/lib\/ld-/);
  assert.match(exec.argv[4]!, /^\/\.ferry\/.*\/exec\/shim\.js$/);
  assert.deepEqual([exec.env.FERRY_COMMAND, exec.env.A, exec.env.B, exec.cwd, exec.user], [JSON.stringify(['/bin/sh', '-c', 'serve']), '1', '2', '/srv', { uid: 1234, gid: 2345 }]);
  const http = httpRuntime.launch({ ...ctx, config: { ...config(image), runtime: 'http' } });
  assert.equal(http.env.PORT, '9000');
  assert.match(http.argv[4]!, /^\/\.ferry\/.*\/http\/relay\.js$/);
  assert.deepEqual(http.argv.slice(5), ['--', '/bin/sh', '-c', 'serve']);
  assert.equal(httpRuntime.launch({ ...ctx, config: { ...config(image), runtime: 'http', port: 7000 } }).env.PORT, '7000');
  // On the host's network the image's port could be taken: a free one.
  const onHost = httpRuntime.launch({ ...ctx, networkIsolated: false, config: { ...config(image), runtime: 'http' } });
  assert.deepEqual([onHost.env.PORT, onHost.argv], ['41000', ['/bin/sh', '-c', 'serve']]);
});
