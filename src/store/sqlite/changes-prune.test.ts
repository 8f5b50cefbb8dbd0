/**
 * The change feed keeps only its newest rows: pruning never loses the head revision, a feed from a
 * revision that is still kept replays as before, and a feed from before the oldest kept row (or
 * one that fell behind while it waited) gets a resync instead of a silent gap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Change, ChangeFeed, Resync } from '../../core/changes.js';
import { fnRecord } from '../suite/fixtures.js';
import { SqliteStore } from './sqlite-store.js';

/** The items a feed has ready, up to its first resync (which ends it) or until it waits. */
async function drain(feed: ChangeFeed, want: number): Promise<Array<Change | Resync>> {
  const got: Array<Change | Resync> = [];
  for await (const c of feed) {
    got.push(c);
    if (c.kind === 'resync' || got.length === want) break;
  }
  return got;
}

test('pruning keeps the newest rows; a feed from a pruned revision is told to resync', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-changes-'));
  const s = new SqliteStore({ dataDir: dir, changesKept: 3, changesPruneMs: 3_600_000 });
  t.after(async () => {
    await s.close();
    await rm(dir, { recursive: true, force: true });
  });

  const start = await s.revision();
  const early = s.watch(start); // opened now, read only after the prune below
  for (let i = 1; i <= 8; i++) await s.ensureFunction(fnRecord(`f${i}`));
  const head = await s.revision();
  assert.equal(head, start + 8);

  assert.equal(s.pruneChanges(), 5, 'all but the newest 3 rows go');
  assert.equal(s.pruneChanges(), 0, 'nothing more to prune');
  assert.equal(await s.revision(), head, 'the head revision survives pruning');

  // Still kept: replays exactly what came after it.
  const kept = await drain(s.watch(head - 3), 3);
  assert.deepEqual(kept.map((c) => (c.kind === 'function' ? c.function : c.kind)), ['f6', 'f7', 'f8']);

  // Pruned: a resync naming how far pruning went, and the feed ends.
  const pruned = s.watch(head - 4);
  assert.deepEqual(await drain(pruned, 10), [{ kind: 'resync', revision: head - 3 }]);
  assert.deepEqual(await drain(pruned, 10), [], 'the feed ended after its resync');

  // A feed that was open but fell behind while the rows it had not read were pruned.
  assert.deepEqual(await drain(early, 10), [{ kind: 'resync', revision: head - 3 }]);
});
