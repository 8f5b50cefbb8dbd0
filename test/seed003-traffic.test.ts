/**
 * The seed-003 routes get what its gateway gave them, from Ferry's own policies: the management
 * API's CORS (`--cors-origin`: a preflight answered before any credential, others refused) and
 * the server-wide rate limit per token (429 with Retry-After while another token is served).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFerry, disposeFerry, markSensitive, type Ferry } from './support/ferry.js';

const page = 'https://console.example.com';
let f: Ferry;
before(async () => {
  f = await startFerry({ args: ['--driver', 'process', '--unsandboxed', '--compat', 'seed003', '--cors-origin', page, '--rate-limit-per-token', '0.001:3'] });
});
after(async () => {
  if (f) await disposeFerry(f);
});

test('CORS: a preflight of the seed-003 API from the allowed page is answered, another page is refused', async () => {
  const ask = { 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' };
  const pre = await fetch(`${f.url}/api/executions`, { method: 'OPTIONS', headers: { origin: page, ...ask } });
  assert.equal(pre.status, 204, await pre.text());
  assert.equal(pre.headers.get('access-control-allow-origin'), page);
  assert.match(pre.headers.get('access-control-allow-methods') ?? '', /POST/);
  const evil = await fetch(`${f.url}/api/executions`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', ...ask } });
  assert.equal(evil.status, 403);
  assert.equal(evil.headers.get('access-control-allow-origin'), null);
  // A simple request's answer, an error included, carries the allow header for the page.
  const denied = await fetch(`${f.url}/api/functions`, { headers: { origin: page } });
  assert.equal(denied.status, 401);
  assert.equal(denied.headers.get('access-control-allow-origin'), page);
  await denied.text();
});

test("the per-token rate limit: one token's burst gets 429 with Retry-After, another token is served", async () => {
  const tokenOf = async (user: string): Promise<string> => {
    markSensitive(`pw-${user}-0123456789`);
    // One admin call each (the admin token has a bucket too); the login carries no token.
    assert.equal((await f.api('POST', '/v1/users', { name: user, password: `pw-${user}-0123456789`, groups: ['permission:read'] })).status, 201);
    const login = await fetch(`${f.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: user, password: `pw-${user}-0123456789` }) });
    return ((await login.json()) as { token: string }).token;
  };
  const [a, b] = [await tokenOf('ann'), await tokenOf('ben')];
  const get = async (token: string) => {
    const res = await fetch(`${f.url}/api/functions`, { headers: { authorization: `Bearer ${token}` } });
    await res.text();
    return res;
  };
  const statuses = [(await get(a)).status, (await get(a)).status, (await get(a)).status];
  const over = await get(a);
  assert.deepEqual(statuses, [200, 200, 200]);
  assert.equal(over.status, 429);
  assert.ok(Number(over.headers.get('retry-after')) >= 1);
  assert.equal((await get(b)).status, 200);
});
