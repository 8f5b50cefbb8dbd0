/**
 * The seed-003 API's `JWT_SECRET`, user ids and execution list: with the secret set, a login
 * answers an HS256 token signed with it carrying the seed's claims (`sub` the user's UUID, `user`,
 * `role`, `exp`), and a token the seed itself signed still passes for the user it names; a token
 * signed otherwise, or for a user since deleted, does not, nor does either work on /v1. A secret
 * anyone knows stops the server from starting, and the secret shows in no log, answer or command
 * line. User ids are UUIDs kept across a restart. `GET /api/executions` answers a page.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFerry, disposeFerry, markSensitive, packFiles, type Ferry } from './support/ferry.js';
import { seedClient, type SeedClient } from './support/seed003-client.js';
import { nodeFn } from './support/helpers.js';

const SECRET = randomBytes(36).toString('base64');
markSensitive(SECRET);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The server as a seed-003 deployment configured it; no worker, so executions stay queued. */
const seedEnv = { FERRY_COMPAT: 'seed003', JWT_SECRET: SECRET, MAX_CONCURRENT_EXECUTIONS: '0' };

let f: Ferry;
let seed: SeedClient;
before(async () => {
  f = await startFerry({ args: ['--registration', 'open'], env: seedEnv });
  seed = seedClient(f);
});
after(async () => {
  if (f) await disposeFerry(f);
});

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

/** A compact HS256 JWS, made by hand: what the seed's Go server (golang-jwt) signs. */
function hs256(claims: Record<string, unknown>, key: string | Buffer = SECRET): string {
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${body}.${createHmac('sha256', key).update(body).digest('base64url')}`;
}

function claimsOf(token: string): { header: Record<string, unknown>; claims: Record<string, unknown>; signedWithSecret: boolean } {
  const [h, c, sig] = token.split('.') as [string, string, string];
  const decode = (x: string): Record<string, unknown> => JSON.parse(Buffer.from(x, 'base64url').toString()) as Record<string, unknown>;
  return { header: decode(h), claims: decode(c), signedWithSecret: createHmac('sha256', SECRET).update(`${h}.${c}`).digest('base64url') === sig };
}

test('JWT_SECRET: a login answers an HS256 token of the seed\'s claims, signed with it; user ids are UUIDs', async () => {
  const reg = await seed.call('POST', '/auth/register', undefined, { username: 'alice', password: 'pw-alice-0123456789', role: 'user' });
  assert.equal(reg.status, 201, JSON.stringify(reg.json));
  markSensitive('pw-alice-0123456789');
  const id = reg.json.id as string;
  assert.match(id, UUID);
  const login = await seed.call('POST', '/auth/login', undefined, { username: 'alice', password: 'pw-alice-0123456789' });
  assert.equal(login.status, 200, JSON.stringify(login.json));
  const token = login.json.token as string;
  const { header, claims, signedWithSecret } = claimsOf(token);
  assert.equal(header.alg, 'HS256');
  assert.ok(signedWithSecret, 'signed with JWT_SECRET');
  assert.deepEqual([claims.sub, claims.user, claims.role, typeof claims.exp], [id, 'alice', 'user', 'number']);

  assert.equal((await seed.call('GET', '/api/functions', token)).status, 200);
  const me = await seed.call('GET', `/api/users/${id}`, token);
  assert.deepEqual([me.status, me.json.id, me.json.username], [200, id, 'alice']);
  assert.equal((await seed.call('GET', `/api/users/${randomUUID()}`, token)).status, 404);
  // The seed's routes only: Ferry's own API does not take a token signed with JWT_SECRET.
  assert.equal((await fetch(`${f.url}/v1/functions`, { headers: { authorization: `Bearer ${token}` } })).status, 401);
  // Nor does a function it is sent to get it, as it gets none of Ferry's own tokens.
  await f.deploy('echo', nodeFn('export default (req) => Response.json([...req.headers]);'));
  const seen = await fetch(`${f.url}/fn/echo`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(seen.status, 200);
  assert.ok(!(await seen.text()).includes(token), 'the token reached the function');
});

test("JWT_SECRET: a token the seed signed passes for the user it names, with that user's rights and no more", async () => {
  await seed.signUp('bruno');
  const now = Math.floor(Date.now() / 1000);
  // As the seed's login signed it: its own user id in sub, and a role the token cannot grant here.
  const theirs = hs256({ sub: randomUUID(), user: 'bruno', role: 'admin', exp: now + 3600, key: 'faasapp-key' });
  assert.equal((await seed.call('GET', '/api/functions', theirs)).status, 200);
  assert.equal((await seed.call('GET', '/api/users', theirs)).status, 403, 'the role claim grants nothing');

  // Ferry's own credentials keep working on these routes beside them: an API token, a /v1 login's access token.
  assert.equal((await seed.call('GET', '/api/users', f.token)).status, 200);
  const session = await fetch(`${f.url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bruno', password: 'pw-bruno-0123456789' }) });
  const access = ((await session.json()) as { accessToken: string }).accessToken;
  assert.equal((await seed.call('GET', '/api/functions', access)).status, 200);

  const refused = {
    'another key': hs256({ user: 'bruno', exp: now + 3600 }, randomBytes(36)),
    'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ user: 'bruno', exp: now + 3600 })}.`,
    'no expiry': hs256({ user: 'bruno' }),
    expired: hs256({ user: 'bruno', exp: now - 60 }),
    'longer than the seed gave': hs256({ user: 'bruno', exp: now + 30 * 86_400 }),
    'no such user': hs256({ user: 'nobody', exp: now + 3600 }),
    'an issuer of neither': hs256({ iss: 'elsewhere', sub: randomUUID(), user: 'bruno', exp: now + 3600 }),
  };
  for (const [why, token] of Object.entries(refused)) {
    const got = await seed.call('GET', '/api/functions', token);
    assert.equal(got.status, 401, `${why}: ${JSON.stringify(got.json)}`);
    assert.equal(typeof got.json.message, 'string');
  }
});

test('JWT_SECRET: the token of a deleted user fails, also once a new user takes its name', async () => {
  const first = await seed.signUp('carol');
  const firstId = claimsOf(first).claims.sub as string;
  assert.equal((await f.api('DELETE', '/v1/users/carol')).status, 204);
  assert.equal((await seed.call('GET', '/api/functions', first)).status, 401);
  const again = await seed.call('POST', '/auth/register', undefined, { username: 'carol', password: 'pw-carol-0123456789', role: 'user' });
  assert.equal(again.status, 201);
  assert.notEqual(again.json.id, firstId);
  assert.equal((await seed.call('GET', '/api/functions', first)).status, 401);
});

test('GET /api/executions answers the newest 100, and the rest a page at a time', async () => {
  const token = await seed.signUp('dora');
  const form = new FormData();
  form.set('name', 'queued');
  form.set('file', new Blob([new Uint8Array(await packFiles({ 'main.py': 'print("{}")\n' }))], { type: 'application/gzip' }), 'f.tar.gz');
  const fn = await seed.call('POST', '/api/functions', token, form);
  assert.equal(fn.status, 201, JSON.stringify(fn.json));
  const ids: string[] = [];
  for (let i = 0; i < 101; i++) {
    const sub = await seed.call('POST', '/api/executions', token, { function_id: fn.json.id, input: { i } });
    assert.equal(sub.status, 201, JSON.stringify(sub.json));
    ids.push(sub.json.id as string);
  }
  const first = await seed.call('GET', '/api/executions', token);
  const page = first.json.executions as Array<{ id: string; status: string }>;
  assert.equal(page.length, 100);
  assert.deepEqual(page.map((e) => e.id), ids.slice(1).reverse(), 'newest first');
  assert.equal(typeof first.json.next, 'string');
  const rest = await seed.call('GET', `/api/executions?cursor=${first.json.next as string}`, token);
  assert.deepEqual([(rest.json.executions as Array<{ id: string }>).map((e) => e.id), rest.json.next], [[ids[0]], null]);
  const two = await seed.call('GET', '/api/executions?limit=2', token);
  assert.deepEqual((two.json.executions as Array<{ id: string }>).map((e) => e.id), [ids[100], ids[99]]);
  for (const q of ['limit=0', 'limit=1001', 'limit=x', 'cursor=-1']) {
    const bad = await seed.call('GET', `/api/executions?${q}`, token);
    assert.deepEqual([bad.status, bad.json.error], [400, 'invalid_query'], q);
  }
});

test('user ids and JWT_SECRET tokens last across a restart; JWT_SECRET_FILE serves as the variable does', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-jwt-'));
  const file = join(dir, 'jwt-secret');
  await writeFile(file, `${SECRET}\n`, { mode: 0o600 });
  const { JWT_SECRET: _, ...withoutSecret } = seedEnv;
  const env = { ...withoutSecret, JWT_SECRET_FILE: file };
  const dataDir = await mkdtemp(join(tmpdir(), 'ferry-test-'));
  const first = await startFerry({ args: ['--registration', 'open'], env, dataDir });
  const token = await seedClient(first).signUp('emil');
  const id = claimsOf(token).claims.sub as string;
  assert.ok(claimsOf(token).signedWithSecret);
  // Its leak check, keeping the data dir for the next start.
  await disposeFerry({ ...first, dataDir: await mkdtemp(join(tmpdir(), 'ferry-unused-')) });
  const again = await startFerry({ args: ['--registration', 'open'], env, dataDir });
  try {
    const me = await seedClient(again).call('GET', `/api/users/${id}`, token);
    assert.deepEqual([me.status, me.json.id, me.json.username], [200, id, 'emil']);
  } finally {
    await disposeFerry(again);
    await rm(dir, { recursive: true, force: true });
  }
});

test('a JWT_SECRET anyone could know stops the server from starting', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-jwt-'));
  const file = join(dir, 'jwt-secret');
  await writeFile(file, SECRET, { mode: 0o644 });
  const refused: Array<[Record<string, string>, RegExp]> = [
    [{ JWT_SECRET: 'your-super-secret-key-for-development' }, /JWT_SECRET: this is the seed's published example/],
    [{ JWT_SECRET: 'short-secret-0123456789' }, /JWT_SECRET: at least 32 bytes/],
    [{ JWT_SECRET_FILE: file }, /JWT_SECRET_FILE: .* is readable by others/],
    [{ JWT_SECRET: SECRET, JWT_SECRET_FILE: file }, /set one, not both/],
  ];
  try {
    for (const [env, why] of refused) {
      const dataDir = await mkdtemp(join(tmpdir(), 'ferry-test-'));
      const started = await startFerry({ env: { FERRY_COMPAT: 'seed003', ...env }, dataDir }).then((x) => x, (err: Error) => err);
      if (started instanceof Error) await rm(dataDir, { recursive: true, force: true });
      else {
        await disposeFerry(started);
        assert.fail(`the server started with ${Object.keys(env).join(' and ')} refused for ${String(why)}`);
      }
      assert.match(started.message, why);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
