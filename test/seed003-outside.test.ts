/**
 * The seed-003 API as an attacker tries it, on the real server: a form bomb (thousands of parts,
 * no boundary), object names that climb out (`../`, absolute paths), and one user reaching for
 * another's function, objects, secrets and executions by id, with every method. Each is refused
 * in the seed's error shape, and nothing of the other user's changes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFerry, disposeFerry, markSensitive, packFiles, type Ferry } from './support/ferry.js';
import { seedClient, type SeedClient } from './support/seed003-client.js';

let f: Ferry;
let seed: SeedClient;
let owner: string;
let other: string;
let fid: string;

/** A plain Python folder as a function of `token`'s: nothing here runs it. */
async function createFunction(token: string, name: string): Promise<string> {
  const form = new FormData();
  form.set('name', name);
  form.set('file', new Blob([new Uint8Array(await packFiles({ 'main.py': 'print("{}")\n' }))], { type: 'application/gzip' }), 'fn.tar.gz');
  const made = await seed.call('POST', '/api/functions', token, form);
  assert.equal(made.status, 201, JSON.stringify(made.json));
  return made.json.id as string;
}

function fileForm(text: string): FormData {
  const form = new FormData();
  form.set('file', new Blob([text], { type: 'text/plain' }), 'x.txt');
  return form;
}

async function objectNames(token: string, id: string): Promise<string[]> {
  const listed = await seed.call('GET', `/api/function-objects/${id}`, token);
  assert.equal(listed.status, 200, JSON.stringify(listed.json));
  return (listed.json.objects as Array<{ name: string }>).map((o) => o.name).sort();
}

before(async () => {
  f = await startFerry({ args: ['--compat', 'seed003', '--registration', 'open'] });
  seed = seedClient(f);
  owner = await seed.signUp('owner');
  other = await seed.signUp('other');
  fid = await createFunction(owner, 'owned');
  assert.equal((await seed.call('POST', `/api/function-objects/${fid}/objects/data`, owner, fileForm('owner data'))).status, 201);
});
after(async () => {
  if (f) await disposeFerry(f);
});

test('a form of thousands of parts is refused before its file is stored; a form without a boundary too', async () => {
  const fields = Array.from({ length: 5000 }, (_, i) => `--b\r\nContent-Disposition: form-data; name="f${i}"\r\n\r\n\r\n`).join('');
  const file = '--b\r\nContent-Disposition: form-data; name="file"; filename="x"\r\nContent-Type: text/plain\r\n\r\nbomb\r\n--b--\r\n';
  const send = (type: string, body: string) =>
    fetch(`${f.url}/api/function-objects/${fid}/objects/bomb`, { method: 'POST', headers: { authorization: `Bearer ${owner}`, 'content-type': type }, body });
  const bomb = await send('multipart/form-data; boundary=b', fields + file);
  const answer = (await bomb.json()) as { error: string; message: string };
  assert.equal(bomb.status, 400, JSON.stringify(answer));
  assert.equal(answer.error, 'invalid_body');
  assert.match(answer.message, /more than 32 parts/);
  for (const type of ['multipart/form-data', 'multipart/form-data; boundary=']) {
    const res = await send(type, file);
    assert.deepEqual([res.status, ((await res.json()) as { error: string }).error], [400, 'invalid_body'], type);
  }
  assert.deepEqual(await objectNames(owner, fid), ['data']);
});

test('every answer of these routes carries x-request-id, the caller\'s when it is a sane one', async () => {
  const listed = await fetch(`${f.url}/api/functions`, { headers: { authorization: `Bearer ${owner}`, 'x-request-id': 'ticket-4711' } });
  await listed.text();
  assert.equal(listed.headers.get('x-request-id'), 'ticket-4711');
  const refused = await fetch(`${f.url}/api/users`, { headers: { authorization: `Bearer ${owner}`, 'x-request-id': 'no spaces <allowed>' } });
  await refused.text();
  assert.equal(refused.status, 403);
  assert.match(refused.headers.get('x-request-id') ?? '', /^[A-Za-z0-9._:-]{8,}$/);
});

test('a path under /api/ or /auth/ that the API does not have answers 404 in its shape; a known path with another method 405', async () => {
  for (const path of ['/api/nothing-here', '/api/functions/a/b/c', '/auth/whoami']) {
    const res = await fetch(`${f.url}${path}`, { headers: { authorization: `Bearer ${owner}` } });
    assert.equal(res.status, 404, path);
    const body = (await res.json()) as { error: string; message: string };
    assert.equal(body.error, 'route_not_found', path);
    assert.equal(typeof body.message, 'string');
  }
  const wrong = await fetch(`${f.url}/api/users`, { method: 'PATCH', headers: { authorization: `Bearer ${owner}` } });
  assert.equal(wrong.status, 405);
  assert.equal(((await wrong.json()) as { error: string }).error, 'method_not_allowed');
});

test('object names that climb out or start at the root are refused on both paths; nothing is stored', async () => {
  for (const name of ['..%2F..%2Fetc%2Fpasswd', '%2Fetc%2Fpasswd', 'a%2F..%2F..%2Fb', 'x%2F%2Fy', 'a%00b']) {
    for (const path of [`/api/function-objects/${fid}/objects/${name}`, `/api/function-objects/${fid}/${name}`]) {
      const put = await seed.call('POST', path, owner, fileForm('escape'));
      assert.equal(put.status, 400, `${path}: ${JSON.stringify(put.json)}`);
      assert.equal(put.json.error, 'invalid_key');
      const got = await seed.call('GET', path, owner);
      assert.ok(got.status === 400 || got.status === 404, `${path}: ${got.status}`);
    }
  }
  assert.deepEqual(await objectNames(owner, fid), ['data']);
});

test("another user reaches none of a user's function, objects, secrets or executions by id, with any method", async () => {
  markSensitive('owner-key-value-0123');
  const secret = await seed.call('POST', '/api/secrets', owner, { name: 'owner_key', value: 'owner-key-value-0123' });
  assert.equal(secret.status, 201);
  const sid = secret.json.id as string;
  const run = await seed.call('POST', '/api/executions', owner, { function_id: fid, input: {} });
  assert.equal(run.status, 201);
  const eid = run.json.id as string;

  const tries: Array<[string, string, unknown]> = [
    ['GET', `/api/functions/${fid}`, undefined],
    ['DELETE', `/api/functions/${fid}`, undefined],
    ['GET', `/api/function-objects/${fid}`, undefined],
    ['GET', `/api/function-objects/${fid}/objects`, undefined],
    ['GET', `/api/function-objects/${fid}/data`, undefined],
    ['GET', `/api/function-objects/${fid}/objects/data`, undefined],
    ['POST', `/api/function-objects/${fid}/data`, fileForm('overwritten')],
    ['POST', `/api/function-objects/${fid}/objects/planted`, fileForm('planted')],
    ['DELETE', `/api/function-objects/${fid}/data`, undefined],
    ['DELETE', `/api/function-objects/${fid}/objects/data`, undefined],
    ['POST', '/api/executions', { function_id: fid, input: {} }],
    ['GET', `/api/executions/${eid}`, undefined],
    ['GET', `/api/secrets/${sid}`, undefined],
    ['PUT', `/api/secrets/${sid}`, { value: 'replaced' }],
    ['DELETE', `/api/secrets/${sid}`, undefined],
  ];
  for (const [method, path, body] of tries) {
    const got = await seed.call(method, path, other, body);
    assert.equal(got.status, 404, `${method} ${path}: ${JSON.stringify(got.json)}`);
    assert.equal(typeof got.json.error, 'string');
  }
  // Nor do the lists show any of it.
  assert.deepEqual((await seed.call('GET', '/api/functions', other)).json.functions, []);
  assert.deepEqual((await seed.call('GET', '/api/secrets', other)).json.secrets, []);
  assert.deepEqual((await seed.call('GET', '/api/executions', other)).json.executions, []);
  // Everything of the owner's is as it was.
  assert.equal((await seed.call('GET', `/api/functions/${fid}`, owner)).status, 200);
  assert.deepEqual(await objectNames(owner, fid), ['data']);
  const data = await fetch(`${f.url}/api/function-objects/${fid}/data`, { headers: { authorization: `Bearer ${owner}` } });
  assert.equal(await data.text(), 'owner data');
  assert.equal((await seed.call('GET', `/api/secrets/${sid}`, owner)).status, 200);
  assert.equal((await seed.call('GET', `/api/executions/${eid}`, owner)).status, 200);
});
