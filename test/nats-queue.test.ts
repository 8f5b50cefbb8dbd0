/**
 * The NATS queues through failures: nats-server killed and restarted with messages in flight, and
 * a pulling process killed while it holds a message. One real nats-server for the file; pullers
 * in other processes are real node processes on the built queue module.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Delivery, Queue, QueueConsumer } from '../src/core/queue.js';
import { NatsQueues } from '../src/queue/nats/nats-queues.js';
import { KvNodeDirectory } from '../src/nodes/nats/kv-node-directory.js';
import { FerryError } from '../src/errors/index.js';
import { natsAway } from '../src/nats/index.js';
import { repoRoot } from './support/ferry.js';
import { natsServerPerFile } from './support/nats-per-file.js';
import { waitFor } from './support/wait.js';

const nats = natsServerPerFile();
let n = 0;
const longLease = 60_000;

function open(ackWaitMs: number): Promise<NatsQueues> {
  return NatsQueues.open({ nats: { servers: [nats().url] }, prefix: `f${++n}`, ackWaitMs });
}

/** Pulls and acks until `want` distinct ids were acked; answers every delivery's id in order. */
async function drain(q: Queue, consumer: QueueConsumer, want: number): Promise<{ delivered: string[]; acked: string[] }> {
  const delivered: string[] = [];
  const acked: string[] = [];
  await waitFor(`${want} messages acknowledged`, async () => {
    const got = await q.pull({ consumer, max: 16, leaseMs: longLease, waitMs: 1000 });
    for (const d of got) {
      delivered.push(d.id);
      await d.ack();
      acked.push(d.id);
    }
    return new Set(acked).size >= want;
  }, { timeoutMs: 60_000, intervalMs: 1 });
  return { delivered, acked };
}

it('keeps every message through a nats-server crash and restart, in flight ones included, and acknowledges each once', async () => {
  const queues = await open(3000);
  try {
    const q = queues.queue('executions');
    const ids = Array.from({ length: 40 }, (_, i) => `m${i}`);
    await q.enqueue(ids.slice(0, 30).map((id) => ({ id, key: `k${id.length}`, data: Buffer.from(id) })));
    const held: Delivery[] = await q.pull({ consumer: { name: 'a', session: 's' }, max: 10, leaseMs: longLease });
    assert.equal(held.length, 10);

    await nats().kill();
    await nats().restart();
    // Accepted only once JetStream has them: after the restart, on the reconnected client.
    await waitFor('an enqueue after the restart', async () => (await q.enqueue(ids.slice(30).map((id) => ({ id, key: 'k', data: Buffer.from(id) }))), true), { timeoutMs: 30_000, intervalMs: 200 });
    // What was held across the crash is still held, and its holder can settle it.
    for (const d of held) await d.ack();
    const rest = await drain(q, { name: 'b', session: 's' }, 30);

    const acked = [...held.map((d) => d.id), ...rest.acked];
    assert.deepEqual([...acked].sort(), [...ids].sort(), 'every message acknowledged, none twice');
    assert.deepEqual(await q.pull({ consumer: { name: 'c', session: 's' }, max: 10, leaseMs: longLease, waitMs: 500 }), [], 'nothing left over');
  } finally {
    await queues.close();
  }
});

/** A node process pulling from the queue with consumer `name`; resolves with the id it holds. */
async function holder(prefix: string, ackWaitMs: number, name: string): Promise<{ child: ChildProcess; id: string }> {
  const module = join(repoRoot, 'dist/src/queue/nats/nats-queues.js');
  const script = `
    const { NatsQueues } = await import(${JSON.stringify(module)});
    const queues = await NatsQueues.open({ nats: { servers: [${JSON.stringify(nats().url)}] }, prefix: ${JSON.stringify(prefix)}, ackWaitMs: ${ackWaitMs} });
    const [d] = await queues.queue('executions').pull({ consumer: { name: ${JSON.stringify(name)}, session: 'first' }, max: 1, leaseMs: 600000, waitMs: 30000 });
    console.log('holds ' + d.id);
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const id = await new Promise<string>((resolve, reject) => {
    lines.on('line', (l) => l.startsWith('holds ') && resolve(l.slice(6)));
    child.once('exit', (code) => reject(new Error(`the holder exited (${code}) before it held a message`)));
  });
  return { child, id };
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

it('gives a message whose holder process was killed to another puller once its beats stop', async () => {
  const queues = await open(1500);
  const prefix = `f${n}`;
  let child: ChildProcess | undefined;
  try {
    const q = queues.queue('executions');
    await q.enqueue([{ id: 'job', key: 'f', data: Buffer.from('payload') }]);
    const h = await holder(prefix, 1500, 'node-x');
    child = h.child;
    assert.equal(h.id, 'job');
    assert.deepEqual(await q.pull({ consumer: { name: 'node-y', session: 's' }, max: 1, leaseMs: longLease }), [], 'held by the other process while it lives');
    await kill(child);
    const [again] = await q.pull({ consumer: { name: 'node-y', session: 's' }, max: 1, leaseMs: longLease, waitMs: 30_000 });
    assert.deepEqual(again && [again.id, again.data.toString(), again.deliveryCount], ['job', 'payload', 2]);
    await again!.ack();
  } finally {
    if (child) await kill(child);
    await queues.close();
  }
});

it('gives a killed process its messages back at once when its node starts again (recover)', async () => {
  // An ack wait far past the pull's wait: only the recovery can hand the message over in time.
  const queues = await open(300_000);
  const prefix = `f${n}`;
  let child: ChildProcess | undefined;
  try {
    const q = queues.queue('executions');
    await q.enqueue([{ id: 'job', key: 'f', data: Buffer.from('payload') }]);
    const h = await holder(prefix, 300_000, 'node-x');
    child = h.child;
    await kill(child);
    const restarted: QueueConsumer = { name: 'node-x', session: 'second' };
    assert.equal(await q.recover(restarted), 1);
    const [again] = await q.pull({ consumer: restarted, max: 1, leaseMs: longLease, waitMs: 30_000 });
    assert.deepEqual(again && [again.id, again.deliveryCount], ['job', 2]);
    await again!.ack();
  } finally {
    if (child) await kill(child);
    await queues.close();
  }
});

it('a holder whose message went to another node meanwhile settles nothing, though JetStream would take its ack', async () => {
  const queues = await open(300_000);
  try {
    const q = queues.queue('executions');
    await q.enqueue([{ id: 'job', key: 'f', data: Buffer.from('') }]);
    const [stale] = await q.pull({ consumer: { name: 'node-x', session: 'first' }, max: 1, leaseMs: longLease });
    // Its node restarted: the message is given back and delivered to another node, while the
    // first delivery's holder still thinks it holds it.
    assert.equal(await q.recover({ name: 'node-x', session: 'second' }), 1);
    const [current] = await q.pull({ consumer: { name: 'node-y', session: 's' }, max: 1, leaseMs: longLease, waitMs: 30_000 });
    assert.equal(current?.deliveryCount, 2);
    await stale!.ack();
    await stale!.term('stale');
    assert.equal(await q.deadLetter('job'), undefined, 'the old holder cannot set it aside');
    // Still the current holder's: its nak puts it back in the queue.
    await current!.nak();
    const [third] = await q.pull({ consumer: { name: 'node-y', session: 's' }, max: 1, leaseMs: longLease, waitMs: 30_000 });
    assert.deepEqual(third && [third.id, third.deliveryCount], ['job', 3], 'the old holder could not acknowledge it');
    await third!.ack();
  } finally {
    await queues.close();
  }
});

it('what a node skips by key (its function at its cap there) goes to another node, not counted as a delivery', async () => {
  // Held by the node that skipped it for a second, then given back for other nodes.
  const queues = await NatsQueues.open({ nats: { servers: [nats().url] }, prefix: `f${++n}`, ackWaitMs: 300_000, holdSkippedMs: 1000 });
  const other = await NatsQueues.open({ nats: { servers: [nats().url], name: 'other node' }, prefix: `f${n}`, ackWaitMs: 300_000 });
  try {
    const q = queues.queue('executions');
    await q.enqueue([{ id: 'capped', key: 'busy', data: Buffer.from('') }, { id: 'free', key: 'idle', data: Buffer.from('') }]);
    const here = await q.pull({ consumer: { name: 'node-x', session: 's' }, max: 5, leaseMs: longLease, skipKeys: ['busy'] });
    assert.deepEqual(here.map((d) => d.id), ['free']);
    const [there] = await other.queue('executions').pull({ consumer: { name: 'node-y', session: 's' }, max: 5, leaseMs: longLease, waitMs: 30_000 });
    assert.deepEqual(there && [there.id, there.deliveryCount], ['capped', 1]);
    await Promise.all([here[0]!.ack(), there!.ack()]);
  } finally {
    await other.close();
    await queues.close();
  }
});

it("a holder's in-progress beats keep its message past JetStream's ack wait", async () => {
  const queues = await open(1000);
  try {
    const q = queues.queue('executions');
    await q.enqueue([{ id: 'long', key: 'f', data: Buffer.from('') }]);
    const [d] = await q.pull({ consumer: { name: 'node-x', session: 's' }, max: 1, leaseMs: longLease });
    // Three ack waits: without the beats JetStream would have delivered it again by now.
    await sleep(3000);
    assert.deepEqual(await q.pull({ consumer: { name: 'node-y', session: 's' }, max: 1, leaseMs: longLease, waitMs: 1000 }), []);
    await d!.ack();
  } finally {
    await queues.close();
  }
});

it('a message due later is delivered though the process that enqueued it is gone', async () => {
  const writer = await open(300_000);
  const prefix = `f${n}`;
  await writer.queue('executions').enqueue([{ id: 'later', key: 'f', data: Buffer.from('L'), notBefore: Date.now() + 500 }]);
  await writer.close();
  const reader = await NatsQueues.open({ nats: { servers: [nats().url], name: 'reader' }, prefix });
  try {
    const [d] = await reader.queue('executions').pull({ consumer: { name: 'node-y', session: 's' }, max: 1, leaseMs: longLease, waitMs: 30_000 });
    assert.deepEqual(d && [d.id, d.data.toString(), d.deliveryCount], ['later', 'L', 1]);
    await d!.ack();
  } finally {
    await reader.close();
  }
});

it('with NATS away, queue calls and node-directory calls fail at once with store-unavailable, not after a request timeout', async () => {
  const queues = await open(300_000);
  const directory = await KvNodeDirectory.open({ nats: { servers: [nats().url] }, prefix: `f${n}`, ttlMs: 10_000 });
  try {
    const q = queues.queue('executions');
    await q.enqueue([{ id: 'before', key: 'f', data: Buffer.from('') }]);
    await directory.list();
    await nats().kill();
    await waitFor('the client to see NATS gone', () => natsAway(), { timeoutMs: 30_000, intervalMs: 20 });
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['an enqueue (an asynchronous submit)', () => q.enqueue([{ id: 'during', key: 'f', data: Buffer.from('') }])],
      ['the queue counts', () => q.stats()],
      ['a dead-letter read', () => q.deadLetter('x')],
      ['a node-directory read', () => directory.list()],
      ['a heartbeat', () => directory.announce({ id: 'n1' } as Parameters<KvNodeDirectory['announce']>[0])],
    ];
    for (const [what, call] of calls) {
      const err = await call().then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof FerryError, `${what}: ${String(err)}`);
      assert.equal(err.code, 'store-unavailable', what);
      // Refused before anything was sent: a request that waited out its timeout carries the client's TimeoutError.
      assert.equal((err as Error).cause, undefined, `${what} failed by ${String((err as Error).cause)}, not at once`);
    }
  } finally {
    await nats().restart();
    await directory.close();
    await queues.close();
  }
});
