/**
 * Two server processes on one data dir: what one writes (a deploy, an alias move, a delete)
 * reaches the other's routing through the store's change feed, without a restart.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFerry, disposeFerry, type Ferry } from './support/ferry.js';
import { versionFn } from './support/helpers.js';
import { waitFor } from './support/wait.js';

const args = ['--driver', 'process', '--unsandboxed', '--pool-size', '0'];
const started: Ferry[] = [];
after(async () => {
  // The second first: the first's disposal removes the shared data dir.
  for (const f of started.reverse()) await disposeFerry(f);
});

/** What `path` answers on `f` now: `<status> <body>`. */
async function answer(f: Ferry, path: string): Promise<string> {
  const res = await fetch(`${f.url}${path}`);
  return `${res.status} ${(await res.text()).trim()}`;
}

/** Waits until `f` answers `path` with `expected` (another process wrote the change). */
async function routes(f: Ferry, path: string, expected: string): Promise<void> {
  await waitFor(`${path} to answer '${expected}'`, async () => (await answer(f, path)) === expected);
}

test('a deploy, an alias move and a delete on one server process route on the other', async () => {
  const one = await startFerry({ args });
  started.push(one);
  const two = await startFerry({ args, dataDir: one.dataDir });
  started.push(two);

  // Deployed on one: routes on two.
  assert.equal((await one.deploy('shared', versionFn('1'))).version, 'v1');
  await routes(two, '/fn/shared', '200 v1');
  assert.equal((await one.deploy('shared', versionFn('2'))).version, 'v2');
  await routes(two, '/fn/shared', '200 v2');

  // An alias put and moved on one follows on two.
  assert.equal((await one.api('PUT', '/v1/functions/shared/aliases/prod', { version: 'v1' })).status, 200);
  await routes(two, '/fn/shared@prod', '200 v1');
  assert.equal((await one.api('PUT', '/v1/functions/shared/aliases/prod', { version: 'v2' })).status, 200);
  await routes(two, '/fn/shared@prod', '200 v2');

  // And the other way round: deployed on two, routes on one.
  await two.deploy('back', versionFn('b'));
  await routes(one, '/fn/back', '200 v1');

  // Deploys of one function on both at once: each gets its own version (compare-and-set, no lock).
  const both = await Promise.all([one.deploy('shared', versionFn('c1')), two.deploy('shared', versionFn('c2')), one.deploy('shared', versionFn('c3')), two.deploy('shared', versionFn('c4'))]);
  assert.deepEqual(both.map((v) => v.version).sort(), ['v3', 'v4', 'v5', 'v6']);

  // A version deleted on two is gone on one; a function deleted on one is gone on two.
  assert.equal((await two.api('DELETE', '/v1/functions/shared/aliases/prod')).status, 204);
  assert.equal((await two.api('DELETE', '/v1/functions/shared/versions/v1')).status, 204);
  await waitFor('one to answer 404 for the deleted version', async () => (await fetch(`${one.url}/fn/shared@v1`)).status === 404);
  await routes(one, '/fn/shared', '200 v6');
  assert.equal((await one.api('DELETE', '/v1/functions/shared')).status, 204);
  await waitFor('two to answer 404 for the deleted function', async () => (await fetch(`${two.url}/fn/shared`)).status === 404);
  // The writer itself routes its own change at once (it waits for the feed before answering).
  assert.equal((await fetch(`${one.url}/fn/shared`)).status, 404);
});
