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
import { fnRecord } from '../suite/fixtures.js';
import { NatsStore } from './nats-store.js';

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

  it('an unreachable server is an error naming it', async () => {
    await assert.rejects(NatsStore.open({ nats: { servers: ['nats://127.0.0.1:1'] }, dataDir: tmpdir() }), /127\.0\.0\.1:1/);
  });
});
