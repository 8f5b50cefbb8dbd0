/** NatsQueues: the Queue conformance suite against a real nats-server, each test on a fresh prefix. */
import { after, before } from 'node:test';
import { startNatsServer, type NatsServer } from '../../../test/support/nats-server.js';
import { queueSuite } from '../queue.suite.js';
import { NatsQueues } from './nats-queues.js';

let nats: NatsServer;
let n = 0;
before(async () => {
  nats = await startNatsServer();
});
after(async () => {
  await nats.stop();
});

queueSuite('NatsQueues', async () => {
  const open = (prefix: string): Promise<NatsQueues> => NatsQueues.open({ nats: { servers: [nats.url] }, prefix });
  const prefix = `t${++n}`;
  const opened = [await open(prefix)];
  return {
    queues: opened[0]!,
    async second() {
      // Another connection, as another process would have (the connection is shared per option set).
      const q = await NatsQueues.open({ nats: { servers: [nats.url], name: 'second' }, prefix });
      opened.push(q);
      return q;
    },
    async cleanup() {
      for (const q of opened) await q.close();
    },
  };
});
