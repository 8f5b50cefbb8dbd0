/**
 * Conformance suite of the `Queue` interface. Every queue backend runs it from its own test file,
 * so SQLite and later ones (NATS JetStream) behave the same:
 *
 *   queueSuite('SqliteQueues', async () => ({ queues, second, cleanup }));
 *
 * It speaks only the interface. Nothing here asserts how long anything took: where a lease or a
 * not-before time must pass, a pull waits for it with a generous bound.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import type { Delivery, Queue, QueueConsumer, Queues } from '../core/queue.js';

export interface QueueHarness {
  queues: Queues;
  /** Another handle on the same queues (another connection, as another process would have). */
  second(): Promise<Queues>;
  /** Closes every handle and deletes the data. */
  cleanup(): Promise<void>;
}

export type OpenQueues = () => Promise<QueueHarness>;

const me: QueueConsumer = { name: 'node-a', session: 's1' };
const other: QueueConsumer = { name: 'node-b', session: 's1' };
const data = (s: string): Buffer => Buffer.from(s);
/** Long enough that no lease runs out while a test looks at it. */
const longLease = 60_000;

async function withQueue(open: OpenQueues, body: (q: Queue, h: QueueHarness) => Promise<void>): Promise<void> {
  const h = await open();
  try {
    await body(h.queues.queue('work'), h);
  } finally {
    await h.cleanup();
  }
}

const ids = (ds: Delivery[]): string[] => ds.map((d) => d.id);

/** Pulls until `want` deliveries came (or `waitMs` passed): for what falls due later. */
async function pullUntil(q: Queue, consumer: QueueConsumer, want: number, leaseMs = longLease, waitMs = 30_000): Promise<Delivery[]> {
  const out: Delivery[] = [];
  const deadline = Date.now() + waitMs;
  while (out.length < want && Date.now() < deadline) out.push(...(await q.pull({ consumer, max: want - out.length, leaseMs, waitMs: deadline - Date.now() })));
  return out;
}

export function queueSuite(name: string, open: OpenQueues): void {
  describe(`Queue conformance: ${name}`, () => {
    it('delivers oldest first, with key, data and a delivery count of 1; an id already waiting is not added twice', () =>
      withQueue(open, async (q) => {
        await q.enqueue([{ id: 'a', key: 'f', data: data('A') }]);
        await q.enqueue([
          { id: 'b', key: 'g', data: data('B') },
          { id: 'c', key: 'f', data: data('C') },
          { id: 'a', key: 'f', data: data('again') },
        ]);
        const got = await q.pull({ consumer: me, max: 10, leaseMs: longLease });
        assert.deepEqual(ids(got), ['a', 'b', 'c']);
        assert.deepEqual(got.map((d) => [d.key, d.data.toString(), d.deliveryCount]), [['f', 'A', 1], ['g', 'B', 1], ['f', 'C', 1]]);
        assert.deepEqual(await q.pull({ consumer: other, max: 10, leaseMs: longLease }), [], 'held messages go to nobody else');
        for (const d of got) await d.ack();
        assert.deepEqual(await q.pull({ consumer: me, max: 10, leaseMs: longLease }), [], 'acknowledged messages are gone');
      }));

    it('stats count what waits and what is held, and say when the oldest waiting one fell due', () =>
      withQueue(open, async (q) => {
        assert.deepEqual(await q.stats(), { pending: 0, held: 0, oldestPendingAt: undefined });
        const before = Date.now();
        await q.enqueue([
          { id: 'a', key: 'f', data: data('A') },
          { id: 'b', key: 'f', data: data('B') },
          { id: 'c', key: 'f', data: data('C') },
        ]);
        // Not due yet: neither waiting nor held.
        await q.enqueue([{ id: 'later', key: 'f', data: data('L'), notBefore: Date.now() + 3_600_000 }]);
        const [first] = await q.pull({ consumer: me, max: 1, leaseMs: longLease });
        assert.equal(first!.id, 'a');
        const s = await q.stats();
        assert.equal(s.pending, 2);
        assert.equal(s.held, 1);
        assert.ok(s.oldestPendingAt !== undefined && s.oldestPendingAt >= before - 1000 && s.oldestPendingAt <= Date.now(), `oldest ${s.oldestPendingAt}`);
        await first!.ack();
        for (const d of await q.pull({ consumer: me, max: 2, leaseMs: longLease })) await d.ack();
        const empty = await q.stats();
        assert.equal(empty.pending, 0);
        assert.equal(empty.held, 0);
      })),

    it('queues are separate by name; max bounds a pull', () =>
      withQueue(open, async (q, h) => {
        await q.enqueue([1, 2, 3].map((i) => ({ id: `m${i}`, key: 'f', data: data('') })));
        await h.queues.queue('elsewhere').enqueue([{ id: 'x', key: 'f', data: data('') }]);
        assert.deepEqual(ids(await q.pull({ consumer: me, max: 2, leaseMs: longLease })), ['m1', 'm2']);
        assert.deepEqual(ids(await q.pull({ consumer: me, max: 5, leaseMs: longLease })), ['m3']);
        assert.deepEqual(ids(await h.queues.queue('elsewhere').pull({ consumer: me, max: 5, leaseMs: longLease })), ['x']);
      }));

    it('a pull leaves the keys it skips for later, in their order', () =>
      withQueue(open, async (q) => {
        await q.enqueue([
          { id: 'a', key: 'busy', data: data('') },
          { id: 'b', key: 'free', data: data('') },
          { id: 'c', key: 'busy', data: data('') },
        ]);
        assert.deepEqual(ids(await q.pull({ consumer: me, max: 10, leaseMs: longLease, skipKeys: ['busy'] })), ['b']);
        assert.deepEqual(ids(await q.pull({ consumer: me, max: 10, leaseMs: longLease })), ['a', 'c']);
      }));

    it('a message is not delivered before its not-before time, and is once it is due', () =>
      withQueue(open, async (q) => {
        await q.enqueue([{ id: 'later', key: 'f', data: data(''), notBefore: Date.now() + 60_000 }, { id: 'soon', key: 'f', data: data(''), notBefore: Date.now() + 300 }]);
        assert.deepEqual(await q.pull({ consumer: me, max: 10, leaseMs: longLease }), []);
        assert.deepEqual(ids(await pullUntil(q, me, 1)), ['soon']);
        assert.deepEqual(await q.pull({ consumer: me, max: 10, leaseMs: longLease }), []);
      }));

    it('a nak redelivers (after its delay), counted, in its place before later messages', () =>
      withQueue(open, async (q) => {
        await q.enqueue([{ id: 'a', key: 'f', data: data('A') }]);
        await q.enqueue([{ id: 'b', key: 'f', data: data('B') }]);
        const [a] = await q.pull({ consumer: me, max: 1, leaseMs: longLease });
        await a!.nak();
        const again = await q.pull({ consumer: other, max: 10, leaseMs: longLease });
        assert.deepEqual(again.map((d) => [d.id, d.deliveryCount]), [['a', 2], ['b', 1]]);
        await again[0]!.nak(300);
        await again[1]!.ack();
        assert.deepEqual(await q.pull({ consumer: me, max: 10, leaseMs: longLease }), [], 'not before its delay');
        const third = await pullUntil(q, me, 1);
        assert.deepEqual(third.map((d) => [d.id, d.deliveryCount, d.data.toString()]), [['a', 3, 'A']]);
      }));

    it('a lease that runs out redelivers to another consumer; the old holder can no longer settle it', () =>
      withQueue(open, async (q) => {
        await q.enqueue([{ id: 'a', key: 'f', data: data('') }]);
        const [first] = await q.pull({ consumer: me, max: 1, leaseMs: 200 });
        const [second] = await pullUntil(q, other, 1);
        assert.equal(second!.id, 'a');
        assert.equal(second!.deliveryCount, 2);
        await first!.ack();
        await first!.term('too late');
        assert.equal(await q.deadLetter('a'), undefined, 'the old holder cannot terminate it');
        assert.deepEqual(await q.pull({ consumer: me, max: 1, leaseMs: longLease }), [], 'the new holder still has it');
        await second!.ack();
        await sleep(400);
        assert.deepEqual(await q.pull({ consumer: me, max: 1, leaseMs: longLease }), [], 'acknowledged by the new holder: gone');
      }));

    it('in-progress starts the lease over', () =>
      withQueue(open, async (q) => {
        await q.enqueue([{ id: 'a', key: 'f', data: data('') }]);
        const [d] = await q.pull({ consumer: me, max: 1, leaseMs: 1500 });
        // Renewed three times over twice the lease: never free for another consumer meanwhile.
        for (let i = 0; i < 3; i++) {
          await sleep(1000);
          await d!.inProgress();
          assert.deepEqual(await q.pull({ consumer: other, max: 1, leaseMs: longLease }), [], `renewal ${i + 1} kept the lease`);
        }
        await d!.ack();
      }));

    it('term sets a message aside as a dead letter with the reason, never delivered again', () =>
      withQueue(open, async (q) => {
        await q.enqueue([{ id: 'a', key: 'f', data: data('A') }]);
        const [d] = await q.pull({ consumer: me, max: 1, leaseMs: longLease });
        await d!.term('function-error');
        const dead = await q.deadLetter('a');
        assert.deepEqual(dead && [dead.id, dead.key, dead.data.toString(), dead.deliveries, dead.reason], ['a', 'f', 'A', 1, 'function-error']);
        assert.deepEqual(await q.pull({ consumer: me, max: 1, leaseMs: longLease }), []);
      }));

    it('a dead letter after maxDeliveries: by naks, and by leases that run out', () =>
      withQueue(open, async (q) => {
        await q.enqueue([{ id: 'naked', key: 'f', data: data(''), maxDeliveries: 2 }, { id: 'expired', key: 'g', data: data(''), maxDeliveries: 1 }]);
        const first = await q.pull({ consumer: me, max: 1, leaseMs: longLease });
        await first[0]!.nak();
        const [second] = await q.pull({ consumer: me, max: 1, leaseMs: longLease });
        assert.deepEqual([second!.id, second!.deliveryCount], ['naked', 2]);
        await second!.nak();
        assert.equal((await q.deadLetter('naked'))?.reason, 'max-deliveries');
        assert.equal((await q.deadLetter('naked'))?.deliveries, 2);
        const [exp] = await q.pull({ consumer: me, max: 1, leaseMs: 200 });
        assert.equal(exp!.id, 'expired');
        await sleep(400);
        assert.deepEqual(await q.pull({ consumer: other, max: 5, leaseMs: longLease }), [], 'its one delivery spent: not delivered again');
        assert.equal((await q.deadLetter('expired'))?.reason, 'max-deliveries');
      }));

    it('dead letters list newest first, by key and cursor; re-driven ones are delivered afresh; pruned by age', () =>
      withQueue(open, async (q) => {
        await q.enqueue(['a', 'b', 'c'].map((id) => ({ id, key: id === 'b' ? 'g' : 'f', data: data(id), maxDeliveries: 3 })));
        for (const d of await q.pull({ consumer: me, max: 3, leaseMs: longLease })) await d.term(`bad ${d.id}`);
        const all = await q.deadLetters({ limit: 10 });
        assert.deepEqual(all.map((d) => d.id), ['c', 'b', 'a']);
        assert.deepEqual((await q.deadLetters({ keys: ['f'], limit: 10 })).map((d) => d.id), ['c', 'a']);
        assert.deepEqual((await q.deadLetters({ keys: [], limit: 10 })).map((d) => d.id), []);
        const page = await q.deadLetters({ limit: 1 });
        assert.deepEqual((await q.deadLetters({ before: page[0]!.seq, limit: 10 })).map((d) => d.id), ['b', 'a']);

        assert.equal(await q.redrive('b'), true);
        assert.equal(await q.redrive('b'), false, 'no longer a dead letter');
        assert.equal(await q.redrive('nope'), false);
        assert.equal(await q.deadLetter('b'), undefined);
        const [again] = await q.pull({ consumer: me, max: 5, leaseMs: longLease });
        assert.deepEqual([again!.id, again!.key, again!.data.toString(), again!.deliveryCount], ['b', 'g', 'b', 1]);
        await again!.nak();
        const [third] = await q.pull({ consumer: me, max: 5, leaseMs: longLease });
        assert.equal(third!.deliveryCount, 2, 'maxDeliveries still applies after a re-drive');
        await third!.ack();

        assert.equal(await q.pruneDeadLetters(0), 0);
        assert.equal(await q.pruneDeadLetters(Date.now() + 1), 2);
        assert.deepEqual(await q.deadLetters({ limit: 10 }), []);
      }));

    it('a re-drive can wait for a not-before time', () =>
      withQueue(open, async (q) => {
        await q.enqueue([{ id: 'a', key: 'f', data: data('') }]);
        await (await q.pull({ consumer: me, max: 1, leaseMs: longLease }))[0]!.term('x');
        assert.equal(await q.redrive('a', Date.now() + 300), true);
        assert.deepEqual(await q.pull({ consumer: me, max: 1, leaseMs: longLease }), []);
        assert.deepEqual(ids(await pullUntil(q, me, 1)), ['a']);
      }));

    it("recover gives back at once what a consumer's earlier sessions held, not what others hold", () =>
      withQueue(open, async (q) => {
        await q.enqueue(['a', 'b', 'c'].map((id) => ({ id, key: 'f', data: data('') })));
        await q.pull({ consumer: { name: 'node-a', session: 'old' }, max: 1, leaseMs: longLease });
        await q.pull({ consumer: { name: 'node-a', session: 'new' }, max: 1, leaseMs: longLease });
        await q.pull({ consumer: other, max: 1, leaseMs: longLease });
        assert.equal(await q.recover({ name: 'node-a', session: 'new' }), 1);
        const back = await q.pull({ consumer: me, max: 5, leaseMs: longLease });
        assert.deepEqual(back.map((d) => [d.id, d.deliveryCount]), [['a', 2]]);
      }));

    it('a waiting pull answers when a message arrives, and an abort ends the wait with nothing', () =>
      withQueue(open, async (q) => {
        const waiting = q.pull({ consumer: me, max: 5, leaseMs: longLease, waitMs: 60_000 });
        await sleep(50);
        await q.enqueue([{ id: 'a', key: 'f', data: data('') }]);
        assert.deepEqual(ids(await waiting), ['a']);
        const ac = new AbortController();
        const aborted = q.pull({ consumer: me, max: 5, leaseMs: longLease, waitMs: 60_000, signal: ac.signal });
        await sleep(50);
        ac.abort();
        assert.deepEqual(await aborted, []);
      }));

    it('concurrent pullers, on one handle and on two, never hold the same message at once', () =>
      withQueue(open, async (q, h) => {
        const n = 300;
        await q.enqueue(Array.from({ length: n }, (_, i) => ({ id: `m${i}`, key: `k${i % 7}`, data: data(String(i)) })));
        const q2 = (await h.second()).queue('work');
        const seen: string[] = [];
        const puller = async (queue: Queue, consumer: QueueConsumer): Promise<void> => {
          for (;;) {
            const got = await queue.pull({ consumer, max: 7, leaseMs: longLease });
            if (got.length === 0) return;
            for (const d of got) seen.push(d.id);
            await Promise.all(got.map((d) => d.ack()));
          }
        };
        await Promise.all([puller(q, me), puller(q, other), puller(q2, { name: 'node-c', session: 's' }), puller(q2, { name: 'node-d', session: 's' })]);
        assert.equal(seen.length, n, 'every message delivered exactly once');
        assert.equal(new Set(seen).size, n);
      }));
  });
}
