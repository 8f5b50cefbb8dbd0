import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateManifest, type VersionRecord } from '../core/index.js';
import { isFerryError } from '../errors/index.js';
import { Catalog } from './catalog.js';

async function version(manifest: unknown, over: Partial<VersionRecord> = {}): Promise<VersionRecord> {
  return {
    function: 'hello', version: 'v1', seq: 1, packageSha: 'ab'.repeat(32), packageSize: 10,
    manifest: await validateManifest(manifest), override: {}, buildLog: '', createdAt: 1, updatedAt: 2, ...over,
  };
}

test('a deploy target is a plain value: runtime by name, package by sha, and it survives JSON', async () => {
  const catalog = new Catalog(new Set(['node', 'exec']));
  catalog.putFunction({ name: 'hello', createdAt: 1, owner: 'singular:admin' });
  const rec = await version({
    runtime: 'node', handler: 'index.handler', env: { GREETING: 'hi ✓' }, secrets: ['API_KEY'],
    scaling: { minInstances: 1, maxInstances: 3 }, limits: { memoryMb: 128 }, network: 'none', roBinds: { '/usr/share/zoneinfo': '/zoneinfo' },
  });
  const target = catalog.putVersion(rec);
  assert.equal(target.runtime, 'node');
  assert.equal(target.packageSha, rec.packageSha);
  assert.deepEqual(JSON.parse(JSON.stringify(target)), target);
  assert.deepEqual(catalog.resolve('hello', undefined), target);
});

test('a version of a runtime the server lacks is refused', async () => {
  const catalog = new Catalog(new Set(['exec']));
  catalog.putFunction({ name: 'hello', createdAt: 1, owner: 'singular:admin' });
  const rec = await version({ runtime: 'exec', command: ['./run'] });
  const other = { ...rec, manifest: { ...rec.manifest, runtime: 'cobol' } as unknown as VersionRecord['manifest'] };
  assert.throws(() => catalog.targetOf(other), (e) => isFerryError(e) && e.code === 'invalid-manifest');
});
