// Deploying a registry image by reference, end to end: a real registry on loopback (Debian's
// docker-registry) holds a busybox image pushed by the test; Ferry pulls it through the API (a
// JSON ferry.json naming image.ref) and through `ferry deploy --image`, runs it in the sandbox,
// and refuses what it must: no image.ref, a registry outside --registry-allow, a private
// registry without the deployer's login.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFerry, disposeFerry, type Ferry } from './support/ferry.js';
import { busyboxImage, pushImage, skopeoPush, TestRegistry } from './support/registry.js';
import { runCli } from './support/helpers.js';
import { expectProblem } from './support/helpers.js';
import { sandboxSupport } from './support/sandbox.js';

const support = await sandboxSupport();
const skip = support.ok ? false : `the bwrap sandbox cannot run here: ${support.why}`;
const image = busyboxImage({ note: 'pulled by reference\n' });
const login = { username: 'deployer', password: `pw-${process.pid}` };
let open: TestRegistry;
let locked: TestRegistry;
let ferry: Ferry;

before(async () => {
  if (skip) return;
  open = await TestRegistry.start();
  await pushImage(open.base, 'tools/busybox', 'v1', image);
  const dir = mkdtempSync(join(tmpdir(), 'ferry-htpasswd-'));
  writeFileSync(join(dir, 'htpasswd'), execFileSync('htpasswd', ['-Bbn', login.username, login.password]));
  locked = await TestRegistry.start({ htpasswd: join(dir, 'htpasswd') });
  await skopeoPush(image, `${locked.host}/private/busybox:v1`, `${login.username}:${login.password}`);
  ferry = await startFerry({ args: ['--driver', 'bwrap', '--registry-allow', '127.0.0.1', '--insecure-registry', `${open.host},${locked.host}`] });
});

after(async () => {
  if (ferry) await disposeFerry(ferry);
  await open?.stop();
  await locked?.stop();
});

const json = { 'content-type': 'application/json' };

test('the API pulls an image named by image.ref, stores where it came from, and the version runs it', { skip }, async () => {
  const ref = `${open.host}/tools/busybox:v1`;
  const res = await ferry.api('POST', '/v1/functions/pulled/versions', { runtime: 'exec', image: { ref, entrypoint: ['/bin/sh', '-c', 'cat /etc/note; cat'] } }, json);
  const body = (await res.json()) as { manifest: { image: { ref: string; source: string; digest: string } }; buildLog?: string };
  assert.equal(res.status, 201, JSON.stringify(body));
  assert.equal(body.manifest.image.ref, ref);
  assert.equal(body.manifest.image.source, `${ref}@${image.manifestDigest}`);
  assert.equal(body.manifest.image.digest, image.manifestDigest);
  const log = await (await ferry.api('GET', '/v1/functions/pulled/versions/v1/build-log')).text();
  assert.match(log, /pulling sha256:/);
  const call = await fetch(`${ferry.url}/fn/pulled`, { method: 'POST', body: 'and the body' });
  assert.equal(await call.text(), 'pulled by reference\nand the body');
});

test('ferry deploy --image REF pulls with the folder\'s ferry.json, and shows the pull', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-ref-'));
  writeFileSync(join(dir, 'ferry.json'), JSON.stringify({ runtime: 'exec', image: { entrypoint: ['/bin/sh', '-c', 'echo from the cli'] } }));
  const r = await runCli(['deploy', dir, '--name', 'clipulled', '--image', `${open.host}/tools/busybox:v1`], { env: { FERRY_URL: ferry.url, FERRY_TOKEN: ferry.token }, timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Deployed clipulled v1$/m);
  assert.match(r.stderr, /cached sha256:|pulling sha256:/);
  assert.equal(await (await fetch(`${ferry.url}/fn/clipulled`)).text(), 'from the cli\n');
});

test("a private registry: the deployer's login in Ferry-Registry-Auth pulls; without it, registry-denied and nothing stored", { skip }, async () => {
  const manifest = { runtime: 'exec', image: { ref: `${locked.host}/private/busybox:v1`, entrypoint: ['/bin/sh', '-c', 'cat /etc/note'] } };
  await expectProblem(await ferry.api('POST', '/v1/functions/private-one/versions', manifest, json), 422, 'registry-denied');
  assert.equal((await ferry.api('GET', '/v1/functions/private-one')).status, 404);
  const auth = Buffer.from(`${login.username}:${login.password}`).toString('base64');
  const res = await ferry.api('POST', '/v1/functions/private-one/versions', manifest, { ...json, 'ferry-registry-auth': auth });
  assert.equal(res.status, 201, await res.text());
  assert.equal(await (await fetch(`${ferry.url}/fn/private-one`)).text(), 'pulled by reference\n');
  // The login is used, not kept: nothing of it in the stored version.
  const stored = await (await ferry.api('GET', '/v1/functions/private-one/versions/v1')).text();
  assert.ok(!stored.includes(login.password) && !stored.includes(auth), stored);
});

test('refusals: a JSON body without image.ref, a registry the address policy refuses; nothing stored', { skip }, async () => {
  const p = await expectProblem(await ferry.api('POST', '/v1/functions/no-ref/versions', { runtime: 'exec' }, json), 422, 'invalid-manifest');
  assert.match(p.detail, /image\.ref/);
  const meta = await expectProblem(await ferry.api('POST', '/v1/functions/meta/versions', { runtime: 'exec', image: { ref: '169.254.169.254/x/y:1' } }, json), 422, 'url-refused');
  assert.match(meta.detail, /--registry-allow/);
  for (const name of ['no-ref', 'meta']) assert.equal((await ferry.api('GET', `/v1/functions/${name}`)).status, 404);
});
