/** Conformance tests of the schedules (with their compare-and-set `advance`) and key sets of a `Store`. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { ScheduleRecord } from '../../core/records.js';
import { keyId } from '../../core/key-id.js';
import { fnRecord, rejectsWith, withStore, type OpenStore } from './fixtures.js';

const schedule = (fn: string, id: string, over: Partial<ScheduleRecord> = {}): ScheduleRecord => ({ function: fn, id, cron: '*/5 * * * *', timezone: 'Europe/Berlin', body: Buffer.from('{"a":1}'), contentType: 'application/json', createdBy: 'alice', createdAt: 1, updatedAt: 1, lastRun: null, nextRun: 300_000, ...over });

export function scheduleKeyTests(open: OpenStore): void {
  const run = withStore(open);

  describe('schedules', () => {
    it('put creates or replaces; get, list (one function or all), delete; refused without the function', () =>
      run(async (s) => {
        await s.ensureFunction(fnRecord('f'));
        await s.ensureFunction(fnRecord('g'));
        await s.schedules.put(schedule('f', 'b'));
        await s.schedules.put(schedule('f', 'a', { timezone: null }));
        await s.schedules.put(schedule('g', 'a'));
        const replaced = schedule('f', 'b', { cron: '0 * * * *', updatedAt: 7 });
        await s.schedules.put(replaced);
        assert.deepEqual(await s.schedules.get('f', 'b'), replaced);
        assert.deepEqual((await s.schedules.list('f')).map((r) => r.id).sort(), ['a', 'b']);
        assert.equal((await s.schedules.list(undefined)).length, 3);
        assert.equal(await s.schedules.delete('f', 'b'), true);
        assert.equal(await s.schedules.delete('f', 'b'), false);
        assert.equal(await s.schedules.get('f', 'b'), undefined);
        await rejectsWith(s.schedules.put(schedule('ghost', 'a')), 'function-not-found');
        await s.deleteFunction('g');
        assert.deepEqual(await s.schedules.list('g'), [], 'schedules go with their function');
      }));

    it('advance is a compare-and-set on next_run: of two nodes firing one run, one wins', () =>
      run(async (s) => {
        await s.ensureFunction(fnRecord('f'));
        await s.schedules.put(schedule('f', 'a'));
        const results = await Promise.all([s.schedules.advance('f', 'a', 300_000, 300_001, 600_000), s.schedules.advance('f', 'a', 300_000, 300_002, 600_000)]);
        assert.deepEqual(results.sort(), [false, true]);
        const now = (await s.schedules.get('f', 'a'))!;
        assert.equal(now.nextRun, 600_000);
        assert.ok(now.lastRun === 300_001 || now.lastRun === 300_002);
        assert.equal(await s.schedules.advance('f', 'a', 300_000, 1, 2), false, 'a stale expectation loses');
        assert.equal(await s.schedules.advance('f', 'a', 600_000, 600_001, null), true);
        assert.equal(await s.schedules.advance('f', 'a', null, 700_000, 900_000), true, 'null is a value it compares too');
        assert.equal(await s.schedules.advance('f', 'ghost', null, 1, 2), false);
      }));
  });

  describe('key sets', () => {
    it('the first key is made once, is the plain key of that name, and is current until a rotation', () =>
      run(async (s) => {
        const make = (): Buffer => randomBytes(32);
        const [a, b] = await Promise.all([s.keys.keySet('set-key', make), s.keys.keySet('set-key', make)]);
        assert.deepEqual(a, b, 'two callers agree on the first key');
        assert.equal(a.keys.length, 1);
        assert.deepEqual(a.current.key, await s.keys.get('set-key', make), 'the single key of before key sets is the first key');
        assert.equal(a.current.id, keyId(a.current.key));
        const rotated = await s.keys.rotate('set-key', make);
        assert.equal(rotated.keys.length, 2);
        assert.deepEqual(rotated.keys[0], a.current, 'the earlier key stays, first');
        assert.notEqual(rotated.current.id, a.current.id);
        assert.deepEqual(rotated.keys[1], rotated.current);
        assert.deepEqual(await s.keys.keySet('set-key', make), rotated);
      }));

    it('another store on the same keys sees a rotation when it reads again', () =>
      run(async (s, harness) => {
        if (!harness.peer) return;
        const other = await harness.peer();
        const make = (): Buffer => randomBytes(32);
        const first = await other.keys.keySet('set-key', make);
        const rotated = await s.keys.rotate('set-key', make);
        assert.deepEqual((await other.keys.keySet('set-key', make, { refresh: true })).keys, [first.current, rotated.current]);
      }));
  });
}
