// The escape suite, tenancy part: a tenant (a non-admin with the right to deploy, on the default
// server: bwrap, as root) tries to reach past its own functions: other callers' credentials, host
// files through its command, unbounded resources, other users' logins, other tenants' names.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startFerry, disposeFerry, markSensitive, packFiles, type Ferry, type PackageFiles } from './support/ferry.js';
import { sandboxSupport } from './support/sandbox.js';
import { expectProblem, nodeFn, type ProblemDoc } from './support/helpers.js';

const support = await sandboxSupport();
const skip = support.ok ? false : `the bwrap sandbox cannot run here: ${support.why}`;

let ferry: Ferry;
/** API tokens of the users below (the tenant mallory, quinn for quotas). */
const tokens: Record<string, string> = {};
const password = (name: string): string => `${name}-password-0123`;

before(async () => {
  if (skip) return;
  ferry = await startFerry({ args: ['--driver', 'bwrap'] });
  const writer = ['permission:read', 'permission:write', 'permission:execute', 'permission:remove'];
  for (const name of ['mallory', 'quinn', 'alice']) {
    markSensitive(password(name));
    assert.equal((await ferry.api('POST', '/v1/users', { name, password: password(name), groups: writer })).status, 201);
    const t = await ferry.api('POST', '/v1/tokens', { user: name, days: 1 });
    tokens[name] = ((await t.json()) as { token: string }).token;
  }
});
after(async () => {
  if (!skip) await disposeFerry(ferry);
});

/** An answer of a request made with node:http: raw header lists (duplicates) and a chosen source address. */
interface Answer {
  status: number;
  body: string;
}
function send(url: string, o: { method?: string; headers?: string[]; body?: string; localAddress?: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // A raw list gets no Host from node:http: it is added here, as every HTTP/1.1 request needs one.
    const headers = ['host', new URL(url).host, ...(o.headers ?? []), ...(o.body === undefined ? [] : ['content-length', String(Buffer.byteLength(o.body))])];
    const req = request(url, { method: o.method ?? 'GET', headers, localAddress: o.localAddress, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

async function deployAs(user: string, name: string, files: PackageFiles): Promise<Response> {
  return fetch(`${ferry.url}/v1/functions/${name}/versions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tokens[user]}`, 'content-type': 'application/gzip' },
    body: Buffer.from(await packFiles(files)),
  });
}

async function login(base: string, name: string, pw: string, o: { localAddress?: string; forwardedFor?: string } = {}): Promise<Answer> {
  const headers = ['content-type', 'application/json'];
  if (o.forwardedFor !== undefined) headers.push('x-forwarded-for', o.forwardedFor);
  return send(`${base}/v1/auth/login`, { method: 'POST', headers, body: JSON.stringify({ name, password: pw }), localAddress: o.localAddress });
}

test("duplicate credential headers: no copy of a caller's Ferry credential reaches a tenant's function", { skip }, async () => {
  // mallory's function answers every header it was given.
  assert.equal((await deployAs('mallory', 'mal-echo', nodeFn('export default (req) => Response.json([...req.headers]);'))).status, 201);
  const session = JSON.parse((await login(ferry.url, 'alice', password('alice'))).body) as { accessToken: string };
  const own = { authorization: 'Basic bWFsbG9yeTpzZWNyZXQ=', proxy: 'Basic cHJveHk6c2VjcmV0' };
  const cases: Array<[string, string[]]> = [
    ['the admin token first', ['Authorization', `Bearer ${ferry.token}`, 'Authorization', own.authorization]],
    ['the admin token last', ['Authorization', own.authorization, 'authorization', `Bearer ${ferry.token}`]],
    ['an access token from a login', ['Authorization', `Bearer ${session.accessToken}`]],
    ['Proxy-Authorization', ['Proxy-Authorization', `Bearer ${ferry.token}`, 'Proxy-Authorization', own.proxy, 'Authorization', own.authorization]],
  ];
  for (const [what, headers] of cases) {
    const r = await send(`${ferry.url}/fn/mal-echo`, { headers });
    assert.equal(r.status, 200, `${what}: ${r.body}`);
    assert.ok(!r.body.includes(ferry.token) && !r.body.includes(session.accessToken), `${what}: a Ferry credential reached the function: ${r.body}`);
    const seen = new Map(JSON.parse(r.body) as Array<[string, string]>);
    // The function's own schemes are its business and still arrive.
    if (headers.includes(own.authorization)) assert.equal(seen.get('authorization'), own.authorization, what);
    if (headers.includes(own.proxy)) assert.equal(seen.get('proxy-authorization'), own.proxy, what);
  }
});

test('an absolute command of a non-admin: refused at upload; even an admin\'s binds nothing of the host', { skip }, async () => {
  // A program in a host directory the sandbox user cannot enter (0700, root's).
  const dir = await mkdtemp(join(tmpdir(), 'ferry-private-'));
  const marker = `host-secret-${randomBytes(8).toString('hex')}`;
  try {
    await chmod(dir, 0o700);
    await writeFile(join(dir, 'tool'), `#!/bin/sh\necho ${marker}\n`, { mode: 0o755 });
    const exec = (command: string[]): PackageFiles => ({ 'ferry.json': JSON.stringify({ runtime: 'exec', command }) });
    for (const command of [[join(dir, 'tool')], ['/']]) {
      const p = await expectProblem(await deployAs('mallory', 'mal-abs', exec(command)), 403, 'forbidden', command[0]);
      assert.match(p.detail, /permission:admin/);
    }
    // A system program stays anyone's.
    assert.equal((await deployAs('mallory', 'mal-sys', exec(['/usr/bin/env']))).status, 201);
    // An admin may name a path, but it is a path inside the sandbox: the host's file is not there.
    // The deploy-time check, which looks for it in the sandbox, says so at upload...
    const refused = await expectProblem(await ferry.api('POST', '/v1/functions/admin-abs/versions', await packFiles(exec([join(dir, 'tool')])), { 'content-type': 'application/gzip' }), 422, 'handler-check-failed', 'tool');
    assert.match(refused.detail, /does not exist in the sandbox/);
    // ...and deployed unchecked, the call cannot reach it either.
    await ferry.deploy('admin-abs', exec([join(dir, 'tool')]), undefined, '?check=false');
    const r = await fetch(`${ferry.url}/fn/admin-abs`);
    const body = await r.text();
    assert.ok(!body.includes(marker), `the host's program ran in the sandbox: ${body}`);
    assert.notEqual(r.status, 200, body);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('quota defaults: a non-admin cannot reserve unbounded memory or always-on instances; admins are exempt', { skip }, async () => {
  const fn = (manifest: Record<string, unknown>): PackageFiles => nodeFn('export default () => "q";', manifest);
  const refused = async (res: Response, setting: string): Promise<ProblemDoc> => {
    const p = await expectProblem(res, 403, 'quota-exceeded', setting);
    assert.ok(p.detail.includes(setting), `the detail names ${setting}: ${p.detail}`);
    assert.equal(p.setting, setting);
    return p;
  };
  await refused(await deployAs('quinn', 'q-mem', fn({ limits: { memoryMb: 65536 } })), '--quota-version-memory-mb');
  await refused(await deployAs('quinn', 'q-wide', fn({ scaling: { maxInstances: 1000 } })), '--quota-version-max-instances');
  await refused(await deployAs('quinn', 'q-hot', fn({ scaling: { minInstances: 5 } })), '--quota-min-instances');
  // One default version reserves 4 x 256 MB; with a version of 2 x 2048 MB the group passes 4096.
  assert.equal((await deployAs('quinn', 'q-one', fn({}))).status, 201);
  await refused(await deployAs('quinn', 'q-big', fn({ limits: { memoryMb: 2048 }, scaling: { maxInstances: 2 } })), '--quota-memory-mb');
  // PATCH is held to the same limits.
  const patch = await fetch(`${ferry.url}/v1/functions/q-one/versions/v1`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${tokens.quinn}`, 'content-type': 'application/json' },
    body: JSON.stringify({ limits: { memoryMb: 65536 } }),
  });
  await refused(patch, '--quota-version-memory-mb');
  const listed = (await (await ferry.api('GET', '/v1/functions')).json()) as { functions: Array<{ name: string }> };
  assert.deepEqual(listed.functions.map((f) => f.name).filter((n) => n.startsWith('q-')), ['q-one'], 'nothing refused was stored');
  // An admin is exempt (no instance is started: minInstances stays 0).
  await ferry.deploy('admin-big', fn({ limits: { memoryMb: 4096 }, scaling: { maxInstances: 64 } }));
});

test('login: failures from one address do not lock the user out from another', { skip }, async () => {
  const attacker = '127.0.0.2';
  for (let i = 0; i < 5; i++) assert.equal((await login(ferry.url, 'alice', `wrong-${i}-password`, { localAddress: attacker })).status, 401);
  const blocked = await login(ferry.url, 'alice', 'wrong-again-password', { localAddress: attacker });
  assert.equal(blocked.status, 429, blocked.body);
  // The owner, from elsewhere, with the right password.
  const owner = await login(ferry.url, 'alice', password('alice'), { localAddress: '127.0.0.1' });
  assert.equal(owner.status, 200, owner.body);
  // X-Forwarded-For from a peer that is no trusted proxy is not believed: the guesser stays blocked.
  const spoofed = await login(ferry.url, 'alice', password('alice'), { localAddress: attacker, forwardedFor: '192.0.2.44' });
  assert.equal(spoofed.status, 429, spoofed.body);
});

test('login behind --trust-proxy: the right-most address that is no trusted proxy is the client', { skip }, async () => {
  const own = await startFerry({ args: ['--driver', 'process', '--unsandboxed', '--trust-proxy', '127.0.0.3'] });
  try {
    markSensitive('bob-password-0123');
    assert.equal((await own.api('POST', '/v1/users', { name: 'bob', password: 'bob-password-0123', groups: ['permission:read'] })).status, 201);
    const proxy = '127.0.0.3';
    // The guesser writes a new left-most address every time; the proxy appends what it saw.
    for (let i = 0; i < 5; i++) {
      assert.equal((await login(own.url, 'bob', 'wrong-password-x', { localAddress: proxy, forwardedFor: `10.9.9.${i}, 198.51.100.7` })).status, 401);
    }
    assert.equal((await login(own.url, 'bob', 'bob-password-0123', { localAddress: proxy, forwardedFor: '10.9.9.99, 198.51.100.7' })).status, 429);
    // Another client behind the same proxy gets in.
    assert.equal((await login(own.url, 'bob', 'bob-password-0123', { localAddress: proxy, forwardedFor: '198.51.100.8' })).status, 200);
  } finally {
    await disposeFerry(own);
  }
});

test("/metrics shows a reader only the series of functions it may read; /v1/pool and instance lists hide host pids from non-admins", { skip }, async () => {
  assert.equal((await deployAs('mallory', 'mal-metric', nodeFn('export default () => "m";'))).status, 201);
  await ferry.deploy('admin-metric', nodeFn('export default () => "a";'));
  for (const name of ['mal-metric', 'admin-metric']) assert.equal((await fetch(`${ferry.url}/fn/${name}`)).status, 200);
  const metricsAs = async (token: string): Promise<string> => {
    const r = await fetch(`${ferry.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200);
    return r.text();
  };
  const mine = await metricsAs(tokens.mallory!);
  assert.match(mine, /^ferry_requests_total\{[^}]*function="mal-metric"/m);
  assert.doesNotMatch(mine, /function="admin-metric"/, "another tenant's function name");
  assert.match(mine, /^ferry_process_/m, 'the server series stay');
  assert.match(await metricsAs(ferry.token), /function="admin-metric"/, 'admins see all');

  const poolAs = async (token: string): Promise<{ enabled: boolean; runtimes: Array<Record<string, unknown>> }> =>
    (await fetch(`${ferry.url}/v1/pool`, { headers: { authorization: `Bearer ${token}` } })).json() as Promise<{ enabled: boolean; runtimes: Array<Record<string, unknown>> }>;
  const asAdmin = await poolAs(ferry.token);
  if (process.getuid?.() === 0) assert.ok(asAdmin.enabled && asAdmin.runtimes.length > 0, `the pool runs here (root, bwrap): ${JSON.stringify(asAdmin)}`);
  for (const r of asAdmin.runtimes) assert.ok(Array.isArray(r.pids), 'admins see the pids');
  const asTenant = await poolAs(tokens.mallory!);
  assert.equal(asTenant.runtimes.length, asAdmin.runtimes.length);
  for (const r of asTenant.runtimes) assert.ok(!('pids' in r), `no host pids for a tenant: ${JSON.stringify(r)}`);

  const instancesAs = async (token: string): Promise<Array<Record<string, unknown>>> =>
    ((await (await fetch(`${ferry.url}/v1/functions/mal-metric/instances`, { headers: { authorization: `Bearer ${token}` } })).json()) as { instances: Array<Record<string, unknown>> }).instances;
  const ownView = await instancesAs(tokens.mallory!);
  assert.ok(ownView.length > 0, 'the function runs');
  for (const i of ownView) assert.ok(!('pid' in i), `no host pid for its owner: ${JSON.stringify(i)}`);
  for (const i of await instancesAs(ferry.token)) assert.equal(typeof i.pid, 'number', 'admins see the pid');
});
