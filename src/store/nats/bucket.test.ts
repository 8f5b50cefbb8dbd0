/**
 * Bucket.scan and the queues' readAll (both `scanKv`) against a real nats-server: every key once,
 * even for keys written while they read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { natsServerPerFile } from '../../../test/support/nats-per-file.js';
import { openNats } from '../../nats/index.js';
import { Bucket } from './bucket.js';
import { readAll } from '../../queue/nats/kv-records.js';

const nats = natsServerPerFile();

test('a scan lists every key once, even when keys are written while the scan reads', async () => {
  const h = await openNats({ servers: [nats().url], name: 'bucket-scan' });
  try {
    const b = await Bucket.open(h, 'scan_test');
    await Promise.all(Array.from({ length: 300 }, (_, i) => b.put(`k${i}`, { n: 0 })));
    // Writes go on during every scan, two writers rewriting keys at random: a read that also
    // delivers them must not list a key twice, nor miss one whose older value went meanwhile.
    let writing = true;
    let n = 0;
    const writer = async (): Promise<void> => {
      while (writing) await b.put(`k${Math.floor(Math.random() * 300)}`, { n: ++n });
    };
    const writers = [writer(), writer()];
    try {
      for (let round = 0; round < 30; round++) {
        // Odd rounds read as the queues read their delivery records and dead letters.
        const got = round % 2 ? await readAll<{ n: number }>(h, 'scan_test', '>') : await b.scan<{ n: number }>();
        const keys = got.map((e) => e.key);
        assert.equal(new Set(keys).size, keys.length, `a key listed twice (round ${round}: ${keys.length} entries for ${new Set(keys).size} keys)`);
        assert.ok(keys.every((k) => /^k\d+$/.test(k)));
        assert.equal(keys.length, 300, `round ${round}: keys missing, though every one lived through the scan`);
      }
    } finally {
      writing = false;
      await Promise.all(writers);
    }
  } finally {
    await h.close();
  }
});
