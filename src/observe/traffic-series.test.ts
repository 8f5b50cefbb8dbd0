import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrafficSeries } from './traffic-series.js';

test('a minute counts requests, errors and cold starts; p50 and p99 are the bucket bounds they fall under', () => {
  let now = Date.UTC(2026, 0, 1, 12, 0, 10);
  const s = new TrafficSeries(() => now);
  for (let i = 0; i < 98; i++) s.request('a', 200, 3);
  s.request('a', 502, 900);
  s.request('a', 404, 3);
  s.coldStart('a');
  const [point] = s.series('a', 1);
  assert.equal(point!.requests, 100);
  assert.equal(point!.errors, 1, 'only 5xx answers are errors');
  assert.equal(point!.coldStarts, 1);
  assert.ok(point!.p50Ms! >= 3 && point!.p50Ms! < 3 * Math.SQRT2, `p50 ${point!.p50Ms}`);
  assert.ok(point!.p99Ms! >= 3 && point!.p99Ms! < 3 * Math.SQRT2, `p99 ${point!.p99Ms}`);
  now += 60_000;
  s.request('a', 200, 900);
  const both = s.series('a', 2);
  assert.deepEqual(both.map((p) => p.requests), [100, 1]);
  assert.equal(s.summary('a', 2).requests, 101);
  assert.ok(s.summary('a', 2).p99Ms! >= 900, 'the window merges the minutes before taking its percentiles');
});

test('a day is kept: older minutes go, idle minutes read as zeros, another function is apart', () => {
  let now = Date.UTC(2026, 0, 1);
  const s = new TrafficSeries(() => now);
  s.request('a', 200, 1);
  now += 20 * 60_000;
  s.request('a', 200, 1);
  const series = s.series('a', 30);
  assert.equal(series.length, 30);
  assert.equal(series.reduce((n, p) => n + p.requests, 0), 2);
  assert.equal(series.find((p) => p.requests === 1)!.p50Ms !== null, true, 'an aged minute keeps its percentiles');
  now += 1440 * 60_000;
  s.request('a', 200, 1);
  assert.equal(s.series('a', 1440).reduce((n, p) => n + p.requests, 0), 1);
  assert.equal(s.summary('b', 5).requests, 0);
  assert.equal(s.summary('b', 5).p50Ms, null);
});

test("a function's series starts at its creation: calls of an earlier function by that name are not shown", () => {
  let now = Date.UTC(2026, 0, 1, 12);
  const s = new TrafficSeries(() => now);
  s.request('a', 200, 1);
  now += 3 * 60_000;
  const createdAt = now;
  s.request('a', 200, 1);
  assert.equal(s.series('a', 10, createdAt).reduce((n, p) => n + p.requests, 0), 1);
  assert.equal(s.summary('a', 10, createdAt).requests, 1);
  assert.equal(s.summary('a', 10).requests, 2);
});
