/** The store registry hands out working stores by kind. */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { openStore, stores } from './index.js';

it('stores.sqlite opens a SqliteStore in the data dir', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-registry-'));
  try {
    const store = await stores.sqlite({ dataDir: dir });
    assert.equal(store.kind, 'sqlite');
    assert.equal(await store.tokens.count(), 0);
    await store.close();
    await fs.access(path.join(dir, 'ferry.db'));
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

it('openStore names the known kinds when it does not know the one asked for', () => {
  assert.throws(() => openStore('nats-typo', { dataDir: '/nonexistent' }), /unknown store 'nats-typo' \(--store; known: sqlite, nats:\/\/host:port\)/);
});
