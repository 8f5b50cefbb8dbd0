/**
 * Conformance tests of the change feed (`Store.revision` and `Store.watch`): every change to a
 * function, version or alias comes with a rising revision and the record as it is now, and a
 * second store on the same data sees what the first writes. No timings are asserted: a feed is
 * read until what the test waits for arrives (or the deadline fails the test).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Change, ChangeFeed, Resync } from '../../core/changes.js';
import { aliasRecord, fnRecord, versionRecord, withStore, type OpenStore } from './fixtures.js';

/** Reads a feed into a list, for tests that wait for what they expect to have arrived. */
export class FeedReader {
  readonly seen: Change[] = [];
  private readonly it: AsyncIterator<Change | Resync>;

  constructor(readonly feed: ChangeFeed) {
    this.it = feed[Symbol.asyncIterator]();
  }

  /** Reads until `done(seen)`; fails after `deadlineMs` (a hang guard, not a timing). */
  async until(done: (seen: Change[]) => boolean, deadlineMs = 20_000): Promise<Change[]> {
    const deadline = Date.now() + deadlineMs;
    while (!done(this.seen)) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the feed did not deliver in time; it sent ${JSON.stringify(this.seen.map(keyOf))}`)), Math.max(0, deadline - Date.now()))));
      try {
        const next = await Promise.race([this.it.next(), late]);
        if (next.done) throw new Error('the feed ended');
        if (next.value.kind === 'resync') throw new Error(`the feed asked for a resync at revision ${next.value.revision}`);
        this.seen.push(next.value);
      } finally {
        clearTimeout(timer);
      }
    }
    return this.seen;
  }

  /** The newest change of a key (`function`, `version:v1`, `alias:prod`) of function `fn`. */
  last(fn: string, key: string): Change | undefined {
    return [...this.seen].reverse().find((c) => c.function === fn && keyOf(c) === key);
  }

  /** Whether the newest change of the key says `gone` (true) or present. */
  settled(fn: string, key: string, gone: boolean): boolean {
    const c = this.last(fn, key);
    return c !== undefined && (c.record === undefined) === gone;
  }
}

function keyOf(c: Change): string {
  return c.kind === 'function' ? 'function' : c.kind === 'version' ? `version:${c.version}` : `alias:${c.alias}`;
}

export function changeFeedTests(open: OpenStore): void {
  const run = withStore(open);

  describe('change feed', () => {
    it('every write to a function, version or alias comes with a rising revision and the record as stored', () =>
      run(async (s) => {
        const before = await s.revision();
        const feed = new FeedReader(s.watch(before));
        try {
          await s.ensureFunction(fnRecord('f'));
          await s.createVersion(versionRecord('f', 'v1', 1));
          await s.putAlias(aliasRecord('f', 'prod'));
          await s.setVersionOverride('f', 'v1', { env: { A: '1' } }, 99);
          await s.setFunctionOwner('f', 'custom:team');
          await s.deleteAlias('f', 'prod');
          await feed.until(() => feed.settled('f', 'alias:prod', true));
          assert.ok((await s.revision()) > before, 'the revision moved');
          const revisions = feed.seen.map((c) => c.revision);
          assert.deepEqual(revisions, [...revisions].sort((a, b) => a - b), 'oldest first');
          assert.equal(new Set(revisions).size, revisions.length, 'one revision per change');
          assert.ok(revisions.every((r) => r > before), 'only changes after the revision asked for');
          await feed.until(() => feed.last('f', 'version:v1')?.record !== undefined && (feed.last('f', 'function')?.record as { owner?: string } | undefined)?.owner === 'custom:team');
          assert.deepEqual(feed.last('f', 'version:v1')!.record, versionRecord('f', 'v1', 1, { override: { env: { A: '1' } }, updatedAt: 99 }));
          assert.deepEqual(feed.last('f', 'function')!.record, fnRecord('f', { owner: 'custom:team' }));
        } finally {
          feed.feed.close();
        }
      }));

    it('deletes come as changes without a record', () =>
      run(async (s) => {
        await s.ensureFunction(fnRecord('f'));
        await s.createVersion(versionRecord('f', 'v1', 1));
        await s.createVersion(versionRecord('f', 'v2', 2));
        const feed = new FeedReader(s.watch(await s.revision()));
        try {
          await s.deleteVersion('f', 'v1');
          await feed.until(() => feed.settled('f', 'version:v1', true));
          await s.deleteFunction('f');
          await feed.until(() => feed.settled('f', 'function', true));
          assert.equal(feed.seen.some((c) => c.kind === 'version' && c.version === 'v2' && c.record !== undefined), false, 'nothing brings a deleted version back');
        } finally {
          feed.feed.close();
        }
      }));

    it('a feed from an older revision replays what came after it; one from the head only what is new', () =>
      run(async (s) => {
        await s.ensureFunction(fnRecord('a'));
        const mid = await s.revision();
        await s.ensureFunction(fnRecord('b'));
        const head = await s.revision();
        const replay = new FeedReader(s.watch(mid));
        const fresh = new FeedReader(s.watch(head));
        try {
          await replay.until(() => replay.settled('b', 'function', false));
          assert.equal(replay.last('a', 'function'), undefined, 'a came before the revision asked for');
          await s.ensureFunction(fnRecord('c'));
          await fresh.until(() => fresh.settled('c', 'function', false));
          assert.equal(fresh.last('b', 'function'), undefined);
        } finally {
          replay.feed.close();
          fresh.feed.close();
        }
      }));

    it('a second store on the same data sees the first one\'s writes', () =>
      run(async (s, harness) => {
        if (!harness.peer) return;
        const other = await harness.peer();
        const feed = new FeedReader(other.watch(await other.revision()));
        try {
          await s.ensureFunction(fnRecord('f'));
          await s.createVersion(versionRecord('f', 'v1', 1));
          await s.putAlias(aliasRecord('f', 'prod'));
          await feed.until(() => feed.settled('f', 'alias:prod', false) && feed.settled('f', 'version:v1', false));
          assert.deepEqual(feed.last('f', 'alias:prod')!.record, aliasRecord('f', 'prod'));
          assert.ok((await other.revision()) >= feed.seen.at(-1)!.revision, 'the peer reports the revision it delivered');
          await s.deleteFunction('f');
          await feed.until(() => feed.settled('f', 'function', true));
        } finally {
          feed.feed.close();
        }
      }));

    it('close() ends the feed', () =>
      run(async (s) => {
        const feed = s.watch(await s.revision());
        const drained = (async () => {
          const got: Array<Change | Resync> = [];
          for await (const c of feed) got.push(c);
          return got;
        })();
        feed.close();
        assert.deepEqual(await drained, []);
      }));
  });
}
