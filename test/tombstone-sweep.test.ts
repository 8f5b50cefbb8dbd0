/**
 * A function delete cut short by a crash (its tombstone written, its sweep not run) is finished
 * by the next start: the function is gone at once and what it left is swept.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFerry, disposeFerry, type Ferry } from './support/ferry.js';
import { versionFn } from './support/helpers.js';
import { waitFor } from './support/wait.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';

const args = ['--driver', 'process', '--unsandboxed', '--pool-size', '0'];
let current: Ferry | undefined;
after(async () => {
  if (current) await disposeFerry(current);
});

test('a tombstone left by a crash is swept at the next start; the name is free again', async () => {
  const first = await startFerry({ args });
  current = first;
  const dataDir = first.dataDir;
  await first.deploy('doomed', versionFn('1'));
  await first.deploy('doomed', versionFn('2'));
  assert.equal((await first.api('PUT', '/v1/functions/doomed/aliases/prod', { version: 'v1' })).status, 200);
  await first.stop();

  // The crash: the tombstone is written, the process dies before its sweep.
  const store = new SqliteStore({ dataDir });
  await store.tombstone('doomed');
  assert.deepEqual(await store.tombstones(), ['doomed']);
  await store.close();

  const second = await startFerry({ args, dataDir });
  current = second;
  assert.equal((await fetch(`${second.url}/fn/doomed`)).status, 404);
  assert.equal((await second.api('GET', '/v1/functions/doomed')).status, 404);
  const check = new SqliteStore({ dataDir });
  try {
    await waitFor('the start-up sweep', async () => (await check.tombstones()).length === 0);
    assert.deepEqual(await check.listVersions('doomed'), []);
    assert.deepEqual(await check.listAliases('doomed'), []);
  } finally {
    await check.close();
  }
  // A new function of that name starts at v1.
  assert.equal((await second.deploy('doomed', versionFn('3'))).version, 'v1');
});
