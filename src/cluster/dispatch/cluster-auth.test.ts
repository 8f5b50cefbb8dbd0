import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';
import { ClusterAuth, CLUSTER_KEY_SET } from './cluster-auth.js';

test('a gateway token opens only the worker it names, only while recent, and survives a rotation on another node', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-cluster-auth-'));
  const a = new SqliteStore({ dataDir: dir });
  const b = new SqliteStore({ dataDir: dir });
  t.after(async () => {
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const gateway = new ClusterAuth(a.keys);
  const worker = new ClusterAuth(b.keys);
  const now = Date.now();
  const token = await gateway.tokenFor('worker-1', now);
  assert.equal(await worker.verify(token, 'worker-1', now), true);
  assert.equal(await worker.verify(token, 'worker-2', now), false, 'another worker refuses it');
  assert.equal(await worker.verify(token, 'worker-1', now + 10 * 60_000), false, 'an old token is refused');
  assert.equal(await worker.verify(undefined, 'worker-1', now), false);
  assert.equal(await worker.verify(`${token.slice(0, -2)}AA`, 'worker-1', now), false, 'a changed signature is refused');
  // Another process rotates the key set: the worker learns the new key id when it first sees it.
  await a.keys.rotate(CLUSTER_KEY_SET, () => randomBytes(32));
  const fresh = await new ClusterAuth(a.keys).tokenFor('worker-1', now);
  assert.notEqual(fresh.split('.')[2], token.split('.')[2], 'signed with the new key');
  assert.equal(await worker.verify(fresh, 'worker-1', now), true);
  assert.equal(await worker.verify(token, 'worker-1', now), true, 'the earlier key still verifies');
  // A token made with another cluster's keys.
  const otherDir = mkdtempSync(join(tmpdir(), 'ferry-cluster-auth-'));
  const other = new SqliteStore({ dataDir: otherDir });
  t.after(async () => {
    await other.close();
    rmSync(otherDir, { recursive: true, force: true });
  });
  assert.equal(await worker.verify(await new ClusterAuth(other.keys).tokenFor('worker-1', now), 'worker-1', now), false);
});

test('a token a worker already verified is still checked, on every call, for its worker and its age', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-cluster-auth-'));
  const store = new SqliteStore({ dataDir: dir });
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const auth = new ClusterAuth(store.keys);
  const now = Date.now();
  const token = await auth.tokenFor('worker-1', now);
  for (let i = 0; i < 3; i++) assert.equal(await auth.verify(token, 'worker-1', now + i * 1000), true);
  assert.equal(await auth.verify(token, 'worker-2', now), false, 'another worker refuses it');
  assert.equal(await auth.verify(token, 'worker-1', now + 10 * 60_000), false, 'it grows old like any token');
  assert.equal(await auth.verify(token, 'worker-1', now - 10 * 60_000), false, 'nor is it taken before its time');
});
