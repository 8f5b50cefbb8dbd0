/** SqliteQueues: the Queue conformance suite on real files in temp dirs. */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
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
