/**
 * `--nats-ack-wait` on a queue whose consumer exists already: the consumer takes the new value,
 * also when a create with Ferry's settings would be refused (the consumer differs in a setting
 * the server cannot change in place; a server since 2.10 refuses any difference on create).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { natsServerPerFile } from '../../../test/support/nats-per-file.js';
import { NatsQueues } from './nats-queues.js';
import { QueueLayout } from './layout.js';

const nats = natsServerPerFile();
const prefix = 'ackwait';
const layout = new QueueLayout(prefix);
const stream = layout.stream('executions');

/** Opens the queues with `ackWaitMs`, uses the queue once (which meets its consumer), and answers the consumer's settings. */
async function consumerAfterOpen(ackWaitMs: number, before?: (q: NatsQueues) => Promise<void>): Promise<{ ackWaitMs: number; maxWaiting: number | undefined }> {
  const queues = await NatsQueues.open({ nats: { servers: [nats().url] }, prefix, ackWaitMs });
  try {
    await before?.(queues);
    await queues.queue('executions').stats();
    const { config } = await queues.jsm.consumers.info(stream, layout.consumer);
    return { ackWaitMs: (config.ack_wait ?? 0) / 1e6, maxWaiting: config.max_waiting };
  } finally {
    await queues.close();
  }
}

test('a changed ack wait updates the existing consumer', async () => {
  assert.equal((await consumerAfterOpen(30_000)).ackWaitMs, 30_000, 'created with the setting');
  assert.equal((await consumerAfterOpen(5_000)).ackWaitMs, 5_000, 'a shorter setting reaches the existing consumer');
  // A consumer another version made, with a setting a create cannot change: recreated that way.
  const other = await consumerAfterOpen(60_000, async (q) => {
    await q.jsm.consumers.delete(stream, layout.consumer);
    await q.jsm.consumers.add(stream, { durable_name: layout.consumer, ack_policy: 'explicit', ack_wait: 5_000 * 1e6, max_deliver: -1, max_ack_pending: 20_000, max_waiting: 128 });
  });
  assert.deepEqual(other, { ackWaitMs: 60_000, maxWaiting: 128 }, 'the ack wait changed, the rest of the consumer kept');
});
