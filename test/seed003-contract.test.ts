/**
 * The seed-003 contract's edges: a function created from `image_url` (pulled from a registry)
 * runs with the caller's secret; a run of the same function that did not come through the
 * seed-003 API (Ferry's own /v1 executions) gets no secret and fails; the contract's routes
 * answer only an instance on its own socket, never a token over TCP.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { startFerry, disposeFerry, markSensitive, sleep, type Ferry } from './support/ferry.js';
import { sandboxSupport } from './support/sandbox.js';
import { imageOf, pushImage, TestRegistry } from './support/registry.js';
import { makeTar } from './support/archive-writers.js';
import { ALL_INPUTS, pythonFunctionImage } from './support/seed003.js';

const support = await sandboxSupport();
const skip = support.ok ? false : `the bwrap sandbox cannot run here: ${support.why}`;

let f: Ferry;
let registry: TestRegistry;
before(async () => {
  if (skip) return;
  registry = await TestRegistry.start();
  const img = pythonFunctionImage(ALL_INPUTS);
  await pushImage(registry.base, 'fn/all-inputs', 'v1', imageOf(img.layers.map((l) => gzipSync(makeTar(l.items))), 'amd64', img.config));
  f = await startFerry({ args: ['--driver', 'bwrap', '--compat', 'seed003', '--registration', 'open', '--registry-allow', '127.0.0.1', '--insecure-registry', registry.host] });
});
after(async () => {
  if (f) await disposeFerry(f);
  await registry?.stop();
});

async function call(method: string, path: string, token: string | undefined, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${f.url}${path}`, { method, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  f.answers.push(text);
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

test('image_url: the function is pulled, and its run gets the secret its caller asked for', { skip }, async () => {
  const password = 'pw-pat-0123456789';
  markSensitive(password);
  assert.equal((await call('POST', '/auth/register', undefined, { username: 'pat', password })).status, 201);
  const token = (await call('POST', '/auth/login', undefined, { username: 'pat', password })).json.token as string;
  const image = `${registry.host}/fn/all-inputs:v1`;
  const created = await call('POST', '/api/functions', token, { name: 'all-inputs', image_url: image, description: 'pulled' });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  assert.deepEqual([created.json.name, created.json.image_url, created.json.description], ['all-inputs', image, 'pulled']);
  assert.equal((await call('POST', '/api/secrets', token, { name: 'API_KEY', value: 'pat-api-key-value' })).status, 201);
  const sub = await call('POST', '/api/executions', token, { function_id: created.json.id, input: { direct_inputs: { n: 1 }, secrets: ['API_KEY'] } });
  assert.equal(sub.status, 201, JSON.stringify(sub.json));
  let got: Record<string, unknown>;
  do {
    await sleep(200);
    got = (await call('GET', `/api/executions/${sub.json.id as string}`, token)).json;
  } while (got.status === 'pending' || got.status === 'running');
  assert.equal(got.status, 'completed', JSON.stringify(got));
  assert.deepEqual(JSON.parse(got.output as string), { direct: { n: 1 }, args: 2, API_KEY: 'pat-api-key-value' });

  // The same function run through Ferry's own executions: no caller of the seed-003 API, no secret.
  const own = await f.api('POST', `/v1/functions/seed-${created.json.id as string}/executions`, { direct_inputs: {}, secrets: ['API_KEY'] });
  const accepted = await own.text();
  assert.equal(own.status, 202, accepted);
  const id = (JSON.parse(accepted) as { id: string }).id;
  const ended = (await (await f.api('GET', `/v1/executions/${id}?wait=60`)).json()) as { status: string };
  assert.equal(ended.status, 'failed');
});

test("the contract's routes answer an instance on its own socket only", { skip }, async () => {
  for (const path of [`/api/function-contract/${'0'.repeat(32)}/env`, `/api/function-contract/${'0'.repeat(32)}/objects/x/y`]) {
    const res = await call('GET', path, f.token);
    assert.deepEqual([res.status, res.json.error], [403, 'forbidden'], path);
  }
});
