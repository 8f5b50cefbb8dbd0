import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideScale, defaultScaleSettings, type ScaleMetrics } from './decision.js';

const s = { ...defaultScaleSettings, minWorkers: 2, maxWorkers: 10, scaleUpThreshold: 3, scaleDownThreshold: 2, scaleUpLagMs: 10_000, cooldownMs: 30_000 };
const m = (over: Partial<ScaleMetrics>): ScaleMetrics => ({ pending: 0, ackPending: 0, lagMs: 0, workers: 2, ...over });
const cool = 60_000;

test('the bounds are restored at once, cooldown or not', () => {
  assert.deepEqual(decideScale(m({ workers: 0 }), 0, s, 0), { target: 2, reason: 'below-min' });
  assert.deepEqual(decideScale(m({ workers: 12 }), 12, s, 0), { target: 10, reason: 'above-max' });
});

test('a backlog above the threshold per worker grows to what it needs, within the maximum', () => {
  // 2 workers, 20 waiting + running: 10 per worker > 3; 20 / 3 → 7 workers.
  assert.deepEqual(decideScale(m({ pending: 16, ackPending: 4 }), 2, s, cool), { target: 7, reason: 'backlog' });
  assert.deepEqual(decideScale(m({ pending: 500 }), 2, s, cool), { target: 10, reason: 'backlog' });
  // Just above the threshold: one more.
  assert.deepEqual(decideScale(m({ pending: 7 }), 2, s, cool), { target: 3, reason: 'backlog' });
});

test('within the cooldown nothing changes but the bounds', () => {
  assert.equal(decideScale(m({ pending: 500 }), 2, s, 10_000), undefined);
  assert.equal(decideScale(m({ pending: 0, workers: 5 }), 5, s, 10_000), undefined);
});

test('an old waiting execution grows by one even when the backlog is small', () => {
  assert.deepEqual(decideScale(m({ pending: 1, lagMs: 20_000 }), 2, s, cool), { target: 3, reason: 'lag' });
  assert.equal(decideScale(m({ pending: 1, lagMs: 20_000 }), 2, { ...s, scaleUpLagMs: 0 }, cool), undefined);
});

test('an idle cluster shrinks one worker at a time, never below the minimum', () => {
  assert.deepEqual(decideScale(m({ pending: 0, workers: 5 }), 5, s, cool), { target: 4, reason: 'idle' });
  assert.equal(decideScale(m({ pending: 0 }), 2, s, cool), undefined);
  // Between the thresholds it holds.
  assert.equal(decideScale(m({ pending: 12, workers: 5 }), 5, s, cool), undefined);
});

test('workers still starting are counted: the load is per live worker, the target from the provider', () => {
  // The provider runs 6, only 2 are alive yet: 12 per live worker; 24 at 3 each needs 8.
  assert.deepEqual(decideScale(m({ pending: 24, workers: 2 }), 6, s, cool), { target: 8, reason: 'backlog' });
  // Nothing alive at all (all starting): no division by zero, and still bounded.
  assert.deepEqual(decideScale(m({ pending: 100, workers: 0 }), 3, s, cool), { target: 10, reason: 'backlog' });
});

test('at the maximum a backlog does not grow it, and it does not shrink it either', () => {
  assert.equal(decideScale(m({ pending: 500, workers: 10 }), 10, s, cool), undefined);
});
