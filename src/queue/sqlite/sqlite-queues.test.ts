/** SqliteQueues: the Queue conformance suite on real files in temp dirs. */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { inWorker } from '../../../test/support/in-worker.js';
import { queueSuite } from '../queue.suite.js';
import { SqliteQueues } from './sqlite-queues.js';

queueSuite('SqliteQueues', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-queue-'));
  const opened = [new SqliteQueues({ dataDir: dir })];
  return {
    queues: opened[0]!,
    async second() {
      const q = new SqliteQueues({ dataDir: dir });
      opened.push(q);
      return q;
    },
    async cleanup() {
      for (const q of opened) await q.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
});

test('two processes on one queue file: pulls and enqueues wait for each other, never fail busy', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-queue-'));
  try {
    await new SqliteQueues({ dataDir: dir }).close(); // the schema, once, before both start
    // Two threads, each with its own connection, as two servers on one data dir are: a pull reads
    // (spent leases) before it writes, which in a deferred transaction fails at once when the
    // other connection committed in between.
    const moduleUrl = new URL('./sqlite-queues.js', import.meta.url).href;
    const worker = (k: number): Promise<string> =>
      inWorker(
        `const { SqliteQueues } = await import(workerData.moduleUrl);
        const queues = new SqliteQueues({ dataDir: workerData.dir });
        const q = queues.queue('jobs');
        const consumer = { name: 'w' + workerData.k, session: 's' + workerData.k };
        let taken = 0;
        try {
          for (let i = 0; i < 400; i++) {
            await q.enqueue([{ id: workerData.k + '-' + i, key: 'f', data: Buffer.from('x') }]);
            for (const d of await q.pull({ consumer, max: 4, leaseMs: 60000 })) {
              await d.ack();
              taken++;
            }
          }
          return 'ok ' + taken;
        } finally {
          await queues.close();
        }`,
        { moduleUrl, dir, k },
      );
    const answers = await Promise.all([worker(1), worker(2)]);
    for (const a of answers) assert.match(a, /^ok \d+$/);
    const left = new SqliteQueues({ dataDir: dir });
    try {
      const taken = answers.reduce((n, a) => n + Number(a.slice(3)), 0);
      assert.equal(taken + (await left.queue('jobs').stats()).pending, 800, 'every message taken once or still waiting');
    } finally {
      await left.close();
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});
