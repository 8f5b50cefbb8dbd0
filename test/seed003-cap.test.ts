/**
 * The seed-003 global concurrency cap: with its own `MAX_CONCURRENT_EXECUTIONS` set, more
 * executions queued at once than the cap never run more than the cap at a time. Each run reports
 * when it started and ended (one host clock for every sandbox); the test counts the largest
 * overlap of those intervals, so it asserts a count, never a duration.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFerry, disposeFerry, packFiles, type Ferry } from './support/ferry.js';
import { sandboxSupport } from './support/sandbox.js';
import { seedClient, type SeedClient } from './support/seed003-client.js';

const support = await sandboxSupport();
const skip = support.ok ? false : `the bwrap sandbox cannot run here: ${support.why}`;

const CAP = 2;
const QUEUED = 6;

/** Reports its own start and end; the sleep only widens the window an uncapped run would overlap in. */
const TIMED = `import sys, json, time
start = time.time()
time.sleep(1.5)
print(json.dumps({"start": start, "end": time.time()}))
`;

let f: Ferry;
let seed: SeedClient;
before(async () => {
  if (skip) return;
  f = await startFerry({ args: ['--driver', 'bwrap', '--registration', 'open'], env: { FERRY_COMPAT: 'seed003', MAX_CONCURRENT_EXECUTIONS: String(CAP) } });
  seed = seedClient(f);
});
after(async () => {
  if (f) await disposeFerry(f);
});

/** The most intervals that hold one instant in common. */
function maxOverlap(runs: Array<{ start: number; end: number }>): number {
  const edges = runs.flatMap((r) => [{ at: r.start, d: 1 }, { at: r.end, d: -1 }]);
  // An end before a start at the same instant: touching runs do not overlap.
  edges.sort((a, b) => a.at - b.at || a.d - b.d);
  let now = 0;
  let most = 0;
  for (const e of edges) most = Math.max(most, (now += e.d));
  return most;
}

test(`MAX_CONCURRENT_EXECUTIONS=${CAP}: ${QUEUED} executions queued at once never run more than ${CAP} at a time`, { skip }, async () => {
  const token = await seed.signUp('carla');
  const form = new FormData();
  form.set('name', 'timed');
  form.set('file', new Blob([new Uint8Array(await packFiles({ 'main.py': TIMED }))], { type: 'application/gzip' }), 'timed.tar.gz');
  const created = await seed.call('POST', '/api/functions', token, form);
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const submitted = await Promise.all(
    Array.from({ length: QUEUED }, () => seed.call('POST', '/api/executions', token, { function_id: created.json.id, input: {} })),
  );
  for (const s of submitted) assert.equal(s.status, 201, JSON.stringify(s.json));
  const done = await Promise.all(submitted.map((s) => seed.poll(token, s.json.id as string)));
  const runs = done.map((d) => {
    assert.equal(d.status, 'completed', JSON.stringify(d));
    return JSON.parse(d.output as string) as { start: number; end: number };
  });
  const most = maxOverlap(runs);
  assert.ok(most >= 1 && most <= CAP, `at most ${CAP} at once, but ${most} ran together: ${JSON.stringify(runs)}`);
});
