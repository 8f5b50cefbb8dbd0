import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBuckets } from './token-buckets.js';

/** A clock the test moves by hand: no test here waits for real time. */
function clock(): { now: () => number; advance(ms: number): void } {
  let t = 0;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

test('a bucket allows its burst, then refuses until a token is back', () => {
  const c = clock();
  const table = new TokenBuckets(10, c.now);
  const rule = { rate: 0.5, burst: 3 };
  assert.deepEqual([1, 2, 3].map(() => table.take('a', rule).allowed), [true, true, true]);
  const refused = table.take('a', rule);
  assert.equal(refused.allowed, false);
  assert.equal(refused.remaining, 0);
  assert.equal(refused.retryAfterSeconds, 2);
  assert.equal(refused.resetSeconds, 6);
  assert.equal(table.take('b', rule).allowed, true, 'another key has a bucket of its own');
  c.advance(2000);
  assert.equal(table.take('a', rule).allowed, true, 'one token back after 1/rate seconds');
  assert.equal(table.take('a', rule).allowed, false);
});

test('the table never holds more than its bound; refilled buckets go first', () => {
  const c = clock();
  const table = new TokenBuckets(100, c.now);
  const rule = { rate: 1, burst: 2 };
  for (let i = 0; i < 10_000; i++) table.take(`10.0.${i >> 8}.${i & 255}`, rule);
  assert.equal(table.size, 100);
  // A client in debt survives a flood of keys that refill at once (they are as good as absent).
  const fresh = new TokenBuckets(4, c.now);
  fresh.take('x', rule);
  fresh.take('x', rule);
  fresh.take('x', rule);
  c.advance(100);
  for (let i = 0; i < 50; i++) {
    fresh.take(`k${i}`, { rate: 1000, burst: 1 });
    c.advance(5);
  }
  assert.equal(fresh.take('x', rule).allowed, false, 'the bucket in debt was kept');
  assert.ok(fresh.size <= 4);
});

test("a share scales each rule: one of three gateways allows a third of the burst and refills at a third of the rate", () => {
  const c = clock();
  const table = new TokenBuckets(10, c.now);
  const rule = { rate: 3, burst: 9 };
  table.share(1 / 3);
  assert.deepEqual([1, 2, 3, 4].map(() => table.take('a', rule).allowed), [true, true, true, false]);
  c.advance(1000);
  assert.equal(table.take('a', rule).allowed, true, 'one token a second: a third of 3');
  assert.equal(table.take('a', rule).allowed, false);
  table.share(1 / 100);
  assert.equal(table.take('fresh', rule).allowed, true, 'a share never takes the burst below one call');
  table.share(1);
  assert.deepEqual(Array.from({ length: 10 }, () => table.take('b', rule).allowed).filter(Boolean).length, 9, 'back to the whole limit');
});
