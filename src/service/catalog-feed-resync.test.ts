/**
 * A catalog whose feed fell behind what the store keeps is loaded whole again: what another
 * process deleted in the pruned stretch leaves it, what it added arrives, and the feed goes on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fnRecord, versionRecord } from '../store/suite/fixtures.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { Catalog } from './catalog.js';
import { CatalogFeed } from './catalog-feed.js';

test('a catalog behind a pruned change feed reloads whole and follows on', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-resync-'));
  // The follower only looks when asked (no poll within the test), so it falls behind the writer.
  const follower = new SqliteStore({ dataDir: dir, watchPollMs: 3_600_000, changesPruneMs: 3_600_000 });
  const writer = new SqliteStore({ dataDir: dir, changesKept: 2, changesPruneMs: 3_600_000 });
  const warnings: string[] = [];
  const catalog = new Catalog(new Set(['node']));
  const feed = new CatalogFeed(follower, catalog, (message) => warnings.push(message));
  t.after(async () => {
    await feed.close();
    await follower.close();
    await writer.close();
    await rm(dir, { recursive: true, force: true });
  });

  await writer.ensureFunction(fnRecord('gone'));
  await writer.createVersion(versionRecord('gone', 'v1', 1));
  await feed.start();
  assert.deepEqual(catalog.functionNames(), ['gone']);

  // Another process: deletes one function, adds another, and prunes past what the follower read.
  await writer.deleteFunction('gone');
  await writer.ensureFunction(fnRecord('added'));
  await writer.createVersion(versionRecord('added', 'v1', 1));
  for (let i = 0; i < 4; i++) await writer.ensureFunction(fnRecord(`filler${i}`));
  assert.ok(writer.pruneChanges() > 0);

  await feed.caughtUp();
  assert.equal(catalog.has('gone'), false, 'deleted in the pruned stretch: gone after the reload');
  assert.equal(catalog.target('added', 'v1')?.version, 'v1', 'added in the pruned stretch: routes after the reload');
  assert.match(warnings.join('\n'), /no longer has the changes up to revision \d+ .*loading it whole/);

  // The new feed follows on.
  await writer.ensureFunction(fnRecord('later'));
  await feed.caughtUp();
  assert.equal(catalog.has('later'), true, 'a change after the reload arrives through the new feed');
});
