/**
 * Tangle's `image` and `/v1/run`'s: a command runs on the root file system of an image that a
 * deployed version carries (a busybox `docker save` archive with a file the host does not have,
 * and without programs the host has; a registry image by its reference), with the image's Env, PATH and User, none of the version's
 * own settings; an image Ferry does not have is ignored by Tangle's route (the header says so)
 * and refused by Ferry's own; a caller never reaches the image of a function it cannot read.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFerry, disposeFerry, markSensitive, type Ferry } from './support/ferry.js';
import { expectProblem, runCli } from './support/helpers.js';
import { sandboxSupport } from './support/sandbox.js';
import { busyboxImage, dockerSave } from './support/images.js';
import { busyboxImage as registryBusybox, pushImage, TestRegistry } from './support/registry.js';

const support = await sandboxSupport();
const skip = support.ok ? false : `the bwrap sandbox cannot run here: ${support.why}`;

/** A file of the image only: no host has it. */
const NOTE = '/etc/ferry-image-note';

let f: Ferry;
let digest: string;
let registry: TestRegistry;
before(async () => {
  if (skip) return;
  registry = await TestRegistry.start();
  await pushImage(registry.base, 'tools/busybox', 'v1', registryBusybox({ note: 'pulled\n' }));
  f = await startFerry({ args: ['--driver', 'bwrap', '--compat', 'tangle', '--allow-run', '--run-timeout', '20s', '--registry-allow', '127.0.0.1', '--insecure-registry', registry.host] });
  const image = busyboxImage([{ items: [{ name: NOTE.slice(1), body: 'only in the image\n' }] }]);
  const saved = dockerSave(image);
  digest = saved.digest;
  // The version's own settings (user root, an env of its own) must not reach an ad-hoc run.
  const manifest = JSON.stringify({ runtime: 'exec', env: { VERSION_ONLY: 'of-the-version' }, image: { user: '0' } });
  const res = await f.api('POST', '/v1/functions/img-tools/versions', new Uint8Array(saved.archive), { 'content-type': 'application/x-docker-archive', 'ferry-manifest': manifest });
  assert.equal(res.status, 201, await res.text());
});
after(async () => {
  if (f) await disposeFerry(f);
  await registry?.stop();
});

type Answer = { status: number; root: string | null; json: { stdout?: string; stderr?: string; error?: string | null; code?: string } };

async function invoke(body: unknown, token = f.token): Promise<Answer> {
  const res = await fetch(`${f.url}/functions/probe/invoke`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  return { status: res.status, root: res.headers.get('ferry-run-root'), json: (await res.json()) as Answer['json'] };
}

async function userToken(name: string, groups: string[]): Promise<string> {
  markSensitive(`pw-${name}-0123456789`);
  assert.equal((await f.api('POST', '/v1/users', { name, password: `pw-${name}-0123456789`, groups })).status, 201);
  const tok = await f.api('POST', '/v1/tokens', { user: name, days: 1 });
  return ((await tok.json()) as { token: string }).token;
}

test("Tangle's image: a deployed image's root file system, its Env, PATH and User; nothing of the host's or the version's", { skip }, async () => {
  const note = await invoke({ image: digest, command: ['cat', NOTE], payload: [] });
  assert.deepEqual([note.status, note.root, note.json], [200, 'image', { stdout: 'only in the image\n', stderr: '', error: null }]);

  // The image's Env (PATH=/usr/bin:/bin, GREETING=hello) under env_vars, its User `app` (1000),
  // its WorkingDir; not the version's user override (root) nor its env.
  const who = await invoke({ image: digest, command: ['sh', '-c', 'echo "$PATH|$GREETING|$EXTRA|${VERSION_ONLY:-none}"; busybox id -u; pwd; cat'], env_vars: ['EXTRA=from-the-call'], payload: [...Buffer.from('stdin')] });
  assert.equal(who.status, 200, JSON.stringify(who.json));
  assert.deepEqual(who.json, { stdout: '/usr/bin:/bin|hello|from-the-call|none\n1000\n/\nstdin', stderr: '', error: null });

  // The host has `ls` and /usr/lib; the image has neither: the root is the image's alone.
  const ls = await invoke({ image: digest, command: ['ls', '/'], payload: [] });
  assert.deepEqual([ls.status, ls.json.error], [200, 'command not found: ls']);
  const usr = await invoke({ image: digest, command: ['sh', '-c', 'test -e /usr/lib && echo host || echo image'] });
  assert.equal(usr.json.stdout, 'image\n');
});

test("Tangle's image that Ferry does not have is ignored, as Tangle does: the default root, and the header says so", { skip }, async () => {
  for (const image of ['docker.io/library/ubuntu:24.04', `sha256:${'0'.repeat(64)}`, 'archive']) {
    const r = await invoke({ image, command: ['sh', '-c', `ls / >/dev/null && echo ran; cat ${NOTE}`], payload: [] });
    assert.equal(r.status, 200, image);
    assert.equal(r.root, 'default', image);
    assert.equal(r.json.stdout, 'ran\n', `${image}: the host's programs, not the image's files`);
    assert.equal(r.json.error, 'exit status 1');
  }
  assert.equal((await invoke({ command: ['true'] })).root, 'default');
});

test("a caller never reaches the image of a function it cannot read: Tangle's ignores it, /v1/run refuses it", { skip }, async () => {
  const outsider = await userToken('outsider', ['permission:read', 'permission:execute']);
  const r = await invoke({ image: digest, command: ['sh', '-c', `cat ${NOTE} || echo not here`] }, outsider);
  assert.deepEqual([r.status, r.root, r.json.stdout], [200, 'default', 'not here\n']);
  const run = await fetch(`${f.url}/v1/run`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${outsider}` }, body: JSON.stringify({ command: ['cat', NOTE], image: digest }) });
  await expectProblem(run, 422, 'run-image-not-found');
});

test('POST /v1/run and ferry run --image: the same image; one Ferry does not have is run-image-not-found', { skip }, async () => {
  const run = await f.api('POST', '/v1/run', { command: ['cat', NOTE], image: digest });
  assert.equal(run.status, 200);
  assert.deepEqual(await run.json(), { stdout: 'only in the image\n', stderr: '', encoding: 'utf8', exitCode: 0, error: null });
  const raw = await fetch(`${f.url}/v1/run?command=cat&command=${encodeURIComponent(NOTE)}&image=${digest}`, { method: 'POST', headers: { authorization: `Bearer ${f.token}` } });
  assert.equal(((await raw.json()) as { stdout: string }).stdout, 'only in the image\n');
  await expectProblem(await f.api('POST', '/v1/run', { command: ['true'], image: 'docker.io/library/ubuntu:24.04' }), 422, 'run-image-not-found');
  await expectProblem(await f.api('POST', '/v1/run', { command: ['true'], image: 'archive' }), 422, 'run-image-not-found');
  await expectProblem(await f.api('POST', '/v1/run', { command: ['true'], image: 7 }), 422, 'invalid-body');

  const cli = await runCli(['run', '--image', digest, '--', 'cat', NOTE], { env: { FERRY_URL: f.url, FERRY_TOKEN: f.token } });
  assert.deepEqual([cli.code, cli.stdout], [0, 'only in the image\n'], cli.stderr);
  const missing = await runCli(['run', '--image', 'r.example/none:1', '--', 'true'], { env: { FERRY_URL: f.url, FERRY_TOKEN: f.token } });
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /run-image-not-found|no deployed version/);
});

test("an image deployed by reference is found by its image.ref and by the source it resolved to", { skip }, async () => {
  const ref = `${registry.host}/tools/busybox:v1`;
  const res = await f.api('POST', '/v1/functions/img-pulled/versions', { runtime: 'exec', image: { ref, entrypoint: ['/bin/sh', '-c', 'cat'] } }, { 'content-type': 'application/json' });
  const body = (await res.json()) as { manifest: { image: { source: string } } };
  assert.equal(res.status, 201, JSON.stringify(body));
  for (const image of [ref, body.manifest.image.source]) {
    const r = await invoke({ image, command: ['busybox', 'cat', '/etc/note'] });
    assert.deepEqual([r.status, r.root, r.json.stdout], [200, 'image', 'pulled\n'], image);
  }
  // Another tag of the same repository is another image: not one Ferry has.
  assert.equal((await invoke({ image: `${registry.host}/tools/busybox:v2`, command: ['true'] })).root, 'default');
});
