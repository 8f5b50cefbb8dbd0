/**
 * Conformance tests of deletes by tombstone and sweep: a tombstoned function is gone at once,
 * what it left goes at the sweep (which resumes after a crash), and its name is free at once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ScheduleRecord } from '../../core/records.js';
import { aliasRecord, fnRecord, logLine, rejectsWith, versionRecord, withStore, type OpenStore } from './fixtures.js';
import type { Store } from '../../core/store.js';

const schedule = (fn: string): ScheduleRecord => ({ function: fn, id: 's1', cron: '* * * * *', timezone: null, body: Buffer.from('{}'), contentType: 'application/json', createdBy: 'admin', createdAt: 1, updatedAt: 1, lastRun: null, nextRun: 60_000 });

async function* bytes(text: string): AsyncGenerator<Uint8Array> {
  yield Buffer.from(text);
}

/** A function `f` with two versions (one package shared), an alias, a schedule, an object and log lines. */
async function populated(s: Store): Promise<void> {
  await s.ensureFunction(fnRecord('f'));
  await s.createVersion(versionRecord('f', 'v1', 1, { packageSha: 'sha-a' }));
  await s.createVersion(versionRecord('f', 'v2', 2, { packageSha: 'sha-a' }));
  await s.createVersion(versionRecord('f', 'v3', 3, { packageSha: 'sha-b' }));
  await s.putAlias(aliasRecord('f', 'prod'));
  await s.schedules.put(schedule('f'));
  await s.objects.put('f', 'k', bytes('object'), { contentType: 'text/plain', maxBytes: 1 << 20, quotaBytes: 0, now: 1 });
  await s.appendLogs([logLine('f', 1)]);
}

export function tombstoneTests(open: OpenStore): void {
  const run = withStore(open);

  describe('tombstones and the sweep', () => {
    it('a tombstoned function is gone at once; the sweep removes what it left and answers its shas', () =>
      run(async (s) => {
        await populated(s);
        await s.ensureFunction(fnRecord('other'));
        await s.tombstone('f');
        assert.equal(await s.getFunction('f'), undefined);
        assert.deepEqual((await s.listFunctions()).map((f) => f.name), ['other']);
        assert.equal(await s.functionRevision('f'), undefined);
        await rejectsWith(s.createVersion(versionRecord('f', 'v9', 9)), 'function-not-found');
        await rejectsWith(s.putAlias(aliasRecord('f', 'late')), 'function-not-found');
        assert.deepEqual(await s.tombstones(), ['f']);
        assert.ok(await s.packageInUse('sha-b'), 'its packages count as used until the sweep');

        assert.deepEqual([...(await s.sweep('f'))].sort(), ['sha-a', 'sha-b']);
        assert.deepEqual(await s.tombstones(), []);
        assert.deepEqual(await s.listVersions('f'), []);
        assert.deepEqual(await s.listAliases('f'), []);
        assert.deepEqual(await s.schedules.list('f'), []);
        assert.deepEqual(await s.objects.usage('f'), { objects: 0, bytes: 0 });
        assert.deepEqual(await s.queryLogs('f', { limit: 10 }), []);
        assert.equal(await s.packageInUse('sha-b'), false);
        assert.deepEqual((await s.listFunctions()).map((f) => f.name), ['other'], 'other functions untouched');
      }));

    it('a sweep of a live or unknown function does nothing; a second sweep answers nothing', () =>
      run(async (s) => {
        await populated(s);
        assert.deepEqual(await s.sweep('f'), []);
        assert.deepEqual(await s.sweep('ghost'), []);
        assert.equal((await s.listVersions('f')).length, 3);
        await s.tombstone('f');
        await s.sweep('f');
        assert.deepEqual(await s.sweep('f'), []);
      }));

    it('a tombstone at a stale revision is refused', () =>
      run(async (s) => {
        await s.ensureFunction(fnRecord('f'));
        const stale = (await s.functionRevision('f'))!;
        await s.createVersion(versionRecord('f', 'v1', 1));
        await rejectsWith(s.tombstone('f', stale), 'revision-conflict');
        assert.ok(await s.getFunction('f'));
      }));

    it('the name is free at once: a new function of that name starts empty, at v1', () =>
      run(async (s) => {
        await populated(s);
        await s.tombstone('f');
        const again = await s.ensureFunction(fnRecord('f', { owner: 'custom:new', createdAt: 5 }));
        assert.deepEqual(again, fnRecord('f', { owner: 'custom:new', createdAt: 5 }));
        assert.deepEqual(await s.listVersions('f'), []);
        assert.deepEqual(await s.listAliases('f'), []);
        assert.equal(await s.lastVersionSeq('f'), 0);
        assert.deepEqual(await s.tombstones(), []);
      }));

    it('a sweep cut short by a crash is finished after the store opens again', () =>
      run(async (s, harness) => {
        if (!harness.reopen) return;
        await populated(s);
        await s.tombstone('f');
        // The crash: the process ends between the tombstone and the sweep.
        await s.close();
        const again = await harness.reopen();
        assert.deepEqual(await again.tombstones(), ['f']);
        assert.equal(await again.getFunction('f'), undefined);
        assert.deepEqual([...(await again.sweep('f'))].sort(), ['sha-a', 'sha-b']);
        assert.deepEqual(await again.listVersions('f'), []);
        assert.deepEqual(await again.tombstones(), []);
      }));
  });
}
