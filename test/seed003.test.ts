/**
 * The seed-003 platform's API and function contract (`--compat seed003`): its README flow over
 * its own routes (register, login, an image function, an object uploaded as form data, a secret,
 * an execution with direct, object and secret inputs, polled to its result); its Python example
 * verbatim, as an image and as a plain folder; `{"error": ...}` ends failed; a registration as
 * admin is refused; bad input answers `{"error", "message"}`; objects and secrets the caller may
 * not read are not served to its run.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFerry, disposeFerry, markSensitive, packFiles, type Ferry } from './support/ferry.js';
import { sandboxSupport } from './support/sandbox.js';
import { dockerSave } from './support/images.js';
import { ALL_INPUTS, README_EXAMPLE, pythonFunctionImage } from './support/seed003.js';
import { seedClient, type SeedClient } from './support/seed003-client.js';

const support = await sandboxSupport();
const skip = support.ok ? false : `the bwrap sandbox cannot run here: ${support.why}`;

let f: Ferry;
let call: SeedClient['call'];
let signUp: SeedClient['signUp'];
let execute: SeedClient['execute'];
before(async () => {
  if (skip) return;
  f = await startFerry({ args: ['--driver', 'bwrap', '--compat', 'seed003', '--registration', 'open'] });
  ({ call, signUp, execute } = seedClient(f));
});
after(async () => {
  if (f) await disposeFerry(f);
});

function imageForm(name: string, main: string): FormData {
  const form = new FormData();
  form.set('name', name);
  form.set('description', `${name} as an image`);
  form.set('file', new Blob([new Uint8Array(dockerSave(pythonFunctionImage(main)).archive)], { type: 'application/x-docker-archive' }), 'image.tar');
  return form;
}

test("the README flow: register, login, an image function, an object, a secret, an execution with all three inputs", { skip }, async () => {
  const token = await signUp('dana');
  const created = await call('POST', '/api/functions', token, imageForm('all-inputs', ALL_INPUTS));
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const id = created.json.id as string;
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.equal(created.json.name, 'all-inputs');
  assert.deepEqual(((await call('GET', '/api/functions', token)).json.functions as Array<{ id: string }>).map((x) => x.id), [id]);
  // The Ferry version behind it: the contract, the seed's five minutes a run, never retried.
  const version = (await (await f.api('GET', `/v1/functions/seed-${id}/versions/v1`)).json()) as { manifest: Record<string, unknown> };
  assert.deepEqual([version.manifest.contract, version.manifest.limits, version.manifest.asyncTimeoutMs, version.manifest.retries], ['seed003', { timeoutMs: 300_000 }, 300_000, 0]);

  const upload = new FormData();
  upload.set('file', new Blob(['a,b\n1,2\n'], { type: 'text/csv' }), 'data.csv');
  const obj = await call('POST', `/api/function-objects/${id}/objects/dataset`, token, upload);
  assert.equal(obj.status, 201, JSON.stringify(obj.json));
  assert.deepEqual([obj.json.name, obj.json.size, obj.json.content_type], ['dataset', 8, 'text/csv']);
  const listed = await call('GET', `/api/function-objects/${id}`, token);
  assert.deepEqual((listed.json.objects as Array<{ name: string }>).map((o) => o.name), ['dataset']);

  // Not marked sensitive: the function prints it back, into the output its caller reads.
  const secret = await call('POST', '/api/secrets', token, { name: 'database_url', value: 's3cr3t-db-url-value' });
  assert.equal(secret.status, 201, JSON.stringify(secret.json));
  assert.equal(secret.json.value, undefined);
  assert.deepEqual((await call('GET', `/api/secrets/${secret.json.id as string}`, token)).json.name, 'database_url');

  // input as a JSON string, as the seed's examples send it
  const input = JSON.stringify({ direct_inputs: { pages: 2 }, object_inputs: { file1: `${id}/dataset`, file2: `function-objects/${id}/objects/dataset` }, secrets: ['database_url'] });
  const done = await execute(token, id, input);
  assert.equal(done.status, 'completed', JSON.stringify(done));
  assert.equal(done.input, input);
  assert.ok(done.completed_at);
  const output = JSON.parse(done.output as string) as Record<string, unknown>;
  // the function read the secret from its environment
  assert.deepEqual(output, { direct: { pages: 2 }, args: 2, file1: 'a,b\n1,2\n', file2: 'a,b\n1,2\n', database_url: 's3cr3t-db-url-value' });
  const list = await call('GET', '/api/executions', token);
  assert.ok((list.json.executions as Array<{ id: string }>).some((e) => e.id === done.id));

  const failed = await execute(token, id, { direct_inputs: { fail: true } });
  assert.equal(failed.status, 'failed');
  assert.deepEqual(JSON.parse(failed.output as string), { error: 'asked to fail' });
});

test("the README's Python example, verbatim: as an image and as a plain Python folder", { skip }, async () => {
  const token = await signUp('erin');
  const image = await call('POST', '/api/functions', token, imageForm('hello', README_EXAMPLE));
  assert.equal(image.status, 201, JSON.stringify(image.json));
  const folder = new FormData();
  folder.set('name', 'hello-folder');
  folder.set('file', new Blob([new Uint8Array(await packFiles({ 'main.py': README_EXAMPLE }))], { type: 'application/gzip' }), 'hello.tar.gz');
  const plain = await call('POST', '/api/functions', token, folder);
  assert.equal(plain.status, 201, JSON.stringify(plain.json));
  for (const fn of [image.json, plain.json]) {
    const done = await execute(token, fn.id as string, { name: 'World' });
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.deepEqual(JSON.parse(done.output as string), { message: 'Hello World' });
  }
});

test("objects and secrets the caller may not read are not served to its run", { skip }, async () => {
  const owner = await signUp('olga');
  const other = await signUp('otto');
  const created = await call('POST', '/api/functions', owner, imageForm('reader', ALL_INPUTS));
  const ownerFn = created.json.id as string;
  const upload = new FormData();
  upload.set('file', new Blob(['olga only'], { type: 'text/plain' }), 'x.txt');
  assert.equal((await call('POST', `/api/function-objects/${ownerFn}/private`, owner, upload)).status, 201);
  markSensitive('olga-secret-value');
  assert.equal((await call('POST', '/api/secrets', owner, { name: 'olga_key', value: 'olga-secret-value' })).status, 201);
  // otto runs a function of his own that asks for olga's object and secret
  const mine = await call('POST', '/api/functions', other, imageForm('snoop', ALL_INPUTS));
  const done = await execute(other, mine.json.id as string, { direct_inputs: {}, object_inputs: { stolen: `${ownerFn}/private` }, secrets: ['olga_key'] });
  assert.equal(done.status, 'completed', JSON.stringify(done));
  assert.deepEqual(JSON.parse(done.output as string), { direct: {}, args: 2, stolen: 404, olga_key: null });
  // and olga's own run reaches only what its input named
  const named = await execute(owner, ownerFn, { direct_inputs: {}, object_inputs: { x: `${ownerFn}/other-name` } });
  assert.deepEqual(JSON.parse(named.output as string), { direct: {}, args: 2, x: 404 });
  // otto cannot see olga's function, its objects or its executions
  assert.equal((await call('GET', `/api/functions/${ownerFn}`, other)).status, 404);
  assert.equal((await call('GET', `/api/function-objects/${ownerFn}/private`, other)).status, 404);
  assert.equal((await call('GET', `/api/executions/${named.id as string}`, other)).status, 404);
});

test('a registration as admin is refused; bad input answers {"error", "message"}', { skip }, async () => {
  const admin = await call('POST', '/auth/register', undefined, { username: 'mallory', password: 'pw-mallory-0123456789', role: 'admin' });
  assert.equal(admin.status, 403);
  assert.equal(admin.json.error, 'forbidden');
  assert.equal(typeof admin.json.message, 'string');
  const token = await signUp('bob');
  assert.equal((await call('POST', '/auth/register', token, { username: 'mallory', password: 'pw-mallory-0123456789', role: 'admin' })).status, 403);
  // an admin may register one
  const made = await call('POST', '/auth/register', f.token, { username: 'ops', password: 'pw-ops-0123456789', role: 'admin' });
  assert.equal(made.status, 201, JSON.stringify(made.json));
  assert.equal(made.json.role, 'admin');
  const users = await call('GET', '/api/users', token);
  assert.deepEqual([users.status, users.json.error], [403, 'forbidden']);

  const bad = await call('POST', '/api/executions', token, { function_id: '123e4567-e89b-12d3-a456-426614174000', input: 'invalid json' });
  assert.deepEqual([bad.status, bad.json.error, typeof bad.json.message], [400, 'invalid_input', 'string']);
  const missing = await call('POST', '/api/executions', token, { function_id: '123e4567-e89b-12d3-a456-426614174000', input: {} });
  assert.deepEqual([missing.status, missing.json.error], [404, 'function_not_found']);
  const noImage = await call('POST', '/api/functions', token, { name: 'x' });
  assert.deepEqual([noImage.status, noImage.json.error], [400, 'invalid_body']);
  const anonymous = await call('GET', '/api/functions', undefined);
  assert.equal(anonymous.status, 401);
  const invalid = await call('GET', '/api/functions', 'invalid_token');
  assert.deepEqual([invalid.status, typeof invalid.json.message], [401, 'string']);
});
