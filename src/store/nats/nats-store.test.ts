/**
 * NatsStore: the Store conformance suite against a real nats-server (one for the file), each
 * test on a fresh prefix, so tests share the server and nothing else.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNatsServer, type NatsServer } from '../../../test/support/nats-server.js';
import { storeSuite, type StoreHarness } from '../store.suite.js';
import { FeedReader } from '../suite/change-feed.js';
import { fnRecord, rejectsWith, versionRecord } from '../suite/fixtures.js';
import { openNats } from '../../nats/index.js';
import { Bucket } from './bucket.js';
import { Catalog, headKey, versionKey, type Head } from './catalog.js';
import { NatsStore } from './nats-store.js';
import type { InvocationRecord, LogLine } from '../../core/records.js';

let server: NatsServer;
let next = 0;

before(async () => {
  server = await startNatsServer();
});
after(async () => {
  await server.stop();
});

/** A store on a prefix of its own; `reopen` and `peer` open more stores on that prefix. */
async function openFresh(): Promise<StoreHarness> {
  const prefix = `t${process.pid}-${++next}`;
  const dataDir = await mkdtemp(join(tmpdir(), 'ferry-nats-store-'));
  const open = () => NatsStore.open({ nats: { servers: [server.url] }, prefix, dataDir });
  const opened = [await open()];
  const more = async () => {
    const s = await open();
    opened.push(s);
    return s;
  };
  return {
    store: opened[0]!,
    reopen: more,
    peer: more,
    async cleanup() {
      for (const s of opened) await s.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

storeSuite('NatsStore', openFresh);

describe('NatsStore on NATS', () => {
  it('history and log lines go out in batches (one answer each): a burst all arrives, in order, and a batch sent twice is stored once', async () => {
    const h = await openFresh();
    try {
      const s = h.store;
      const calls: InvocationRecord[] = Array.from({ length: 500 }, (_, i) => ({
        id: `burst-${i}`, time: 1000 + i, function: i % 3 ? 'f' : 'g', version: 'v1', kind: 'sync', status: 200, durationMs: 1, requestId: `r${i}`,
        executionId: null, method: 'GET', path: `/${i}`, requestBody: null, responseBody: null, truncated: false,
      }));
      await Promise.all([s.invocations.append(calls.slice(0, 250)), s.invocations.append(calls.slice(250))]);
      await s.invocations.append(calls.slice(0, 20));
      const listed = await s.invocations.list({ functions: undefined, limit: 1000 });
      assert.deepEqual(listed.map((r) => r.id), calls.map((r) => r.id).reverse());
      const lines: LogLine[] = Array.from({ length: 500 }, (_, i) => ({ time: 1000 + i, function: 'f', version: 'v1', instance: 'i', stream: 'stdout', requestId: null, line: `line ${i}` }));
      await s.appendLogs(lines);
      const read = await s.queryLogs('f', { afterId: 0, limit: 1000 });
      assert.deepEqual(read.map((l) => l.line), lines.map((l) => l.line));
    } finally {
      await h.cleanup();
    }
  });

  it('two stores opening one prefix at once both succeed and share the data', async () => {
    const prefix = `race${process.pid}`;
    const dataDir = await mkdtemp(join(tmpdir(), 'ferry-nats-store-'));
    const [a, b] = await Promise.all([0, 1].map(() => NatsStore.open({ nats: { servers: [server.url] }, prefix, dataDir })));
    try {
      await a!.ensureFunction(fnRecord('f'));
      assert.deepEqual(await b!.getFunction('f'), fnRecord('f'));
    } finally {
      await a!.close();
      await b!.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('a change feed carries on across a NATS restart', async () => {
    const { store, cleanup } = await openFresh();
    const feed = new FeedReader(store.watch(await store.revision()));
    try {
      await store.ensureFunction(fnRecord('before'));
      await feed.until(() => feed.settled('before', 'function', false));
      await server.restart();
      // Writes fail while the client reconnects; the test retries until one lands.
      const deadline = Date.now() + 20_000;
      for (;;) {
        try {
          await store.ensureFunction(fnRecord('after'));
          break;
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      await feed.until(() => feed.settled('after', 'function', false));
      assert.deepEqual((await store.listFunctions()).map((f) => f.name), ['after', 'before'], 'what was written before the restart is kept');
    } finally {
      feed.feed.close();
      await cleanup();
    }
  });

  it('NATS away: store calls fail with store-unavailable, and work again once it is back', async () => {
    const own = await startNatsServer();
    const dataDir = await mkdtemp(join(tmpdir(), 'ferry-nats-store-'));
    const store = await NatsStore.open({ nats: { servers: [own.url] }, prefix: 'away', dataDir });
    try {
      await store.ensureFunction(fnRecord('f'));
      await own.kill();
      await rejectsWith(store.getFunction('f'), 'store-unavailable');
      await rejectsWith(store.listFunctions(), 'store-unavailable');
      await own.restart();
      const deadline = Date.now() + 20_000;
      for (;;) {
        try {
          assert.deepEqual(await store.getFunction('f'), fnRecord('f'));
          break;
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    } finally {
      await store.close();
      await own.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('an unreachable server is an error naming it', async () => {
    await assert.rejects(NatsStore.open({ nats: { servers: ['nats://127.0.0.1:1'] }, dataDir: tmpdir() }), /127\.0\.0\.1:1/);
  });
});

describe('NatsStore catalog intents', () => {
  /** A store on a fresh prefix, and the raw catalog bucket under it (as another process sees it). */
  async function withRaw(body: (store: NatsStore, raw: Bucket) => Promise<void>): Promise<void> {
    const prefix = `intent${process.pid}-${++next}`;
    const dataDir = await mkdtemp(join(tmpdir(), 'ferry-nats-store-'));
    const store = await NatsStore.open({ nats: { servers: [server.url] }, prefix, dataDir });
    const h = await openNats({ servers: [server.url] });
    try {
      await body(store, await Bucket.open(h, `${prefix}_catalog`));
    } finally {
      await store.close();
      await h.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  }

  it('a change a crashed writer left in the head is applied by the next reader of the revision', () =>
    withRaw(async (store, raw) => {
      await store.ensureFunction(fnRecord('f'));
      const head = (await raw.get<Head>(headKey('f')))!;
      const v1 = versionRecord('f', 'v1', 1);
      // The crash: the head was updated with its intent, the version key never written.
      const revision = (await raw.update(headKey('f'), { ...head.value, lastSeq: 1, op: { key: versionKey('f', 'v1'), value: v1 } } satisfies Head, head.revision))!;
      assert.equal(await store.functionRevision('f'), revision);
      assert.deepEqual(await store.getVersion('f', 'v1'), v1, 'reading the revision applied the intent');
      // A write decided at that revision goes through and sees the version.
      await assert.rejects(store.createVersion(versionRecord('f', 'v1', 2), revision), /already exists/);
    }));

  it('an intent applied late never undoes a newer write of its key', () =>
    withRaw(async (store, raw) => {
      await store.ensureFunction(fnRecord('f'));
      await store.createVersion(versionRecord('f', 'v1', 1));
      const stale = (await raw.get<Head>(headKey('f')))!;
      await store.deleteVersion('f', 'v1');
      // A slow process applies the intent of the older head revision now.
      await new Catalog(raw).apply(stale.value.op!, stale.revision);
      assert.equal(await store.getVersion('f', 'v1'), undefined);
    }));
});
