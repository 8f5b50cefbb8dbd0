/**
 * The permission matrix: every route of the served OpenAPI document, called as root, an admin,
 * a writer and a reader of the function's group, a stranger (all permissions, not in the group),
 * no token and an expired token, against the answer the permission model says each should get.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFerry, disposeFerry, markSensitive, packFiles, type Ferry } from './support/ferry.js';
import { until, versionFn } from './support/helpers.js';
import { waitFor } from './support/wait.js';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Role = 'root' | 'admin' | 'writer' | 'reader' | 'stranger' | 'anonymous' | 'expired';
const roles: Role[] = ['root', 'admin', 'writer', 'reader', 'stranger', 'anonymous', 'expired'];
/** `ok`: the request got past authorization (whatever the handler then said about the dummy body). */
type Outcome = 'ok' | 401 | 403 | 404;

/** What each route needs, written down here independently of the server's own table. */
const needs: Record<string, 'public' | 'signed-in' | 'self-or-admin' | 'own-token' | 'read' | 'write' | 'execute' | 'remove' | 'admin' | 'root' | `fn:${'read' | 'write' | 'execute' | 'remove'}` | 'fn:create'> = {
  'GET /healthz': 'public',
  'GET /v1/openapi.json': 'public',
  'GET /v1/errors': 'public',
  'GET /metrics': 'read',
  'POST /v1/auth/register': 'public',
  'POST /v1/auth/login': 'public',
  'POST /v1/auth/refresh': 'public',
  'POST /v1/auth/logout': 'public',
  'GET /v1/auth/whoami': 'signed-in',
  'POST /v1/auth/invites': 'admin',
  'POST /v1/auth/session': 'public',
  'GET /v1/auth/session': 'signed-in',
  'DELETE /v1/auth/session': 'signed-in',
  'GET /v1/users': 'admin',
  'POST /v1/users': 'admin',
  'GET /v1/users/{name}': 'self-or-admin',
  'PATCH /v1/users/{name}': 'self-or-admin',
  'DELETE /v1/users/{name}': 'admin',
  'POST /v1/tokens': 'signed-in',
  'GET /v1/tokens': 'signed-in',
  'DELETE /v1/tokens/{id}': 'own-token',
  'GET /v1/functions': 'read',
  'GET /v1/functions/{name}': 'fn:read',
  'PATCH /v1/functions/{name}': 'fn:write',
  'DELETE /v1/functions/{name}': 'fn:remove',
  'POST /v1/functions/{name}/versions': 'fn:create',
  'PUT /v1/functions/{name}/versions/{version}': 'fn:create',
  'GET /v1/functions/{name}/versions': 'fn:read',
  'GET /v1/functions/{name}/versions/{version}': 'fn:read',
  'PATCH /v1/functions/{name}/versions/{version}': 'fn:write',
  'DELETE /v1/functions/{name}/versions/{version}': 'fn:remove',
  'GET /v1/functions/{name}/versions/{version}/build-log': 'fn:read',
  'POST /v1/functions/{name}/versions/{version}/start': 'fn:write',
  'POST /v1/functions/{name}/versions/{version}/stop': 'fn:write',
  'GET /v1/functions/{name}/aliases': 'fn:read',
  'PUT /v1/functions/{name}/aliases/{alias}': 'fn:write',
  'DELETE /v1/functions/{name}/aliases/{alias}': 'fn:remove',
  'GET /v1/functions/{name}/instances': 'fn:read',
  'GET /v1/functions/{name}/logs': 'fn:read',
  'GET /v1/functions/{name}/objects': 'fn:read',
  'PUT /v1/functions/{name}/objects/{key}': 'fn:write',
  'GET /v1/functions/{name}/objects/{key}': 'fn:read',
  'DELETE /v1/functions/{name}/objects/{key}': 'fn:write',
  'GET /v1/pool': 'read',
  'GET /v1/cluster': 'admin',
  'GET /v1/traffic': 'read',
  'GET /v1/functions/{name}/traffic': 'fn:read',
  'GET /v1/invocations': 'read',
  'GET /v1/invocations/{id}': 'read',
  'PUT /v1/functions/{name}/schedules/{id}': 'fn:write',
  'GET /v1/functions/{name}/schedules': 'fn:read',
  'GET /v1/functions/{name}/schedules/{id}': 'fn:read',
  'DELETE /v1/functions/{name}/schedules/{id}': 'fn:remove',
  'POST /v1/secrets': 'write',
  'GET /v1/secrets': 'read',
  'PUT /v1/secrets/{name}': 'write',
  'DELETE /v1/secrets/{name}': 'write',
  'POST /v1/functions/{name}/executions': 'fn:execute',
  'GET /v1/functions/{name}/callback-key': 'fn:write',
  'GET /v1/executions': 'read',
  // On an execution a token created: what its function needs (a public one is readable by id).
  'GET /v1/executions/{id}': 'fn:read',
  'DELETE /v1/executions/{id}': 'fn:execute',
  'GET /v1/executions/{id}/result': 'fn:read',
  'GET /v1/dead-letters': 'read',
  'POST /v1/executions/{id}/redrive': 'fn:execute',
  // The invocation surface: mx is a public function, so every caller may call it, whatever token it sends.
  'GET /fn/{name}/{path}': 'public',
  'POST /fn/{name}/{path}': 'public',
  'PUT /fn/{name}/{path}': 'public',
  'PATCH /fn/{name}/{path}': 'public',
  'DELETE /fn/{name}/{path}': 'public',
  // The ShortedFaaS surface (--compat shortedfaas): no credentials of Ferry's; sx is public.
  'POST /f/{name}': 'public',
  'POST /a/{name}': 'public',
  'GET /r/{name}/{id}': 'public',
  'GET /list': 'public',
  'GET /history': 'public',
  'GET /history/{id}': 'public',
  // YFASS (--compat yfass): its own rules, ROOT being the root group.
  'POST /api/user/add': 'admin',
  'GET /api/user/get/{user}': 'self-or-admin',
  'DELETE /api/user/remove/{user}': 'root',
  'POST /api/user/request-token': 'admin',
  'PUT /api/user/modify': 'admin',
  'POST /api/upload/{key}': 'write',
  'GET /api/get/{key}': 'read',
  'PUT /api/override/{key}': 'write',
  'PUT /api/alias/{key}': 'write',
  'DELETE /api/remove/{key}': 'remove',
  'POST /api/deploy/{key}': 'execute',
  'POST /api/kill/{key}': 'execute',
  'GET /api/status/{key}': 'execute',
  // Seed-003 (--compat seed003): Ferry's rules on its own functions, objects, secrets and users.
  'POST /auth/register': 'public',
  'POST /auth/login': 'public',
  'GET /api/functions': 'read',
  'POST /api/functions': 'write',
  'GET /api/functions/{id}': 'fn:read',
  'DELETE /api/functions/{id}': 'fn:remove',
  'POST /api/executions': 'execute',
  'GET /api/executions': 'read',
  'GET /api/executions/{id}': 'fn:read',
  'GET /api/function-objects/{function_id}': 'fn:read',
  'GET /api/function-objects/{function_id}/objects': 'fn:read',
  'POST /api/function-objects/{function_id}/objects/{name}': 'fn:write',
  'GET /api/function-objects/{function_id}/objects/{name}': 'fn:read',
  'DELETE /api/function-objects/{function_id}/objects/{name}': 'fn:write',
  'POST /api/function-objects/{function_id}/{name}': 'fn:write',
  'GET /api/function-objects/{function_id}/{name}': 'fn:read',
  'DELETE /api/function-objects/{function_id}/{name}': 'fn:write',
  'GET /api/secrets': 'read',
  'POST /api/secrets': 'write',
  'GET /api/secrets/{id}': 'read',
  'PUT /api/secrets/{id}': 'write',
  'DELETE /api/secrets/{id}': 'write',
  'GET /api/users': 'admin',
  'GET /api/users/{id}': 'self-or-admin',
  // Ad-hoc commands (on here without --allow-run, so nothing runs): permission:execute, no function.
  'POST /v1/run': 'execute',
  'POST /functions/{function_id}/invoke': 'execute',
  // The dashboard's files.
  'GET /ui/{file}': 'public',
};

const groupsOf: Record<'admin' | 'writer' | 'reader' | 'stranger', string[]> = {
  admin: ['permission:admin'],
  writer: ['permission:read', 'permission:write', 'permission:execute', 'custom:mx'],
  reader: ['permission:read', 'custom:mx'],
  stranger: ['permission:read', 'permission:write', 'permission:execute', 'permission:remove'],
};

function expected(role: Role, need: (typeof needs)[string]): Outcome {
  if (need === 'public') return 'ok';
  if (role === 'anonymous' || role === 'expired') return 401;
  if (need === 'root') return role === 'root' ? 'ok' : 403;
  const admin = role === 'root' || role === 'admin';
  if (admin) return 'ok';
  const g = groupsOf[role];
  switch (need) {
    case 'signed-in':
      return 'ok';
    case 'self-or-admin':
      return 403; // the route names another user
    case 'own-token':
      return 404; // someone else's token is not to be found
    case 'read':
    case 'write':
    case 'execute':
    case 'remove':
    case 'admin':
      return g.includes(`permission:${need}`) ? 'ok' : 403;
    default: {
      const perm = need === 'fn:create' ? 'write' : need.slice(3);
      if (!g.includes('custom:mx')) return 404; // may not read it: as if it did not exist (409 name-taken when creating)
      return g.includes(`permission:${perm}`) ? 'ok' : 403;
    }
  }
}

let ferry: Ferry;
const tokens: Partial<Record<Role, string>> = {};
let targetTokenId = '';
let executionId = '';
let shortedId = '';
/** A seed-003 function of the group custom:mx, and an execution of it. */
let seedFn = '';
let seedExecution = '';
const shortedDir = mkdtempSync(join(tmpdir(), 'ferry-perm-deploy-'));

const admin = (method: string, path: string, body?: unknown) => ferry.api(method, path, body);

async function makeUser(name: string, groups: string[]): Promise<string> {
  markSensitive(`pw-${name}-0123456789`);
  const res = await admin('POST', '/v1/users', { name, password: `pw-${name}-0123456789`, groups });
  assert.equal(res.status, 201, await res.text());
  const tok = await admin('POST', '/v1/tokens', { user: name, days: 1 });
  assert.equal(tok.status, 201);
  return ((await tok.json()) as { token: string }).token;
}

/** Puts back what a successful destructive call removed: the function, v1, the alias, the target user. */
async function ensureFixtures(): Promise<void> {
  if ((await admin('GET', '/v1/functions/mx/versions/v1')).status === 404) {
    const res = await ferry.api('PUT', '/v1/functions/mx/versions/v1?group=custom:mx', await packFiles(versionFn('mx')), { 'content-type': 'application/gzip' });
    assert.equal(res.status, 201, await res.text());
  }
  if ((await admin('GET', '/v1/functions/mx')).status === 200) {
    const f = (await (await admin('GET', '/v1/functions/mx')).json()) as { owner: string; aliases: string[] };
    if (f.owner !== 'custom:mx') assert.equal((await admin('PATCH', '/v1/functions/mx', { owner: 'custom:mx' })).status, 200);
    if (!f.aliases.includes('prod')) assert.equal((await admin('PUT', '/v1/functions/mx/aliases/prod', { version: 'v1' })).status, 200);
  }
  if ((await admin('GET', '/v1/users/target')).status === 404) await makeUser('target', ['permission:read']);
  if ((await admin('GET', '/api/get/ym@a0')).status === 404) {
    const res = await ferry.api('POST', '/api/upload/ym@a0', await packFiles({ 'srv.js': 'x' }), { 'content-type': 'application/gzip' });
    assert.equal(res.status, 200, await res.text());
  }
  const list = (await (await admin('GET', '/v1/tokens?user=target')).json()) as { tokens: Array<{ id: string; revokedAt: string | null }> };
  targetTokenId = list.tokens.find((t) => t.revokedAt === null)?.id ?? (await (await admin('POST', '/v1/tokens', { user: 'target' })).json() as { id: string }).id;
  if (executionId === '' || (await admin('GET', `/v1/executions/${executionId}`)).status === 404) {
    const res = await admin('POST', '/v1/functions/mx/executions', {});
    const text = await res.text();
    assert.equal(res.status, 202, text);
    executionId = (JSON.parse(text) as { id: string }).id;
  }
  if (seedFn === '' || (await admin('GET', `/v1/functions/seed-${seedFn}`)).status === 404) {
    const form = new FormData();
    form.set('name', 'seed-mx');
    form.set('file', new Blob([new Uint8Array(await packFiles({ 'main.py': 'print("{}")\n' }))], { type: 'application/gzip' }), 'f.tar.gz');
    const res = await fetch(`${ferry.url}/api/functions`, { method: 'POST', headers: { authorization: `Bearer ${ferry.token}` }, body: form });
    const text = await res.text();
    assert.equal(res.status, 201, text);
    seedFn = (JSON.parse(text) as { id: string }).id;
    assert.equal((await admin('PATCH', `/v1/functions/seed-${seedFn}`, { owner: 'custom:mx' })).status, 200);
    const ex = await fetch(`${ferry.url}/api/executions`, { method: 'POST', headers: { authorization: `Bearer ${ferry.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ function_id: seedFn, input: {} }) });
    assert.equal(ex.status, 201);
    seedExecution = ((await ex.json()) as { id: string }).id;
  }
  if (shortedId === '') shortedId = ((await (await fetch(`${ferry.url}/a/sx`, { method: 'POST', body: 'x' })).json()) as { id: string }).id;
}

before(async () => {
  mkdirSync(join(shortedDir, 'sx'));
  writeFileSync(join(shortedDir, 'sx', 'run.json'), '{"type": "executable", "command": "cat", "arguments": ""}');
  ferry = await startFerry({ args: ['--driver', 'process', '--unsandboxed', '--compat', 'shortedfaas,yfass,tangle,seed003', '--deploy-dir', shortedDir] });
  await until(async () => (await fetch(`${ferry.url}/f/sx`, { method: 'POST', body: 'x' })).status === 200 || undefined, 30_000, 100);
  tokens.root = ferry.token;
  // The boot admin is the user `admin` (root); the admin role is another user.
  for (const r of ['admin', 'writer', 'reader', 'stranger'] as const) tokens[r] = await makeUser(r === 'admin' ? 'operator' : r, groupsOf[r]);
  const exp = await admin('POST', '/v1/tokens', { user: 'writer', seconds: 1 });
  tokens.expired = ((await exp.json()) as { token: string }).token;
  await ensureFixtures();
  // The one-second token has expired once the server says so (the fixtures above take a while).
  await waitFor('the one-second token to expire', async () => (await fetch(`${ferry.url}/v1/auth/whoami`, { headers: { authorization: `Bearer ${tokens.expired}` } })).status === 401, { intervalMs: 100 });
});
after(async () => {
  await disposeFerry(ferry);
  rmSync(shortedDir, { recursive: true, force: true });
});

function concrete(path: string): string {
  if (/^\/(f|a|r)\//.test(path)) return path.replace('{name}', 'sx').replace('{id}', shortedId);
  if (/^\/api\/(functions|function-objects|executions|secrets|users)\b/.test(path)) {
    return path.replace(/\{(id|function_id)\}/, path.startsWith('/api/executions') ? seedExecution : path.startsWith('/api/users') ? 'target' : path.startsWith('/api/secrets') ? '123e4567-e89b-12d3-a456-426614174000' : seedFn).replace('{name}', 'obj');
  }
  if (path.startsWith('/api/')) return path.replace('{user}', 'target').replace('{key}', 'ym@a0');
  return path.replace('{name}', path.startsWith('/v1/users') ? 'target' : 'mx').replace('{version}', 'v1').replace('{alias}', 'prod').replace('{key}', 'dir/k.txt').replace('{id}', path.startsWith('/v1/executions') ? executionId : targetTokenId);
}

test('every route of the OpenAPI document has an entry in this matrix, and the reverse', async () => {
  const doc = (await (await fetch(`${ferry.url}/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
  const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort();
  assert.deepEqual(documented, Object.keys(needs).sort());
});

test('permission matrix: every route x root, admin, writer, reader, stranger, no token, expired token', async () => {
  const failures: string[] = [];
  for (const [key, need] of Object.entries(needs)) {
    const [method, template] = key.split(' ') as [string, string];
    for (const role of roles) {
      await ensureFixtures();
      const path = concrete(template);
      const headers: Record<string, string> = {};
      if (role !== 'anonymous') headers.authorization = `Bearer ${tokens[role]}`;
      let body: BodyInit | undefined;
      if (template.endsWith('/versions') || template.endsWith('/versions/{version}')) {
        if (method === 'POST' || method === 'PUT') {
          headers['content-type'] = 'application/x-tar';
          body = new Uint8Array([1, 2, 3]);
        }
      }
      if (body === undefined && ['POST', 'PUT', 'PATCH'].includes(method)) {
        headers['content-type'] = 'application/json';
        body = key === 'PUT /v1/functions/{name}/aliases/{alias}' ? JSON.stringify({ version: 'v1' }) : '{}';
      }
      const res = await fetch(ferry.url + path, { method, headers, body });
      const text = await res.text();
      let code = '';
      try {
        code = (JSON.parse(text) as { code?: string }).code ?? '';
      } catch {
        /* not JSON: a success answer */
      }
      const want = expected(role, need);
      const authCodes = new Set(['unauthorized', 'token-expired', 'token-malformed', 'token-revoked', 'invalid-token', 'forbidden', 'function-not-found', 'name-taken', 'token-not-found', 'execution-not-found']);
      let got: Outcome | string;
      if (res.status === 401) got = 401;
      else if (res.status === 403 && code === 'forbidden') got = 403;
      else if ((res.status === 404 && (code === 'function-not-found' || code === 'token-not-found' || code === 'execution-not-found')) || (res.status === 409 && code === 'name-taken')) got = 404;
      else if (!authCodes.has(code)) got = 'ok';
      else got = `${res.status} ${code}`;
      if (got !== want) failures.push(`${role} ${method} ${path}: expected ${want}, got ${res.status} ${code || text.slice(0, 80)}`);
      if (role === 'expired' && need !== 'public' && code !== 'token-expired') failures.push(`expired ${method} ${path}: code ${code}, expected token-expired`);
      if (role === 'stranger' && need === 'fn:create' && code !== 'name-taken') failures.push(`stranger ${method} ${path}: code ${code}, expected name-taken`);
    }
  }
  assert.deepEqual(failures, []);
});
