/** Conformance tests of functions, versions and the package bookkeeping of a `Store`. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fnRecord, rejectsWith, versionRecord, withStore, type OpenStore } from './fixtures.js';

export function functionTests(open: OpenStore): void {
  const run = withStore(open);

  describe('functions', () => {
    it('ensureFunction creates a function and answers it', () =>
      run(async (s) => {
        assert.equal(await s.getFunction('hello'), undefined);
        const rec = fnRecord('hello');
        assert.deepEqual(await s.ensureFunction(rec), rec);
        assert.deepEqual(await s.getFunction('hello'), rec);
      }));

    it('ensureFunction on an existing function keeps and answers the stored record', () =>
      run(async (s) => {
        const first = fnRecord('hello');
        await s.ensureFunction(first);
        const again = await s.ensureFunction(fnRecord('hello', { owner: 'singular:someone-else', createdAt: 1 }));
        assert.deepEqual(again, first);
        assert.deepEqual(await s.getFunction('hello'), first);
      }));

    it('listFunctions answers all functions sorted by name', () =>
      run(async (s) => {
        assert.deepEqual(await s.listFunctions(), []);
        for (const n of ['zeta', 'alpha', 'mid']) await s.ensureFunction(fnRecord(n));
        assert.deepEqual(
          (await s.listFunctions()).map((f) => f.name),
          ['alpha', 'mid', 'zeta'],
        );
      }));

    it('deleteFunction of an unknown function answers no shas', () =>
      run(async (s) => {
        assert.deepEqual(await s.deleteFunction('ghost'), []);
      }));
  });

  describe('versions', () => {
    it('createVersion round-trips every member, JSON ones included', () =>
      run(async (s) => {
        await s.ensureFunction(fnRecord('f'));
        const v = versionRecord('f', 'v1', 1);
        await s.createVersion(v);
        assert.deepEqual(await s.getVersion('f', 'v1'), v);
        assert.deepEqual(await s.listVersions('f'), [v]);
      }));

    it('round-trips a minimal manifest and an empty override', () =>
      run(async (s) => {
        await s.ensureFunction(fnRecord('f'));
        const v = versionRecord('f', 'v1', 1, { manifest: { runtime: 'python' }, override: {}, buildLog: '' });
        await s.createVersion(v);
        assert.deepEqual(await s.getVersion('f', 'v1'), v);
      }));

    it('getVersion answers undefined for an unknown version or function', () =>
      run(async (s) => {
        await s.ensureFunction(fnRecord('f'));
        assert.equal(await s.getVersion('f', 'nope'), undefined);
        assert.equal(await s.getVersion('ghost', 'v1'), undefined);
        assert.deepEqual(await s.listVersions('ghost'), []);
      }));

    it('listVersions answers ascending seq, only of that function', () =>
      run(async (s) => {
        await s.ensureFunction(fnRecord('f'));
        await s.ensureFunction(fnRecord('g'));
        await s.createVersion(versionRecord('f', 'b', 2));
        await s.createVersion(versionRecord('f', 'a', 1));
        await s.createVersion(versionRecord('f', 'c', 3));
        await s.createVersion(versionRecord('g', 'a', 1));
        assert.deepEqual(
          (await s.listVersions('f')).map((v) => [v.version, v.seq]),
          [['a', 1], ['b', 2], ['c', 3]],
        );
      }));

    it('createVersion of an existing version fails with version-exists and keeps the original', () =>
      run(async (s) => {
        await s.ensureFunction(fnRecord('f'));
        const v = versionRecord('f', 'v1', 1);
        await s.createVersion(v);
        await rejectsWith(s.createVersion(versionRecord('f', 'v1', 2, { packageSha: 'other' })), 'version-exists');
        assert.deepEqual(await s.listVersions('f'), [v]);
        assert.equal(await s.lastVersionSeq('f'), 1);
      }));

    it('the same version name in two functions is no conflict', () =>
      run(async (s) => {
        await s.ensureFunction(fnRecord('f'));
        await s.ensureFunction(fnRecord('g'));
        await s.createVersion(versionRecord('f', 'v1', 1));
        await s.createVersion(versionRecord('g', 'v1', 1));
        assert.equal((await s.listVersions('g')).length, 1);
      }));

    it('createVersion for an unknown function fails with function-not-found', () =>
      run(async (s) => {
        await rejectsWith(s.createVersion(versionRecord('ghost', 'v1', 1)), 'function-not-found');
      }));

    it('setVersionOverride replaces the override and updatedAt, nothing else', () =>
      run(async (s) => {
        await s.ensureFunction(fnRecord('f'));
        const v = versionRecord('f', 'v1', 1);
        await s.createVersion(v);
        const override = { env: { A: '1' }, limits: { timeoutMs: 100 }, invoke: 'public' as const };
        await s.setVersionOverride('f', 'v1', override, v.updatedAt + 500);
        assert.deepEqual(await s.getVersion('f', 'v1'), { ...v, override, updatedAt: v.updatedAt + 500 });
      }));

    it('setVersionOverride of an unknown version fails with version-not-found', () =>
      run(async (s) => {
        await s.ensureFunction(fnRecord('f'));
        await rejectsWith(s.setVersionOverride('f', 'nope', {}, 1), 'version-not-found');
      }));

    it('deleteVersion removes only that version; an unknown one is a no-op', () =>
      run(async (s) => {
        await s.ensureFunction(fnRecord('f'));
        await s.createVersion(versionRecord('f', 'v1', 1));
        await s.createVersion(versionRecord('f', 'v2', 2));
        await s.deleteVersion('f', 'v1');
        await s.deleteVersion('f', 'nope');
        assert.equal(await s.getVersion('f', 'v1'), undefined);
        assert.deepEqual((await s.listVersions('f')).map((v) => v.version), ['v2']);
      }));
  });

  describe('lastVersionSeq', () => {
    it('is 0 for a function without versions and for an unknown function', () =>
      run(async (s) => {
        await s.ensureFunction(fnRecord('f'));
        assert.equal(await s.lastVersionSeq('f'), 0);
        assert.equal(await s.lastVersionSeq('ghost'), 0);
      }));

    it('is the highest seq so far, per function', () =>
      run(async (s) => {
        await s.ensureFunction(fnRecord('f'));
        await s.ensureFunction(fnRecord('g'));
        await s.createVersion(versionRecord('f', 'v1', 1));
        await s.createVersion(versionRecord('f', 'v2', 2));
        await s.createVersion(versionRecord('g', 'v1', 1));
        assert.equal(await s.lastVersionSeq('f'), 2);
        assert.equal(await s.lastVersionSeq('g'), 1);
      }));

    it('is never lowered by deleting versions, the newest included', () =>
      run(async (s) => {
        await s.ensureFunction(fnRecord('f'));
        await s.createVersion(versionRecord('f', 'v1', 1));
        await s.createVersion(versionRecord('f', 'v2', 2));
        await s.deleteVersion('f', 'v2');
        assert.equal(await s.lastVersionSeq('f'), 2);
        await s.deleteVersion('f', 'v1');
        assert.equal(await s.lastVersionSeq('f'), 2);
        await s.createVersion(versionRecord('f', 'v3', 3));
        assert.equal(await s.lastVersionSeq('f'), 3);
      }));

    it('restarts at 0 once the function is deleted and created again', () =>
      run(async (s) => {
        await s.ensureFunction(fnRecord('f'));
        await s.createVersion(versionRecord('f', 'v1', 1));
        await s.deleteFunction('f');
        assert.equal(await s.lastVersionSeq('f'), 0);
        await s.ensureFunction(fnRecord('f'));
        assert.equal(await s.lastVersionSeq('f'), 0);
      }));
  });

  describe('packages', () => {
    it('packageInUse follows the versions that use a sha, across functions', () =>
      run(async (s) => {
        await s.ensureFunction(fnRecord('f'));
        await s.ensureFunction(fnRecord('g'));
        assert.equal(await s.packageInUse('shared'), false);
        await s.createVersion(versionRecord('f', 'v1', 1, { packageSha: 'shared' }));
        await s.createVersion(versionRecord('g', 'v1', 1, { packageSha: 'shared' }));
        await s.deleteVersion('f', 'v1');
        assert.equal(await s.packageInUse('shared'), true);
        await s.deleteFunction('g');
        assert.equal(await s.packageInUse('shared'), false);
      }));

    it('deleteFunction answers the distinct shas of its versions and removes it with its versions', () =>
      run(async (s) => {
        await s.ensureFunction(fnRecord('f'));
        await s.ensureFunction(fnRecord('g'));
        await s.createVersion(versionRecord('f', 'v1', 1, { packageSha: 'sha-b' }));
        await s.createVersion(versionRecord('f', 'v2', 2, { packageSha: 'sha-a' }));
        await s.createVersion(versionRecord('f', 'v3', 3, { packageSha: 'sha-b' }));
        await s.createVersion(versionRecord('g', 'v1', 1, { packageSha: 'sha-a' }));
        const shas = await s.deleteFunction('f');
        assert.deepEqual([...shas].sort(), ['sha-a', 'sha-b']);
        assert.equal(await s.getFunction('f'), undefined);
        assert.deepEqual(await s.listVersions('f'), []);
        assert.equal(await s.getVersion('f', 'v1'), undefined);
        // The other function keeps its versions, so its package is still in use.
        assert.equal((await s.listVersions('g')).length, 1);
        assert.equal(await s.packageInUse('sha-a'), true);
        assert.equal(await s.packageInUse('sha-b'), false);
      }));
  });
}
