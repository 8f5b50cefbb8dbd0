/**
 * Container image archives through the real upload route: a `docker save` archive and an OCI
 * image layout of a busybox image become versions whose package is the flattened root file
 * system (links kept, whiteouts applied) and whose manifest carries the image; every unsafe or
 * lying image is refused with its code and leaves no version and no package behind.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFerry, disposeFerry, packFiles, type Ferry } from './support/ferry.js';
import { expectProblem, runCli, show } from './support/helpers.js';
import {
  bombLayer,
  busyboxHttpImage,
  busyboxImage,
  deviceLayer,
  dockerSave,
  dockerSaveArchive,
  dotDotLayer,
  ociLayout,
  ociLayoutArchive,
  symlinkEscapeLayers,
  whiteoutLayer,
} from './support/images.js';

const DOCKER = 'application/x-docker-archive';
const OCI = 'application/vnd.oci.image.layout.v1+tar';

let ferry: Ferry;
before(async () => {
  // 8 MiB: room for busybox (2 MiB), none for the 16 MiB bomb.
  ferry = await startFerry({ args: ['--image-max-bytes', '8m'] });
});
after(() => disposeFerry(ferry));

interface VersionView {
  version: string;
  packageSha: string;
  manifest: { runtime: string; env?: Record<string, string>; image: { source: string; digest: string; cmd?: string[]; config: { entrypoint: string[]; cmd: string[]; env: string[]; user: string; exposedPorts: string[] } } };
}

async function upload(name: string, archive: Buffer, type: string, headers: Record<string, string> = {}): Promise<Response> {
  return ferry.api('POST', `/v1/functions/${name}/versions`, archive, { 'content-type': type, ...headers });
}

async function deployed(res: Response): Promise<VersionView> {
  const body = (await res.json()) as VersionView;
  assert.equal(res.status, 201, JSON.stringify(body));
  return body;
}

const packageDir = (v: VersionView): string => join(ferry.dataDir, 'packages', v.packageSha);

test('a docker save archive becomes an exec version: the root file system as its package, the image in its manifest', async () => {
  const { archive, digest } = dockerSave(busyboxImage([whiteoutLayer()]));
  const v = await deployed(await upload('bb-docker', archive, DOCKER));
  assert.equal(v.manifest.runtime, 'exec', 'no exposed port: exec');
  assert.equal(v.manifest.image.source, 'archive');
  assert.equal(v.manifest.image.digest, digest);
  assert.deepEqual(v.manifest.image.config.entrypoint, ['/bin/sh', '-c']);
  assert.deepEqual(v.manifest.image.config.cmd, ['cat']);
  assert.equal(v.manifest.image.config.user, 'app');

  const root = packageDir(v);
  const busybox = await lstat(join(root, 'bin/busybox'));
  assert.ok(busybox.isFile() && (busybox.mode & 0o111) !== 0 && (busybox.mode & 0o6000) === 0, 'executable, setuid dropped');
  assert.equal((await lstat(join(root, 'bin/cat'))).ino, busybox.ino, 'hard link kept');
  assert.ok(!existsSync(join(root, 'etc/group')), 'whiteout applied');
  assert.deepEqual(await readdir(join(root, 'usr/bin')), ['hello'], 'opaque directory applied');
  assert.match(await readFile(join(root, 'etc/passwd'), 'utf8'), /^app:x:1000/m);

  const log = await (await ferry.api('GET', `/v1/functions/bb-docker/versions/${v.version}/build-log`)).text();
  assert.match(log, /^layer sha256:[0-9a-f]{12} /m);
  assert.match(log, /^flattened: \d+ entries/m);
});

test('an OCI image layout exposing a port becomes an http version; absolute symlinks are kept', async () => {
  const { archive, digest } = ociLayout(busyboxHttpImage());
  const v = await deployed(await upload('bb-oci', archive, OCI));
  assert.equal(v.manifest.runtime, 'http', 'an exposed port: http');
  assert.equal(v.manifest.image.digest, digest);
  assert.deepEqual(v.manifest.image.config.exposedPorts, ['8080/tcp']);
  const root = packageDir(v);
  assert.equal(await readFile(join(root, 'www/index.html'), 'utf8'), 'hello from an image\n');
  assert.equal(await readlink(join(root, 'usr/bin/env')), '/bin/busybox');
  assert.equal(await readlink(join(root, 'bin/sh')), 'busybox');
});

test('Ferry-Manifest sets the runtime, env and image overrides; progress streams as ndjson', async () => {
  const manifest = { runtime: 'exec', env: { MODE: 'test' }, image: { cmd: ['echo hi'], workdir: '/tmp' } };
  const res = await upload('bb-manifest', ociLayoutArchive(busyboxImage()), OCI, { 'ferry-manifest': JSON.stringify(manifest), accept: 'application/x-ndjson' });
  assert.equal(res.status, 200);
  const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as { log?: string; status?: number; version?: VersionView });
  assert.ok(lines.some((l) => l.log?.startsWith('layer sha256:')), 'layer progress line');
  assert.ok(lines.some((l) => l.log?.startsWith('flattened:')), 'flatten progress line');
  const last = lines.at(-1)!;
  assert.equal(last.status, 201, JSON.stringify(last));
  assert.deepEqual(last.version!.manifest.env, { MODE: 'test' });
  assert.deepEqual(last.version!.manifest.image.cmd, ['echo hi']);
  assert.equal(last.version!.manifest.image.source, 'archive');
});

/** Every package and staging entry of the data dir: a refusal must leave it as it was. */
async function storedPackages(): Promise<string[]> {
  return (await readdir(join(ferry.dataDir, 'packages'))).filter((n) => n !== '.staging').concat(await readdir(join(ferry.dataDir, 'packages', '.staging')));
}

async function refusedUpload(name: string, archive: Buffer, type: string, status: number, code: string, words: string[], headers: Record<string, string> = {}): Promise<void> {
  const before = await storedPackages();
  const p = await expectProblem(await upload(name, archive, type, headers), status, code, name);
  for (const w of words) assert.ok(String(p.detail).includes(w), `${name}: '${p.detail}' should name ${w}`);
  assert.deepEqual(await storedPackages(), before, `${name}: nothing stored`);
  await expectProblem(await ferry.api('GET', `/v1/functions/${name}`), 404, 'function-not-found', name);
}

test('unsafe or lying images are refused, naming the layer and entry, and nothing is stored', async () => {
  await refusedUpload('evil-symlink', dockerSaveArchive(busyboxImage(symlinkEscapeLayers('/etc'))), DOCKER, 422, 'image-invalid', ['layer sha256:', 'evil/ferry-escaped']);
  assert.ok(!existsSync('/etc/ferry-escaped'));
  await refusedUpload('evil-dotdot', ociLayoutArchive(busyboxImage([dotDotLayer()])), OCI, 422, 'image-invalid', ['layer sha256:', 'bin/../../ferry-escaped']);
  await refusedUpload('evil-device', ociLayoutArchive(busyboxImage([deviceLayer()])), OCI, 422, 'image-invalid', ['dev/sda']);
  await refusedUpload('evil-blob', ociLayoutArchive(busyboxImage(), { corruptBlob: true }), OCI, 422, 'image-invalid', ['does not match its digest']);
  await refusedUpload('evil-diffid', dockerSaveArchive(busyboxImage([whiteoutLayer()]), { wrongDiffId: true }), DOCKER, 422, 'image-invalid', ['layer sha256:', 'diff_ids']);
  await refusedUpload('evil-bomb', ociLayoutArchive(busyboxImage([bombLayer(16)])), OCI, 413, 'image-too-large', ['layer sha256:', '--image-max-bytes']);
});

test('image manifests are checked: no ref beside an archive, exec or http only, no handler, and no image inside a package', async () => {
  const archive = ociLayoutArchive(busyboxImage());
  await refusedUpload('bad-ref', archive, OCI, 422, 'invalid-manifest', ['image.ref'], { 'ferry-manifest': JSON.stringify({ image: { ref: 'registry.example/busybox:1' } }) });
  await refusedUpload('bad-runtime', archive, OCI, 422, 'invalid-manifest', ["'exec' or 'http'"], { 'ferry-manifest': JSON.stringify({ runtime: 'node' }) });
  await refusedUpload('bad-handler', archive, OCI, 422, 'invalid-manifest', ['no handler'], { 'ferry-manifest': JSON.stringify({ runtime: 'exec', handler: 'main.py' }) });
  await refusedUpload('bad-json', archive, OCI, 422, 'invalid-manifest', ['Ferry-Manifest'], { 'ferry-manifest': '{not json' });
  const pkg = Buffer.from(await packFiles({ 'ferry.json': JSON.stringify({ runtime: 'exec', image: {} }), 'run.sh': { content: '#!/bin/sh\n', mode: 0o755 } }));
  await refusedUpload('image-in-package', pkg, 'application/gzip', 422, 'invalid-manifest', ['image archive']);
});

test('ferry deploy --image-archive uploads an OCI layout with the folder\'s ferry.json, showing the layer lines', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'ferry-image-cli-'));
  t.after(() => rm(work, { recursive: true, force: true }));
  const archive = join(work, 'busybox.tar');
  await writeFile(archive, ociLayoutArchive(busyboxImage()));
  const dir = join(work, 'bb-cli');
  await mkdir(dir);
  await writeFile(join(dir, 'ferry.json'), JSON.stringify({ env: { WHO: 'Zoë' }, image: { cmd: ['echo hi'] } }));
  const r = await runCli(['deploy', '--image-archive', archive, dir], { env: { FERRY_URL: ferry.url, FERRY_TOKEN: ferry.token } });
  assert.equal(r.code, 0, show(r));
  assert.match(r.stderr, /layer sha256:[0-9a-f]{12} /);
  assert.match(r.stdout, /Deployed bb-cli v1/);
  const v = (await (await ferry.api('GET', '/v1/functions/bb-cli/versions/v1')).json()) as VersionView;
  assert.deepEqual(v.manifest.env, { WHO: 'Zoë' });
  assert.deepEqual(v.manifest.image.cmd, ['echo hi']);
  assert.equal(v.manifest.runtime, 'exec');
  // Without a folder, the name comes from the file.
  const bare = await runCli(['deploy', '--image-archive', archive], { env: { FERRY_URL: ferry.url, FERRY_TOKEN: ferry.token } });
  assert.equal(bare.code, 0, show(bare));
  assert.match(bare.stdout, /Deployed busybox v1/);
});
