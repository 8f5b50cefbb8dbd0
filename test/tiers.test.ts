// Isolation tiers per function: a bwrap function and a gvisor function side by side on one real
// server, each answer and the API naming its tier; versions asking for a tier that is not enabled,
// one only admins may use, or a key their tier cannot honour are refused at deploy; ad-hoc runs
// choose their tier the same way.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFerry, disposeFerry, markSensitive, packFiles, type Ferry } from './support/ferry.js';
import { gvisorSupport } from './support/gvisor.js';
import { processesMentioning } from './support/procs.js';

const support = await gvisorSupport();
const skip = support.ok ? false : support.why;
let ferry: Ferry;
let userToken = '';

/** A python function answering which kernel it runs under (gVisor's says so in /proc/version). */
const probe = (tier?: string): Record<string, string> => ({
  'ferry.json': JSON.stringify({ runtime: 'python', handler: 'main.py', ...(tier && { tier }) }),
  'main.py': 'def handler(req, ctx):\n    return {"kernel": open("/proc/version").read()}\n',
});

before(async () => {
  if (skip) return;
  ferry = await startFerry({ args: ['--driver', 'bwrap', '--sandbox-tiers', 'gvisor', '--admin-tiers', 'gvisor', '--allow-run'] });
  const name = 'tier-user';
  markSensitive(`${name}-password-0123`);
  assert.equal((await ferry.api('POST', '/v1/users', { name, password: `${name}-password-0123`, groups: ['permission:read', 'permission:write', 'permission:execute'] })).status, 201);
  userToken = ((await (await ferry.api('POST', '/v1/tokens', { user: name, days: 1 })).json()) as { token: string }).token;
});
after(async () => {
  if (!skip) await disposeFerry(ferry);
});

/** Uploads a version as `token`'s user; answers the status and body. */
async function upload(name: string, files: Record<string, string>, token = ferry.token): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${ferry.url}/v1/functions/${name}/versions`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/gzip' }, body: (await packFiles(files)) as BodyInit });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test('a bwrap function and a gvisor function side by side: each answer and the API name the tier', { skip }, async () => {
  const versions = { plain: (await ferry.deploy('plain', probe())).version, strong: (await ferry.deploy('strong', probe('gvisor'))).version };
  const plain = await fetch(`${ferry.url}/fn/plain`);
  const strong = await fetch(`${ferry.url}/fn/strong`);
  assert.equal(plain.status, 200, await plain.clone().text());
  assert.equal(strong.status, 200, await strong.clone().text());
  assert.equal(plain.headers.get('x-ferry-sandbox'), 'bwrap');
  assert.equal(strong.headers.get('x-ferry-sandbox'), 'gvisor');
  // Each really runs where it says: the gVisor kernel names itself, the host's does not.
  assert.doesNotMatch(((await plain.json()) as { kernel: string }).kernel, /gVisor/i);
  assert.match(((await strong.json()) as { kernel: string }).kernel, /gVisor|#1 SMP Sun Jan 10 15:06:54 PST 2016/);
  for (const [fn, tier] of [['plain', 'bwrap'], ['strong', 'gvisor']] as const) {
    const v = (await (await ferry.api('GET', `/v1/functions/${fn}/versions/${versions[fn]}`)).json()) as { sandbox?: string };
    assert.equal(v.sandbox, tier, `GET ${fn}: ${JSON.stringify(v)}`);
  }
  const metrics = await (await ferry.api('GET', '/metrics')).text();
  assert.ok(metrics.includes(`ferry_version_sandbox{function="strong",version="${versions.strong}",sandbox="gvisor"} 1`), metrics);
  assert.ok(metrics.includes(`ferry_version_sandbox{function="plain",version="${versions.plain}",sandbox="bwrap"} 1`), metrics);
});

test('a tier the server does not enable is refused at deploy (tier-unavailable), never run in another', { skip }, async () => {
  const r = await upload('vm', probe('microvm'));
  assert.equal(r.status, 422, JSON.stringify(r.body));
  assert.equal(r.body.code, 'tier-unavailable');
  assert.match(String(r.body.detail), /microvm/);
  assert.equal((await ferry.api('GET', '/v1/functions/vm')).status, 404, 'nothing was made');
});

test('a tier only admins may use is refused for a user (forbidden)', { skip }, async () => {
  const r = await upload('users-strong', probe('gvisor'), userToken);
  assert.equal(r.status, 403, JSON.stringify(r.body));
  assert.equal(r.body.code, 'forbidden');
  assert.match(String(r.body.detail), /gvisor/);
  // The default tier is open to the same user.
  assert.equal((await upload('users-plain', probe(), userToken)).status, 201);
});

test('a sandbox key the tier cannot honour is refused at deploy, never run weaker', { skip }, async () => {
  const files = probe('gvisor');
  files['ferry.json'] = JSON.stringify({ runtime: 'python', handler: 'main.py', tier: 'gvisor', mountProc: false });
  const r = await upload('no-proc', files);
  assert.equal(r.status, 422, JSON.stringify(r.body));
  assert.equal(r.body.code, 'invalid-manifest');
  assert.match(String(r.body.detail), /mountProc: false/);
  // The same key under bwrap is honoured.
  files['ferry.json'] = JSON.stringify({ runtime: 'python', handler: 'main.py', mountProc: false });
  assert.equal((await upload('no-proc-bwrap', files)).status, 201);
});

test('a PATCH moving a version to a tier that is not enabled is refused', { skip }, async () => {
  const { version } = await ferry.deploy('patched', probe());
  const res = await ferry.api('PATCH', `/v1/functions/patched/versions/${version}`, { tier: 'microvm' });
  assert.equal(res.status, 422);
  assert.equal(((await res.json()) as { code: string }).code, 'tier-unavailable');
});

test('an ad-hoc run names its tier: it runs there; one not enabled, not a tier, or only for admins is refused', { skip }, async () => {
  const run = async (body: object, token = ferry.token) => {
    const res = await fetch(`${ferry.url}/v1/run`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const strong = await run({ command: ['cat', '/proc/version'], sandbox: 'gvisor' });
  assert.equal(strong.status, 200, JSON.stringify(strong.body));
  assert.equal(strong.body.exitCode, 0, JSON.stringify(strong.body));
  assert.match(String(strong.body.stdout), /gVisor|#1 SMP Sun Jan 10 15:06:54 PST 2016/);
  const plain = await run({ command: ['cat', '/proc/version'] });
  assert.equal(plain.body.exitCode, 0, JSON.stringify(plain.body));
  assert.doesNotMatch(String(plain.body.stdout), /gVisor|#1 SMP Sun Jan 10 15:06:54 PST 2016/);
  // The raw-body form takes it as a query parameter.
  const raw = await fetch(`${ferry.url}/v1/run?command=cat&command=/proc/version&sandbox=gvisor`, { method: 'POST', headers: { authorization: `Bearer ${ferry.token}`, 'content-type': 'application/octet-stream' }, body: '' });
  assert.match(String(((await raw.json()) as { stdout: string }).stdout), /gVisor|#1 SMP Sun Jan 10 15:06:54 PST 2016/);
  const off = await run({ command: ['true'], sandbox: 'microvm' });
  assert.equal(off.status, 422, JSON.stringify(off.body));
  assert.equal(off.body.code, 'tier-unavailable');
  const bad = await run({ command: ['true'], sandbox: 'vmware' });
  assert.equal(bad.status, 422, JSON.stringify(bad.body));
  assert.equal(bad.body.code, 'invalid-body');
  const user = await run({ command: ['true'], sandbox: 'gvisor' }, userToken);
  assert.equal(user.status, 403, JSON.stringify(user.body));
  assert.equal(user.body.code, 'forbidden');
  assert.match(String(user.body.detail), /gvisor/);
  // The default tier stays open to the same user.
  assert.equal((await run({ command: ['true'] }, userToken)).body.exitCode, 0);
});

test('a gvisor instance dies with a killed server: runsc, its sandbox and its gofer do not run on', { skip }, async (t) => {
  const own = await startFerry({ args: ['--driver', 'bwrap', '--sandbox-tiers', 'gvisor', '--pool-size', '0'] });
  let next: Ferry | undefined;
  // A start on the same data dir clears what the killed server left (its run dirs, runsc's state).
  t.after(async () => {
    await next?.stop();
    await disposeFerry(own);
  });
  await own.deploy('doomed', probe('gvisor'));
  assert.equal((await fetch(`${own.url}/fn/doomed`)).status, 200);
  // Each of runsc's processes names the instance's bundle, under this server's data dir.
  const sandboxes = (): string[] => processesMentioning(`${own.dataDir}/sandbox/gvisor/bundles/`).map((p) => p.cmdline.split(' ')[0]!);
  assert.ok(sandboxes().length >= 3, `runsc, its gofer and its sandbox run: ${JSON.stringify(sandboxes())}`);
  await own.stop('SIGKILL');
  const until = Date.now() + 15_000;
  while (sandboxes().length && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(sandboxes(), [], 'nothing of the instance runs on after its server was killed');
  next = await startFerry({ dataDir: own.dataDir, args: ['--driver', 'bwrap', '--sandbox-tiers', 'gvisor', '--pool-size', '0'] });
});
