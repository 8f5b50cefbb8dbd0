/**
 * Conformance tests of the compare-and-set on functions (`functionRevision` and the `expected`
 * revision of each write under a function): of two writers that read the same revision, one
 * wins and the other gets `revision-conflict` with nothing changed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aliasRecord, fnRecord, rejectsWith, versionRecord, withStore, type OpenStore } from './fixtures.js';

export function compareAndSetTests(open: OpenStore): void {
  const run = withStore(open);

  describe('compare-and-set', () => {
    it('every write under a function raises its revision', () =>
      run(async (s) => {
        assert.equal(await s.functionRevision('f'), undefined);
        await s.ensureFunction(fnRecord('f'));
        const seen = [(await s.functionRevision('f'))!];
        const step = async (write: Promise<unknown>): Promise<void> => {
          await write;
          const now = (await s.functionRevision('f'))!;
          assert.ok(now > seen.at(-1)!, `the revision rose (${seen.join(' ')} then ${now})`);
          seen.push(now);
        };
        await step(s.createVersion(versionRecord('f', 'v1', 1)));
        await step(s.setVersionOverride('f', 'v1', { env: { A: '1' } }, 5));
        await step(s.putAlias(aliasRecord('f', 'prod')));
        await step(s.deleteAlias('f', 'prod'));
        await step(s.setFunctionOwner('f', 'custom:team'));
        await step(s.deleteVersion('f', 'v1'));
        await s.ensureFunction(fnRecord('f', { owner: 'custom:other' }));
        assert.equal(await s.functionRevision('f'), seen.at(-1), 'ensuring an existing function writes nothing');
      }));

    it('a write at a stale revision is refused and changes nothing', () =>
      run(async (s) => {
        await s.ensureFunction(fnRecord('f'));
        const stale = (await s.functionRevision('f'))!;
        await s.createVersion(versionRecord('f', 'v1', 1), stale);
        await rejectsWith(s.createVersion(versionRecord('f', 'v2', 2), stale), 'revision-conflict');
        await rejectsWith(s.putAlias(aliasRecord('f', 'prod'), stale), 'revision-conflict');
        await rejectsWith(s.setVersionOverride('f', 'v1', { env: { B: '1' } }, 9, stale), 'revision-conflict');
        await rejectsWith(s.setFunctionOwner('f', 'custom:team', stale), 'revision-conflict');
        await rejectsWith(s.deleteAlias('f', 'prod', stale), 'revision-conflict');
        await rejectsWith(s.deleteVersion('f', 'v1', stale), 'revision-conflict');
        await rejectsWith(s.deleteFunction('f', stale), 'revision-conflict');
        assert.deepEqual((await s.listVersions('f')).map((v) => v.version), ['v1']);
        assert.deepEqual(await s.listAliases('f'), []);
        assert.deepEqual(await s.getFunction('f'), fnRecord('f'));
        assert.deepEqual((await s.getVersion('f', 'v1'))!.override, versionRecord('f', 'v1', 1).override);
        // At the current revision the same write goes through.
        await s.putAlias(aliasRecord('f', 'prod'), (await s.functionRevision('f'))!);
        assert.equal((await s.listAliases('f')).length, 1);
      }));

    it('of two concurrent writers at one revision, one wins and the other sees a conflict', () =>
      run(async (s) => {
        await s.ensureFunction(fnRecord('f'));
        const revision = (await s.functionRevision('f'))!;
        const results = await Promise.allSettled([s.createVersion(versionRecord('f', 'a', 1), revision), s.createVersion(versionRecord('f', 'b', 2), revision)]);
        assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
        const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
        assert.equal((lost.reason as { code?: string }).code, 'revision-conflict');
        assert.equal((await s.listVersions('f')).length, 1, 'only the winner is stored');
      }));

    it('an expected revision of a function that does not exist is function-not-found', () =>
      run(async (s) => {
        await rejectsWith(s.setFunctionOwner('ghost', 'custom:team', 1), 'function-not-found');
        await rejectsWith(s.createVersion(versionRecord('ghost', 'v1', 1), 1), 'function-not-found');
      }));
  });
}
