/** Conformance tests of the log lines of a `Store`: append, query windows, pruning. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LogLine } from '../../core/records.js';
import { fnRecord, logLine, withoutIds, withStore, type OpenStore } from './fixtures.js';

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const lines = (fn: string, ns: number[], over: Partial<LogLine> = {}): LogLine[] => ns.map((n) => logLine(fn, n, over));
const texts = (got: Array<{ line: string }>): string[] => got.map((l) => l.line);
const labels = (ns: number[]): string[] => ns.map((n) => `line ${n}`);

export function logTests(open: OpenStore): void {
  const run = withStore(open);

  describe('logs', () => {
    it('appendLogs then queryLogs round-trips every member, in append order with rising ids', () =>
      run(async (s) => {
        const batch = [
          logLine('f', 1),
          logLine('f', 2, { stream: 'stderr', requestId: null, line: 'bad thing: "x" ✗\ttab' }),
          logLine('f', 3, { stream: 'system', instance: 'i-2', version: 'v2', line: '' }),
        ];
        await s.appendLogs(batch);
        await s.appendLogs([]);
        const got = await s.queryLogs('f', { limit: 10 });
        assert.deepEqual(withoutIds(got), batch);
        const ids = got.map((l) => l.id);
        assert.ok(ids.every((id, i) => Number.isInteger(id) && (i === 0 || id > ids[i - 1]!)), `ids ascend: ${ids}`);
      }));

    it('without afterId answers the last `limit` lines, still ascending', () =>
      run(async (s) => {
        await s.appendLogs(lines('f', range(1, 10)));
        assert.deepEqual(texts(await s.queryLogs('f', { limit: 3 })), labels([8, 9, 10]));
        assert.deepEqual(texts(await s.queryLogs('f', { limit: 100 })), labels(range(1, 10)));
      }));

    it('with afterId answers the first `limit` lines after it, for paging and following', () =>
      run(async (s) => {
        await s.appendLogs(lines('f', range(1, 7)));
        const first = await s.queryLogs('f', { afterId: 0, limit: 3 });
        assert.deepEqual(texts(first), labels([1, 2, 3]));
        const second = await s.queryLogs('f', { afterId: first.at(-1)!.id, limit: 3 });
        assert.deepEqual(texts(second), labels([4, 5, 6]));
        const third = await s.queryLogs('f', { afterId: second.at(-1)!.id, limit: 3 });
        assert.deepEqual(texts(third), labels([7]));
        assert.deepEqual(await s.queryLogs('f', { afterId: third.at(-1)!.id, limit: 3 }), []);
        // A follower sees lines appended later under ids after its cursor.
        await s.appendLogs(lines('f', [8]));
        assert.deepEqual(texts(await s.queryLogs('f', { afterId: third.at(-1)!.id, limit: 3 })), labels([8]));
      }));

    it('answers only the lines of the asked function', () =>
      run(async (s) => {
        await s.appendLogs([logLine('f', 1), logLine('g', 2), logLine('f', 3), logLine('g', 4)]);
        assert.deepEqual(texts(await s.queryLogs('f', { limit: 10 })), labels([1, 3]));
        assert.deepEqual(texts(await s.queryLogs('g', { afterId: 0, limit: 10 })), labels([2, 4]));
        assert.deepEqual(await s.queryLogs('ghost', { limit: 10 }), []);
      }));

    it('filters by version, in both tail and afterId mode', () =>
      run(async (s) => {
        await s.appendLogs([
          ...lines('f', [1, 2], { version: 'v1' }),
          ...lines('f', [3, 4], { version: 'v2' }),
          ...lines('f', [5], { version: 'v1' }),
          ...lines('f', [6], { version: 'v2' }),
        ]);
        assert.deepEqual(texts(await s.queryLogs('f', { limit: 2, version: 'v1' })), labels([2, 5]));
        assert.deepEqual(texts(await s.queryLogs('f', { afterId: 0, limit: 10, version: 'v2' })), labels([3, 4, 6]));
      }));

    it('a limit of 0 answers no lines', () =>
      run(async (s) => {
        await s.appendLogs(lines('f', [1, 2]));
        assert.deepEqual(await s.queryLogs('f', { limit: 0 }), []);
        assert.deepEqual(await s.queryLogs('f', { afterId: 0, limit: 0 }), []);
      }));

    it('deleteFunction removes its lines, not those of other functions', () =>
      run(async (s) => {
        await s.ensureFunction(fnRecord('f'));
        await s.appendLogs([logLine('f', 1), logLine('g', 2)]);
        await s.deleteFunction('f');
        assert.deepEqual(await s.queryLogs('f', { limit: 10 }), []);
        assert.deepEqual(texts(await s.queryLogs('g', { limit: 10 })), labels([2]));
      }));
  });

  describe('pruneLogs', () => {
    const now = 1_700_000_000_000 + 1_000;

    it('deletes lines older than maxAgeMs', () =>
      run(async (s) => {
        // Times t0+1 .. t0+10; now - maxAgeMs = t0+6: lines 6..10 stay.
        await s.appendLogs([...lines('f', range(1, 10)), ...lines('g', [3, 8])]);
        await s.pruneLogs({ maxAgeMs: 1_000 - 6, maxLinesPerFunction: 1_000, now });
        assert.deepEqual(texts(await s.queryLogs('f', { limit: 100 })), labels(range(6, 10)));
        assert.deepEqual(texts(await s.queryLogs('g', { limit: 100 })), labels([8]));
      }));

    it('keeps at most maxLinesPerFunction newest lines of each function', () =>
      run(async (s) => {
        await s.appendLogs([...lines('f', range(1, 10)), ...lines('g', range(1, 2)), ...lines('h', range(1, 5))]);
        await s.pruneLogs({ maxAgeMs: 1_000_000, maxLinesPerFunction: 3, now });
        assert.deepEqual(texts(await s.queryLogs('f', { limit: 100 })), labels([8, 9, 10]));
        assert.deepEqual(texts(await s.queryLogs('g', { limit: 100 })), labels([1, 2]));
        assert.deepEqual(texts(await s.queryLogs('h', { limit: 100 })), labels([3, 4, 5]));
      }));

    it('applies both rules in one run, and ids are not reused afterwards', () =>
      run(async (s) => {
        await s.appendLogs(lines('f', range(1, 10)));
        const before = await s.queryLogs('f', { limit: 100 });
        await s.pruneLogs({ maxAgeMs: 1_000 - 3, maxLinesPerFunction: 4, now });
        const kept = await s.queryLogs('f', { limit: 100 });
        assert.deepEqual(texts(kept), labels([7, 8, 9, 10]));
        assert.deepEqual(kept, before.slice(6), 'kept lines keep their ids');
        await s.pruneLogs({ maxAgeMs: 0, maxLinesPerFunction: 100, now: now + 1_000_000 });
        assert.deepEqual(await s.queryLogs('f', { limit: 100 }), []);
        await s.appendLogs(lines('f', [11]));
        const [next] = await s.queryLogs('f', { limit: 1 });
        assert.ok(next!.id > before.at(-1)!.id, 'a new line gets an id above every earlier one');
      }));
  });
}
