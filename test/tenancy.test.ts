/**
 * Users, logins, tokens, groups and quotas against the real server: what a person signing up,
 * logging in and sharing the server with others sees.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startFerry, disposeFerry, markSensitive, packFiles, type Ferry } from './support/ferry.js';
import { expectProblem, nodeFn, versionFn } from './support/helpers.js';
import { waitFor } from './support/wait.js';

const json = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

interface Session {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  tokenType: string;
  user: string;
}

let ferry: Ferry;
before(async () => {
  markSensitive('alice-password-1', 'bob-password-1', 'carol-password-1', 'carol-password-2', 'caller-password-1');
  ferry = await startFerry({ args: ['--driver', 'process', '--unsandboxed', '--access-token-ttl', '2s', '--login-max-failures', '3', '--quota-functions', '2'] });
  for (const [name, groups] of [
    ['alice', ['permission:read', 'permission:write', 'permission:execute', 'permission:remove', 'custom:team']],
    ['bob', ['permission:read', 'permission:write', 'permission:execute', 'permission:remove']],
    ['carol', ['permission:read', 'custom:team']],
    ['caller', ['permission:execute', 'custom:team']],
  ] as const) {
    const res = await ferry.api('POST', '/v1/users', { name, password: `${name}-password-1`, groups });
    assert.equal(res.status, 201, await res.text());
  }
});
after(() => disposeFerry(ferry));

async function login(name: string, password = `${name}-password-1`): Promise<Session> {
  const res = await fetch(`${ferry.url}/v1/auth/login`, json({ name, password }));
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text) as Session;
}

/** Waits until the server refuses `token` (it expires within seconds here), rather than sleeping past it. */
async function expiry(token: string): Promise<void> {
  await waitFor('the token to expire', async () => (await fetch(`${ferry.url}/v1/auth/whoami`, { headers: bearer(token) })).status === 401, { intervalMs: 100 });
}

async function deployAs(token: string, name: string, files = versionFn(name), query = ''): Promise<Response> {
  return fetch(`${ferry.url}/v1/functions/${name}/versions${query}`, { method: 'POST', headers: { ...bearer(token), 'content-type': 'application/gzip' }, body: Buffer.from(await packFiles(files)) });
}

describe('login', () => {
  test('a login answers a signed access token and a refresh token; the access token works', async () => {
    const s = await login('alice');
    assert.equal(s.tokenType, 'Bearer');
    assert.equal(s.expiresIn, 2);
    assert.equal(s.user, 'alice');
    assert.match(s.accessToken, /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    const who = await fetch(`${ferry.url}/v1/auth/whoami`, { headers: bearer(s.accessToken) });
    assert.equal(who.status, 200);
    const body = (await who.json()) as { user: string; groups: string[]; via: string };
    assert.equal(body.user, 'alice');
    assert.ok(body.groups.includes('singular:alice') && body.groups.includes('custom:team'));
    assert.equal(body.via, 'access-token');
  });

  test('an access token expires (token-expired); a refresh gives a new one; a refresh token works once', async () => {
    const s = await login('carol');
    await expiry(s.accessToken);
    await expectProblem(await fetch(`${ferry.url}/v1/auth/whoami`, { headers: bearer(s.accessToken) }), 401, 'token-expired');
    const r = await fetch(`${ferry.url}/v1/auth/refresh`, json({ refreshToken: s.refreshToken }));
    assert.equal(r.status, 200);
    const s2 = (await r.json()) as Session;
    assert.equal((await fetch(`${ferry.url}/v1/auth/whoami`, { headers: bearer(s2.accessToken) })).status, 200);
    await expectProblem(await fetch(`${ferry.url}/v1/auth/refresh`, json({ refreshToken: s.refreshToken })), 401, 'token-revoked');
    // A refresh token is not a bearer token.
    await expectProblem(await fetch(`${ferry.url}/v1/auth/whoami`, { headers: bearer(s2.refreshToken) }), 401, 'invalid-token');
    assert.equal((await fetch(`${ferry.url}/v1/auth/logout`, json({ refreshToken: s2.refreshToken }))).status, 204);
    await expectProblem(await fetch(`${ferry.url}/v1/auth/refresh`, json({ refreshToken: s2.refreshToken })), 401, 'token-revoked');
  });

  test('a tampered access token is invalid-token; a truncated one token-malformed', async () => {
    const s = await login('alice');
    const [h, p, sig] = s.accessToken.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'admin' })).toString('base64url')}.${sig}`;
    await expectProblem(await fetch(`${ferry.url}/v1/users`, { headers: bearer(forged) }), 401, 'invalid-token');
    await expectProblem(await fetch(`${ferry.url}/v1/users`, { headers: bearer(`${h}.${p}`) }), 401, 'token-malformed');
  });

  test('wrong passwords: 401 invalid-credentials, then 429 with Retry-After, even for the right one', async () => {
    for (let i = 0; i < 3; i++) await expectProblem(await fetch(`${ferry.url}/v1/auth/login`, json({ name: 'bob', password: 'wrong-password' })), 401, 'invalid-credentials');
    const blocked = await fetch(`${ferry.url}/v1/auth/login`, json({ name: 'bob', password: 'bob-password-1' }));
    assert.ok(Number(blocked.headers.get('retry-after')) >= 1, 'Retry-After');
    await expectProblem(blocked, 429, 'too-many-attempts');
    // Unknown users get the same answer as wrong passwords.
    await expectProblem(await fetch(`${ferry.url}/v1/auth/login`, json({ name: 'nobody', password: 'whatever-123' })), 401, 'invalid-credentials');
  });

  test('registration is closed by default', async () => {
    await expectProblem(await fetch(`${ferry.url}/v1/auth/register`, json({ name: 'mallory', password: 'mallory-password' })), 403, 'registration-closed');
  });

  test('the signing key is a 0600 file in the data dir; no password is stored in clear', async () => {
    const st = await stat(join(ferry.dataDir, 'keys', 'jwt-hs256.key'));
    assert.equal(st.mode & 0o777, 0o600);
    const db = await readFile(join(ferry.dataDir, 'ferry.db'));
    const wal = await readFile(join(ferry.dataDir, 'ferry.db-wal')).catch(() => Buffer.alloc(0));
    for (const pw of ['alice-password-1', 'bob-password-1', 'carol-password-1']) {
      assert.ok(!db.includes(pw) && !wal.includes(pw), `${pw} found in the database`);
    }
    for (const line of ferry.output) assert.ok(!/password-1/.test(line), `a password in the server log: ${line}`);
  });
});

describe('API tokens', () => {
  test('create (shown once), list with prefix and expiry, revoke; each bad token has its own code', async () => {
    const s = await login('alice');
    const res = await fetch(`${ferry.url}/v1/tokens`, { ...json({ days: 10, label: 'ci' }), headers: { ...bearer(s.accessToken), 'content-type': 'application/json' } });
    assert.equal(res.status, 201);
    const t = (await res.json()) as { token: string; id: string; prefix: string; expiresAt: string };
    assert.ok(t.token.startsWith(t.prefix));
    const days = (Date.parse(t.expiresAt) - Date.now()) / 86_400_000;
    assert.ok(days > 9.9 && days <= 10, `expiry ${t.expiresAt}`);
    const list = (await (await fetch(`${ferry.url}/v1/tokens`, { headers: bearer(t.token) })).json()) as { tokens: Array<Record<string, unknown>> };
    const mine = list.tokens.find((x) => x.id === t.id)!;
    assert.equal(mine.prefix, t.prefix);
    assert.equal(mine.label, 'ci');
    assert.ok(!JSON.stringify(list).includes(t.token), 'a listing never shows the token');
    // Alice may not mint tokens for Bob, nor see or revoke his.
    const bobs = await ferry.api('POST', '/v1/tokens', { user: 'bob', seconds: 1 });
    const bobTok = (await bobs.json()) as { token: string; id: string };
    await expectProblem(await fetch(`${ferry.url}/v1/tokens`, { ...json({ user: 'bob' }), headers: { ...bearer(t.token), 'content-type': 'application/json' } }), 403, 'forbidden');
    await expectProblem(await fetch(`${ferry.url}/v1/tokens?user=bob`, { headers: bearer(t.token) }), 403, 'forbidden');
    await expectProblem(await fetch(`${ferry.url}/v1/tokens/${bobTok.id}`, { method: 'DELETE', headers: bearer(t.token) }), 404, 'token-not-found');

    assert.equal((await fetch(`${ferry.url}/v1/tokens/${t.id}`, { method: 'DELETE', headers: bearer(t.token) })).status, 204);
    await expectProblem(await fetch(`${ferry.url}/v1/auth/whoami`, { headers: bearer(t.token) }), 401, 'token-revoked');
    await expiry(bobTok.token);
    await expectProblem(await fetch(`${ferry.url}/v1/auth/whoami`, { headers: bearer(bobTok.token) }), 401, 'token-expired');
  });

  test('deleting a user revokes its tokens', async () => {
    await ferry.api('POST', '/v1/users', { name: 'temp', groups: ['permission:read'] });
    const { token } = (await (await ferry.api('POST', '/v1/tokens', { user: 'temp' })).json()) as { token: string };
    assert.equal((await fetch(`${ferry.url}/v1/auth/whoami`, { headers: bearer(token) })).status, 200);
    assert.equal((await ferry.api('DELETE', '/v1/users/temp')).status, 204);
    await expectProblem(await fetch(`${ferry.url}/v1/auth/whoami`, { headers: bearer(token) }), 401, 'token-revoked');
    await expectProblem(await ferry.api('GET', '/v1/users/temp'), 404, 'user-not-found');
  });

  test('users: names are checked, groups validated, root never granted, passwords never shown', async () => {
    await expectProblem(await ferry.api('POST', '/v1/users', { name: 'no spaces' }), 422, 'invalid-name');
    await expectProblem(await ferry.api('POST', '/v1/users', { name: 'x', groups: ['root'] }), 422, 'invalid-body');
    await expectProblem(await ferry.api('POST', '/v1/users', { name: 'x', password: 'short' }), 422, 'weak-password');
    await expectProblem(await ferry.api('POST', '/v1/users', { name: 'alice' }), 409, 'user-exists');
    const users = await (await ferry.api('GET', '/v1/users')).text();
    assert.ok(!users.includes('scrypt') && !users.includes('password-1'));
    // A user changes its own password, not its groups.
    const s = await login('carol');
    const h = { ...bearer(s.accessToken), 'content-type': 'application/json' };
    await expectProblem(await fetch(`${ferry.url}/v1/users/carol`, { method: 'PATCH', headers: h, body: JSON.stringify({ groups: ['permission:admin'] }) }), 403, 'forbidden');
    assert.equal((await fetch(`${ferry.url}/v1/users/carol`, { method: 'PATCH', headers: h, body: JSON.stringify({ password: 'carol-password-2' }) })).status, 200);
    await login('carol', 'carol-password-2');
    await fetch(`${ferry.url}/v1/users/carol`, { method: 'PATCH', headers: h, body: JSON.stringify({ password: 'carol-password-1' }) });
  });
});

describe('groups and functions', () => {
  let alice: string;
  let bob: string;
  let carol: string;
  let caller: string;
  before(async () => {
    const mint = async (user: string) => ((await (await ferry.api('POST', '/v1/tokens', { user })).json()) as { token: string }).token;
    [alice, bob, carol, caller] = await Promise.all(['alice', 'bob', 'carol', 'caller'].map(mint)) as [string, string, string, string];
  });

  test("two users cannot see or touch each other's functions; names are one namespace", async () => {
    assert.equal((await deployAs(alice, 'alice-fn')).status, 201);
    assert.equal((await deployAs(bob, 'bob-fn')).status, 201);
    const names = async (t: string) => ((await (await fetch(`${ferry.url}/v1/functions`, { headers: bearer(t) })).json()) as { functions: Array<{ name: string }> }).functions.map((f) => f.name);
    assert.ok((await names(alice)).includes('alice-fn') && !(await names(alice)).includes('bob-fn'));
    assert.ok((await names(bob)).includes('bob-fn') && !(await names(bob)).includes('alice-fn'));
    for (const [method, path] of [['GET', '/v1/functions/alice-fn'], ['DELETE', '/v1/functions/alice-fn'], ['GET', '/v1/functions/alice-fn/logs'], ['DELETE', '/v1/functions/alice-fn/versions/v1']]) {
      await expectProblem(await fetch(`${ferry.url}${path}`, { method: method!, headers: bearer(bob) }), 404, 'function-not-found', `${method} ${path}`);
    }
    await expectProblem(await deployAs(bob, 'alice-fn'), 409, 'name-taken');
    const f = (await (await fetch(`${ferry.url}/v1/functions/alice-fn`, { headers: bearer(alice) })).json()) as { owner: string };
    assert.equal(f.owner, 'singular:alice');
    // The admin sees both.
    const all = ((await (await ferry.api('GET', '/v1/functions')).json()) as { functions: Array<{ name: string }> }).functions.map((x) => x.name);
    assert.ok(all.includes('alice-fn') && all.includes('bob-fn'));
  });

  test('a custom group shares a function: members read it, only members with write change it', async () => {
    assert.equal((await deployAs(alice, 'team-fn', versionFn('team'), '?group=custom:team')).status, 201);
    assert.equal((await fetch(`${ferry.url}/v1/functions/team-fn`, { headers: bearer(carol) })).status, 200);
    await expectProblem(await fetch(`${ferry.url}/v1/functions/team-fn`, { method: 'DELETE', headers: bearer(carol) }), 403, 'forbidden');
    await expectProblem(await deployAs(bob, 'x-fn', versionFn('x'), '?group=custom:team'), 403, 'forbidden');
    await expectProblem(await fetch(`${ferry.url}/v1/functions/team-fn`, { headers: bearer(bob) }), 404, 'function-not-found');
  });

  test('invoke "token": the caller needs execute and membership; others get 404 or 403', async () => {
    assert.equal((await deployAs(alice, 'private-fn', nodeFn("export default () => 'private ok';", { invoke: 'token' }), '?group=custom:team')).status, 201);
    const call = (t?: string) => fetch(`${ferry.url}/fn/private-fn`, { headers: t ? bearer(t) : {} });
    await expectProblem(await call(), 401, 'unauthorized');
    const ok = await call(caller);
    assert.equal(ok.status, 200, 'an execute-only member calls it');
    assert.equal(await ok.text(), 'private ok');
    await expectProblem(await call(bob), 404, 'function-not-found');
    await expectProblem(await call(carol), 403, 'forbidden');
  });

  test('roBinds, network "host" and mountDev need permission:admin', async () => {
    await expectProblem(await deployAs(bob, 'dev-fn', nodeFn('export default () => 1;', { mountDev: true })), 403, 'forbidden');
    await expectProblem(await fetch(`${ferry.url}/v1/functions/bob-fn/versions/v1`, { method: 'PATCH', headers: { ...bearer(bob), 'content-type': 'application/json' }, body: JSON.stringify({ mountDev: true }) }), 403, 'forbidden');
    // Narrowing is anyone's: no /dev at all.
    assert.equal((await fetch(`${ferry.url}/v1/functions/bob-fn/versions/v1`, { method: 'PATCH', headers: { ...bearer(bob), 'content-type': 'application/json' }, body: JSON.stringify({ mountDev: false }) })).status, 200);
    await expectProblem(await deployAs(bob, 'net-fn', nodeFn('export default () => 1;', { network: 'host' })), 403, 'forbidden');
    await expectProblem(await deployAs(bob, 'bind-fn', nodeFn('export default () => 1;', { roBinds: { '/usr/share': '/data' } })), 403, 'forbidden');
    await expectProblem(await fetch(`${ferry.url}/v1/functions/bob-fn/versions/v1`, { method: 'PATCH', headers: { ...bearer(bob), 'content-type': 'application/json' }, body: JSON.stringify({ network: 'host' }) }), 403, 'forbidden');
  });

  test('quotas: a group past --quota-functions gets 403 quota-exceeded; admins are exempt', async () => {
    // bob owns bob-fn; the quota is 2.
    assert.equal((await deployAs(bob, 'bob-two')).status, 201);
    await expectProblem(await deployAs(bob, 'bob-three'), 403, 'quota-exceeded');
    // New versions of a function the group has are fine.
    assert.equal((await deployAs(bob, 'bob-two')).status, 201);
    for (const n of ['adm-1', 'adm-2', 'adm-3']) assert.equal((await ferry.api('POST', `/v1/functions/${n}/versions`, await packFiles(versionFn(n)), { 'content-type': 'application/gzip' })).status, 201);
  });
});
