/**
 * Secrets against the real server, in real sandboxes: encrypted at rest, scoped to their group,
 * injected as environment variables only where the function's owner may read them, rolled into
 * running instances without a failed call, and never in an answer, a log line or a build log.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startFerry, disposeFerry, markSensitive, packFiles, type Ferry } from './support/ferry.js';
import { expectProblem, nodeFn } from './support/helpers.js';

const values = {
  alice: 'postgres://alice:s3cr3t-Alice-Value@db/x',
  alice2: 'postgres://alice:r0tated-Alice-Value@db/x',
  team: 'team-shared-Secret-Value-42',
  bob: 'bob-private-Secret-Value-77',
};
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

let ferry: Ferry;
const seen: string[] = [];
const tokens: Record<string, string> = {};

/** Every answer body of the management API goes through here, for the leak check at the end. */
async function call(who: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const h: Record<string, string> = { authorization: `Bearer ${tokens[who]}`, ...headers };
  let payload: BodyInit | undefined;
  if (body instanceof Uint8Array) payload = Buffer.from(body);
  else if (body !== undefined) {
    payload = JSON.stringify(body);
    h['content-type'] = 'application/json';
  }
  const res = await fetch(ferry.url + path, { method, headers: h, body: payload });
  const text = await res.text();
  seen.push(text);
  return new Response(res.status === 204 ? null : text, { status: res.status, headers: res.headers });
}

/** A function answering the sha256 of each listed secret (never the value itself). */
const hasher = (names: string[]) =>
  nodeFn(`import { createHash } from 'node:crypto';\nexport default () => (${JSON.stringify(names)}).map((n) => n + '=' + (process.env[n] === undefined ? 'unset' : createHash('sha256').update(process.env[n]).digest('hex'))).join(',');`, { secrets: names });

before(async () => {
  markSensitive(...Object.values(values));
  ferry = await startFerry();
  tokens.admin = ferry.token;
  for (const [name, groups] of [
    ['alice', ['permission:read', 'permission:write', 'permission:execute', 'permission:remove', 'custom:team']],
    ['bob', ['permission:read', 'permission:write', 'permission:execute', 'permission:remove']],
  ] as const) {
    assert.equal((await call('admin', 'POST', '/v1/users', { name, groups })).status, 201);
    tokens[name] = ((await (await call('admin', 'POST', '/v1/tokens', { user: name })).json()) as { token: string }).token;
  }
});
after(async () => {
  // The leak check: no secret value in any API answer or server log line of this file.
  const logs = ferry.output.join('\n');
  await disposeFerry(ferry);
  for (const v of Object.values(values)) {
    assert.ok(!logs.includes(v), 'a secret value reached the server log');
    for (const body of seen) assert.ok(!body.includes(v), `a secret value in an API answer: ${body.slice(0, 200)}`);
  }
});

test('create, list (metadata only), 409 on a second create, scoped per group', async () => {
  const res = await call('alice', 'POST', '/v1/secrets', { name: 'DB_URL', value: values.alice });
  assert.equal(res.status, 201);
  assert.deepEqual(Object.keys((await res.json()) as object).sort(), ['createdAt', 'group', 'name', 'updatedAt']);
  await expectProblem(await call('alice', 'POST', '/v1/secrets', { name: 'DB_URL', value: 'x' }), 409, 'secret-exists');
  assert.equal((await call('alice', 'POST', '/v1/secrets', { name: 'TEAM_KEY', value: values.team, group: 'custom:team' })).status, 201);
  assert.equal((await call('bob', 'POST', '/v1/secrets', { name: 'DB_URL', value: values.bob })).status, 201, 'the same name in another group is another secret');
  const mine = (await (await call('alice', 'GET', '/v1/secrets')).json()) as { secrets: Array<{ name: string; group: string }> };
  assert.deepEqual(mine.secrets.map((s) => `${s.group}/${s.name}`).sort(), ['custom:team/TEAM_KEY', 'singular:alice/DB_URL']);
  const bobs = (await (await call('bob', 'GET', '/v1/secrets')).json()) as { secrets: Array<{ name: string; group: string }> };
  assert.deepEqual(bobs.secrets.map((s) => `${s.group}/${s.name}`), ['singular:bob/DB_URL']);
  await expectProblem(await call('bob', 'POST', '/v1/secrets', { name: 'X', value: 'y', group: 'custom:team' }), 403, 'forbidden');
  await expectProblem(await call('bob', 'DELETE', '/v1/secrets/TEAM_KEY?group=custom:team'), 403, 'forbidden');
  await expectProblem(await call('alice', 'POST', '/v1/secrets', { name: 'FERRY_TOKEN', value: 'x' }), 422, 'invalid-env');
  await expectProblem(await call('alice', 'POST', '/v1/secrets', { name: '1BAD', value: 'x' }), 422, 'invalid-name');
  await expectProblem(await call('alice', 'POST', '/v1/secrets', { name: 'N', value: 5 }), 422, 'invalid-body');
});

test('the database holds ciphertext only; the key is a 0600 file', async () => {
  const db = Buffer.concat([await readFile(join(ferry.dataDir, 'ferry.db')), await readFile(join(ferry.dataDir, 'ferry.db-wal')).catch(() => Buffer.alloc(0))]);
  for (const v of Object.values(values)) assert.ok(!db.includes(v), 'a clear secret value in the database');
  const { mode } = await import('node:fs/promises').then((fs) => fs.stat(join(ferry.dataDir, 'keys', 'secrets-aes256.key')));
  assert.equal(mode & 0o777, 0o600);
});

test('a version gets the secrets its owner may read as environment variables; missing ones refuse the deploy', async () => {
  await expectProblem(await call('alice', 'POST', '/v1/functions/needs-missing/versions', await packFiles(hasher(['NOPE'])), { 'content-type': 'application/gzip' }), 422, 'secret-unavailable');
  assert.equal((await call('alice', 'POST', '/v1/functions/alice-db/versions', await packFiles(hasher(['DB_URL', 'TEAM_KEY'])), { 'content-type': 'application/gzip' })).status, 201);
  const out = await (await fetch(`${ferry.url}/fn/alice-db`)).text();
  assert.equal(out, `DB_URL=${sha(values.alice)},TEAM_KEY=${sha(values.team)}`);
  // Bob's function sees Bob's DB_URL, and cannot name the team's.
  await expectProblem(await call('bob', 'POST', '/v1/functions/bob-db/versions', await packFiles(hasher(['TEAM_KEY'])), { 'content-type': 'application/gzip' }), 422, 'secret-unavailable');
  assert.equal((await call('bob', 'POST', '/v1/functions/bob-db/versions', await packFiles(hasher(['DB_URL'])), { 'content-type': 'application/gzip' })).status, 201);
  assert.equal(await (await fetch(`${ferry.url}/fn/bob-db`)).text(), `DB_URL=${sha(values.bob)}`);
  // The build log and the version record name the secret, never its value.
  const v = await (await call('alice', 'GET', '/v1/functions/alice-db/versions/v1')).text();
  assert.match(v, /"secrets":\["DB_URL","TEAM_KEY"\]/);
  await call('alice', 'GET', '/v1/functions/alice-db/versions/v1/build-log');
  await call('alice', 'GET', '/v1/functions/alice-db/logs');
});

test('updating a secret replaces running instances with no failed call', async () => {
  let stop = false;
  const statuses: number[] = [];
  const bodies = new Set<string>();
  const load = (async () => {
    while (!stop) {
      const r = await fetch(`${ferry.url}/fn/alice-db`);
      statuses.push(r.status);
      bodies.add(await r.text());
    }
  })();
  await new Promise((r) => setTimeout(r, 200));
  const put = await call('alice', 'PUT', '/v1/secrets/DB_URL', { value: values.alice2 });
  assert.equal(put.status, 200);
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && ![...bodies].some((b) => b.includes(sha(values.alice2)))) await new Promise((r) => setTimeout(r, 50));
  stop = true;
  await load;
  assert.ok(statuses.length > 10, `only ${statuses.length} calls`);
  assert.deepEqual([...new Set(statuses)], [200], 'every call during the roll answered 200');
  assert.ok([...bodies].some((b) => b.includes(sha(values.alice2))), 'the new value reached the function');
  assert.equal(await (await fetch(`${ferry.url}/fn/alice-db`)).text(), `DB_URL=${sha(values.alice2)},TEAM_KEY=${sha(values.team)}`);
});

test('a deleted secret: running instances keep serving, a new instance does not start', async () => {
  assert.equal((await call('bob', 'DELETE', '/v1/secrets/DB_URL')).status, 204);
  await expectProblem(await call('bob', 'DELETE', '/v1/secrets/DB_URL'), 404, 'secret-not-found');
  // Stop the running instance: the next call needs a new one, which cannot get its secret.
  assert.equal((await call('bob', 'POST', '/v1/functions/bob-db/versions/v1/stop')).status, 202);
  const res = await fetch(`${ferry.url}/fn/bob-db`);
  const text = await res.text();
  seen.push(text);
  assert.equal(res.status, 502, text);
  assert.match(text, /instance-start-failed/);
  assert.ok(!text.includes(values.bob));
});
