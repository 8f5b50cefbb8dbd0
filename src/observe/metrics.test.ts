import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metrics } from './metrics.js';

test("text(visible) keeps a function's series only where visible says so, and the server's own always", async () => {
  const m = new Metrics();
  m.requests.labels('mine', 'v1', '200').inc();
  m.requests.labels('theirs', 'v1', '200').inc();
  m.duration.labels('theirs', 'v1').observe(0.01);
  m.instances.labels('theirs', 'v2').set(1);
  const all = await m.text();
  assert.match(all, /function="theirs"/);
  const asked: string[] = [];
  const mine = await m.text((fn) => (asked.push(fn), fn === 'mine'));
  assert.match(mine, /^ferry_requests_total\{function="mine",version="v1",status="200"\} 1$/m);
  assert.doesNotMatch(mine, /theirs/);
  assert.match(mine, /^ferry_process_process_cpu_seconds_total \d/m, 'the server process series stay');
  assert.match(mine, /^# TYPE ferry_request_duration_seconds histogram$/m);
  assert.deepEqual([...new Set(asked)].sort(), ['mine', 'theirs'], 'each name judged');
  assert.equal(asked.length, 2, 'once per name');
});
