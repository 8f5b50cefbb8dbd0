/** NatsQueues: the Queue conformance suite against a real nats-server, each test on a fresh prefix. */
import { natsServerPerFile } from '../../../test/support/nats-per-file.js';
import { queueSuite } from '../queue.suite.js';
import { NatsQueues } from './nats-queues.js';

const nats = natsServerPerFile();
let n = 0;

queueSuite('NatsQueues', async () => {
  const open = (prefix: string): Promise<NatsQueues> => NatsQueues.open({ nats: { servers: [nats().url] }, prefix });
  const prefix = `t${++n}`;
  const opened = [await open(prefix)];
  return {
    queues: opened[0]!,
    async second() {
      // Another connection, as another process would have (the connection is shared per option set).
      const q = await NatsQueues.open({ nats: { servers: [nats().url], name: 'second' }, prefix });
      opened.push(q);
      return q;
    },
    async cleanup() {
      for (const q of opened) await q.close();
    },
  };
});
