import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WeightedSplit } from './weighted-split.js';

function count(split: WeightedSplit, n: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const v = split.next();
    out[v] = (out[v] ?? 0) + 1;
  }
  return out;
}

test('a 50/50 split over 200 picks is exactly 100/100', () => {
  assert.deepEqual(count(new WeightedSplit({ v1: 50, v2: 50 }), 200), { v1: 100, v2: 100 });
});

test('90/10 gives each its weight in every window of 100 picks', () => {
  const s = new WeightedSplit({ v1: 90, v2: 10 });
  for (let w = 0; w < 3; w++) assert.deepEqual(count(s, 100), { v1: 90, v2: 10 });
});

test('picks interleave instead of running in blocks', () => {
  const s = new WeightedSplit({ a: 1, b: 1 });
  assert.deepEqual([s.next(), s.next(), s.next(), s.next()].sort(), ['a', 'a', 'b', 'b']);
  const t = new WeightedSplit({ a: 1, b: 1 });
  const first = t.next();
  assert.notEqual(t.next(), first);
});

test('zero weights are never picked', () => {
  assert.deepEqual(count(new WeightedSplit({ v1: 0, v2: 3 }), 30), { v2: 30 });
});
