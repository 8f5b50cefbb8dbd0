/**
 * An aborted pull withdraws its request at the server: the next message goes to a node that asks
 * for it, not to the aborted request (where it would wait in a process that is not pulling).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { natsServerPerFile } from '../../../test/support/nats-per-file.js';
import { waitFor } from '../../../test/support/wait.js';
import { NatsQueues } from './nats-queues.js';
import { QueueLayout } from './layout.js';

const nats = natsServerPerFile();
const layout = new QueueLayout('withdrawn');
const stream = layout.stream('q');

test('a message enqueued after a pull was aborted goes to the next puller', async () => {
  const open = (name: string): Promise<NatsQueues> => NatsQueues.open({ nats: { servers: [nats().url], name }, prefix: 'withdrawn' });
  const [a, b] = [await open('a'), await open('b')];
  try {
    const lease = { leaseMs: 60_000, max: 1 };
    const ac = new AbortController();
    const waiting = a.queue('q').pull({ ...lease, consumer: { name: 'a', session: '1' }, waitMs: 60_000, signal: ac.signal });
    await waitFor('the pull to wait at the server', async () => (await a.jsm.consumers.info(stream, layout.consumer)).num_waiting === 1);
    ac.abort();
    assert.deepEqual(await waiting, []);
    // Whatever node a said when the pull ended has reached the server.
    await a.nc.flush();
    await b.queue('q').enqueue([{ id: 'm', key: 'k', data: Buffer.from('x') }]);
    const got = await b.queue('q').pull({ ...lease, consumer: { name: 'b', session: '1' } });
    assert.deepEqual(got.map((d) => d.id), ['m'], 'delivered to the node that asked, not held for the aborted request');
    await got[0]!.ack();
  } finally {
    await a.close();
    await b.close();
  }
});
