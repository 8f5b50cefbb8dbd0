/** KvNodeDirectory against a real nats-server: nodes renewing their heartbeats all the time are listed by every read. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { natsServerPerFile } from '../../../test/support/nats-per-file.js';
import { node } from '../nodes.suite.js';
import { KvNodeDirectory } from './kv-node-directory.js';

const nats = natsServerPerFile();

test('every read lists every live node while their heartbeats are renewed', async () => {
  const dir = await KvNodeDirectory.open({ nats: { servers: [nats().url] }, prefix: 'renewal', ttlMs: 60_000 });
  const ids = Array.from({ length: 20 }, (_, i) => `n${i}`);
  try {
    await Promise.all(ids.map((id) => dir.announce(node(id))));
    // Heartbeats keep replacing each other while the reads go on, as on a busy cluster.
    let beating = true;
    let n = 0;
    const beats = (async () => {
      while (beating) await dir.announce(node(ids[n++ % ids.length]!));
    })();
    try {
      for (let read = 0; read < 20; read++) {
        const listed = (await dir.list()).map((r) => r.id);
        assert.deepEqual(listed, [...ids].sort(), `read ${read} lists every node`);
      }
    } finally {
      beating = false;
      await beats;
    }
  } finally {
    await dir.close();
  }
});
