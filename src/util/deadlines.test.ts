import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Deadlines } from './deadlines.js';

test('deadlines fire once, never early, in the order set; cancelled ones never fire', async () => {
  const d = new Deadlines();
  const fired: string[] = [];
  const t0 = performance.now();
  const at = new Map<string, number>();
  const add = (name: string, ms: number) => d.add(ms, () => (fired.push(name), at.set(name, performance.now() - t0)));
  add('a', 30);
  const b = add('b', 30);
  add('c', 30);
  add('short', 5);
  b.cancel();
  b.cancel(); // idempotent
  await sleep(80);
  assert.deepEqual(fired, ['short', 'a', 'c']);
  assert.ok(at.get('short')! >= 5 && at.get('a')! >= 30 && at.get('c')! >= 30, JSON.stringify([...at]));
  assert.equal(d.counts().size, 0, 'a duration with nothing pending is dropped once its timer ran');
});

test('a deadline set while the timer waits for a cancelled one still fires, at its own time', async () => {
  const d = new Deadlines();
  const fired: number[] = [];
  d.add(40, () => fired.push(1)).cancel();
  await sleep(20);
  const t1 = performance.now();
  let late = 0;
  d.add(40, () => {
    late = performance.now() - t1;
    fired.push(2);
  });
  await sleep(100);
  assert.deepEqual(fired, [2]);
  assert.ok(late >= 40, `fired after ${late} ms`);
});

test('cancelled deadlines behind a pending one do not pile up', async () => {
  const d = new Deadlines();
  let slowFired = false;
  const slow = d.add(60_000, () => (slowFired = true));
  for (let i = 0; i < 100_000; i++) d.add(60_000, () => assert.fail('cancelled')).cancel();
  const { pending, held } = d.counts().get(60_000)!;
  assert.equal(pending, 1);
  assert.ok(held <= 1024 + 5, `held ${held} entries for one pending`);
  // In order, as calls mostly end: the front is dropped as it goes.
  const many = Array.from({ length: 5000 }, () => d.add(60_000, () => assert.fail('cancelled')));
  slow.cancel();
  for (const x of many) x.cancel();
  assert.deepEqual(d.counts().get(60_000), { pending: 0, held: 0 });
  assert.equal(slowFired, false);
});

test('a deadline cancelled from another one firing at the same time does not fire', async () => {
  const d = new Deadlines();
  const fired: string[] = [];
  let second: { cancel(): void } | undefined;
  d.add(10, () => {
    fired.push('first');
    second?.cancel();
  });
  second = d.add(10, () => fired.push('second'));
  await sleep(50);
  assert.deepEqual(fired, ['first']);
});
