// The instance pool end to end: scale-up, queueing and shedding, scale to zero, minInstances,
// timeouts, crashes, and configuration/version changes under continuous load. Real server, real
// node instances, real HTTP; every wait is a poll with a deadline or a test-controlled gate.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFerry, disposeFerry, sleep, type Ferry, type PackageFiles } from './support/ferry.js';
import { Gate } from './support/gate.js';
import { waitFor } from './support/wait.js';
import { listInstances, manifest, problemOf } from './support/fn.js';
import { Load } from './support/load.js';

// Scheduling and lifecycle are the same whatever the driver; these tests read instance pids and
// processes from the host, which only the process driver shows as-is (a sandboxed instance is
// pid 1 of its own namespace). The sandbox itself is tested in escape.test.ts and runtimes.test.ts.
const unsandboxed = ['--driver', 'process', '--unsandboxed'];

let ferry: Ferry;
let gate: Gate;
before(async () => {
  ferry = await startFerry({ args: unsandboxed });
  gate = await Gate.start();
});
after(async () => {
  await gate.close();
  await disposeFerry(ferry);
});

/**
 * One handler for every scenario, switched by the query:
 * `?gate=1` waits until the test opens the gate, `?hang=1` never answers, `?crash=1` exits the
 * process; anything else answers at once. Every answer says which process served it.
 */
const handler = `
export default async (req) => {
  const q = new URL(req.url).searchParams;
  if (q.has('crash')) process.exit(1);
  if (q.has('hang')) await new Promise(() => {});
  if (q.has('gate')) await (await fetch(process.env.GATE_URL)).text();
  return { pid: process.pid, instance: process.env.FERRY_INSTANCE, version: process.env.FERRY_VERSION, color: process.env.COLOR ?? null };
};
`;

interface Answer {
  pid: number;
  instance: string;
  version: string;
  color: string | null;
}

function pkg(extra: Record<string, unknown>): PackageFiles {
  const m = { runtime: 'node', handler: 'index.js', ...extra, env: { GATE_URL: gate.url, ...(extra.env as Record<string, string> | undefined) } };
  return { 'ferry.json': manifest(m), 'package.json': '{"type":"module"}', 'index.js': handler };
}

async function call(name: string, query = ''): Promise<{ status: number; body: Answer; res: Response }> {
  const res = await fetch(`${ferry.url}/fn/${name}${query}`, { signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  let body: Answer;
  try {
    body = JSON.parse(text) as Answer;
  } catch {
    throw new Error(`${name}${query} answered ${res.status} with non-JSON: ${text.slice(0, 300)}`);
  }
  return { status: res.status, body, res };
}

test('scale-up: concurrent calls beyond concurrency run on distinct instances, capped at maxInstances', { timeout: 40_000 }, async () => {
  gate.shut();
  await ferry.deploy('scale-up', pkg({ scaling: { concurrency: 1, maxInstances: 3 } }));
  // Four calls: three can run (one per instance), the fourth must wait for a free slot.
  const calls = Array.from({ length: 4 }, () => call('scale-up', '?gate=1'));
  await gate.waitForWaiting(3);
  const running = await listInstances(ferry, 'scale-up');
  assert.equal(running.length, 3, `maxInstances 3 must cap the pool: ${JSON.stringify(running)}`);
  for (const i of running) {
    assert.equal(i.state, 'ready');
    assert.equal(i.inFlight, 1, `concurrency 1: each instance holds exactly one call: ${JSON.stringify(running)}`);
  }
  assert.equal(gate.waiting, 3, 'the fourth call must not run while all three instances are busy');
  gate.open();
  const answers = await Promise.all(calls);
  for (const a of answers) assert.equal(a.status, 200, JSON.stringify(a.body));
  const pids = new Set(answers.map((a) => a.body.pid));
  assert.equal(pids.size, 3, `four calls over three instances: ${JSON.stringify(answers.map((a) => a.body))}`);
  assert.deepEqual([...pids].sort(), running.map((i) => i.pid).sort(), 'the answering processes are the listed instances');
});

test('queue: past maxInstances calls queue up to maxQueue, the rest are shed with 503 queue-full and Retry-After', { timeout: 40_000 }, async () => {
  gate.shut();
  await ferry.deploy('queue', pkg({ scaling: { concurrency: 1, maxInstances: 1, maxQueue: 2 } }));
  // Warm: with the instance ready and idle, exactly one of the next calls runs and two queue.
  assert.equal((await call('queue')).status, 200);

  const settled: Array<{ status: number; res: Response }> = [];
  const calls = Array.from({ length: 5 }, () =>
    fetch(`${ferry.url}/fn/queue?gate=1`, { signal: AbortSignal.timeout(30_000) }).then((res) => {
      settled.push({ status: res.status, res });
      return res;
    }),
  );
  // The shed calls answer at once; the running one is parked at the gate.
  await waitFor('two calls shed', () => settled.length >= 2);
  await gate.waitForWaiting(1);
  assert.equal(settled.length, 2, `only the shed calls may have answered before the gate opened: ${settled.map((s) => s.status)}`);
  gate.open();
  const all = await Promise.all(calls);

  const ok = all.filter((r) => r.status === 200);
  const shed = all.filter((r) => r.status === 503);
  assert.equal(ok.length, 3, `1 running + 2 queued succeed; got ${all.map((r) => r.status)}`);
  assert.equal(shed.length, 2, `the other 2 are shed; got ${all.map((r) => r.status)}`);
  for (const r of shed) {
    const retryAfter = r.headers.get('retry-after');
    assert.ok(retryAfter !== null && /^\d+$/.test(retryAfter), `Retry-After must be delta-seconds, got ${retryAfter}`);
    assert.ok(r.headers.get('x-request-id'));
    const p = await problemOf(r);
    assert.equal(p.code, 'queue-full');
    assert.equal(p.status, 503);
  }
  for (const r of ok) assert.equal(((await r.json()) as Answer).version, 'v1');
});

test('scale to zero: an idle instance is stopped after idleTimeoutMs and the next call cold-starts a new one', { timeout: 40_000 }, async () => {
  await ferry.deploy('zero', pkg({ scaling: { idleTimeoutMs: 1000 } }));
  const first = await call('zero');
  assert.equal(first.status, 200);
  const listed = await listInstances(ferry, 'zero');
  assert.deepEqual(listed.map((i) => i.id), [first.body.instance], 'one instance, the one that answered');
  assert.equal(listed[0]!.pid, first.body.pid);

  await waitFor('the idle instance to be stopped', async () => (await listInstances(ferry, 'zero')).length === 0);
  await waitFor(`the idle instance's process ${first.body.pid} to exit`, () => {
    try {
      process.kill(first.body.pid, 0);
      return false;
    } catch {
      return true;
    }
  });

  const second = await call('zero');
  assert.equal(second.status, 200);
  assert.notEqual(second.body.instance, first.body.instance, 'a cold start makes a new instance');
  assert.notEqual(second.body.pid, first.body.pid);
  assert.deepEqual((await listInstances(ferry, 'zero')).map((i) => i.id), [second.body.instance]);
});

test('minInstances 1: an instance starts without any call and outlives idleTimeoutMs', { timeout: 40_000 }, async () => {
  await ferry.deploy('hot', pkg({ scaling: { minInstances: 1, idleTimeoutMs: 200 } }));
  const [inst] = await waitFor('a hot instance after deploy', async () => {
    const l = await listInstances(ferry, 'hot');
    return l.length === 1 && l[0]!.state === 'ready' ? l : undefined;
  });
  assert.equal(inst!.served, 0, 'nobody called it');
  // Five idle timeouts (the sweep runs every 200 ms): an instance not kept by minInstances is gone by now.
  await sleep(1000);
  let now = await listInstances(ferry, 'hot');
  assert.deepEqual(now.map((i) => [i.id, i.state]), [[inst!.id, 'ready']], 'minInstances keeps it past idleTimeoutMs');
  // It serves warm, and is still kept afterwards.
  const a = await call('hot');
  assert.equal(a.status, 200);
  assert.equal(a.body.instance, inst!.id);
  await sleep(1000);
  now = await listInstances(ferry, 'hot');
  assert.deepEqual(now.map((i) => i.id), [inst!.id]);
  assert.equal(now[0]!.served, 1);
});

test('timeout: a call without response headers within limits.timeoutMs answers 504 invoke-timeout and its instance is recycled', { timeout: 40_000 }, async () => {
  gate.shut();
  // Two warm instances, so neither the timed-out call nor the one after it waits on a cold start
  // (a cold start counts against the 300 ms too): two gated calls bring them up under the default
  // timeout, then a PATCH sets 300 ms, which rolls both (replacements start before it returns).
  await ferry.deploy('slowpoke', pkg({ scaling: { concurrency: 1, maxInstances: 2 } }));
  const warming = [call('slowpoke', '?gate=1'), call('slowpoke', '?gate=1')];
  await gate.waitForWaiting(2);
  gate.open();
  for (const w of await Promise.all(warming)) assert.equal(w.status, 200);
  const patch = await ferry.api('PATCH', '/v1/functions/slowpoke/versions/v1', { limits: { timeoutMs: 300 } });
  assert.equal(patch.status, 200, await patch.text());
  const ids = await waitFor('two idle ready instances with the new limit', async () => {
    const l = await listInstances(ferry, 'slowpoke');
    return l.length === 2 && l.every((i) => i.state === 'ready' && i.inFlight === 0) ? l.map((i) => i.id) : undefined;
  });

  const hung = await fetch(`${ferry.url}/fn/slowpoke?hang=1`, { signal: AbortSignal.timeout(20_000) });
  assert.equal(hung.status, 504);
  assert.ok(hung.headers.get('x-request-id'));
  assert.equal((await problemOf(hung)).code, 'invoke-timeout');

  // The instance that held the call takes no more calls and goes away.
  const recycled = await waitFor('the timed-out instance to leave the list', async () => {
    const now = (await listInstances(ferry, 'slowpoke')).map((i) => i.id);
    const gone = ids.filter((id) => !now.includes(id));
    return gone.length === 1 ? gone[0] : undefined;
  });
  const fast = await call('slowpoke', '?fast=1');
  assert.equal(fast.status, 200, JSON.stringify(fast.body));
  assert.notEqual(fast.body.instance, recycled, 'the recycled instance must not serve again');
});

test('minInstances 2: deploying starts two hot instances', { timeout: 40_000 }, async () => {
  await ferry.deploy('hot-two', pkg({ scaling: { minInstances: 2 } }));
  let seen: unknown;
  await waitFor('two hot instances after deploy', async () => {
    const l = await listInstances(ferry, 'hot-two');
    seen = l.map((i) => [i.id, i.state]);
    return l.length === 2 && l.every((i) => i.state === 'ready');
  }, { timeoutMs: 8_000 }).catch((err: Error) => assert.fail(`${err.message}; last listed: ${JSON.stringify(seen)}`));
});

test('timeout: recycling an instance does not leave the version below minInstances', { timeout: 40_000 }, async () => {
  await ferry.deploy('slowpoke-min', pkg({ limits: { timeoutMs: 300 }, scaling: { minInstances: 1 } }));
  const [first] = await waitFor('a hot instance', async () => {
    const l = await listInstances(ferry, 'slowpoke-min');
    return l.length === 1 && l[0]!.state === 'ready' ? l : undefined;
  });
  const hung = await fetch(`${ferry.url}/fn/slowpoke-min?hang=1`, { signal: AbortSignal.timeout(20_000) });
  assert.equal(hung.status, 504);
  await hung.arrayBuffer();
  // "minInstances keeps the version hot": the recycled instance must be replaced without a call.
  let seen: unknown;
  await waitFor('a replacement hot instance (minInstances 1) after the recycle', async () => {
    const l = await listInstances(ferry, 'slowpoke-min');
    seen = l.map((i) => [i.id, i.state]);
    return l.length === 1 && l[0]!.id !== first!.id && l[0]!.state === 'ready';
  }, { timeoutMs: 8_000 }).catch((err: Error) => assert.fail(`${err.message}; last listed: ${JSON.stringify(seen)} (recycled: ${first!.id})`));
});

test('crash: a handler that exits answers 502 instance-crashed (no hang) and the next call runs on a new instance', { timeout: 40_000 }, async () => {
  await ferry.deploy('crashy', pkg({}));
  const first = await call('crashy');
  assert.equal(first.status, 200);

  const crashed = await fetch(`${ferry.url}/fn/crashy?crash=1`, { signal: AbortSignal.timeout(20_000) });
  assert.equal(crashed.status, 502);
  assert.ok(crashed.headers.get('x-request-id'));
  assert.equal((await problemOf(crashed)).code, 'instance-crashed');

  // At once, without waiting for the pool to see the exit: the dead instance must not get it.
  const next = await call('crashy');
  assert.equal(next.status, 200, `the call after a crash must succeed: ${JSON.stringify(next.body)}`);
  assert.notEqual(next.body.pid, first.body.pid, 'served by a new process');
  assert.notEqual(next.body.instance, first.body.instance);
  await waitFor('the crashed instance to leave the list', async () => !(await listInstances(ferry, 'crashy')).some((i) => i.id === first.body.instance));
});

test('lost connection: an instance whose connection to the gateway dropped gets no more calls', { timeout: 40_000 }, async () => {
  // When an instance dies, the gateway sees its socket close and the process exit as two events;
  // a call arriving between them must not be handed to the dead instance. Here the instance
  // closes its end of the connection and lingers, which holds that window open for 10 s.
  await ferry.deploy('dropper', {
    'ferry.json': manifest({ runtime: 'node', handler: 'index.js' }),
    'package.json': '{"type":"module"}',
    'index.js': `
import net from 'node:net';

export default (req) => {
  if (new URL(req.url).searchParams.has('drop')) {
    // The frame connection: the instance's one Unix-socket stream that is not stdio.
    const std = [process.stdin, process.stdout, process.stderr];
    for (const h of process._getActiveHandles()) {
      if (h instanceof net.Socket && !std.includes(h) && h._handle?.constructor?.name === 'Pipe') h.destroy();
    }
    setTimeout(() => process.exit(1), 10_000);
    return new Promise(() => {});
  }
  return { pid: process.pid, instance: process.env.FERRY_INSTANCE };
};
`,
  });
  const first = await call('dropper');
  assert.equal(first.status, 200);
  const dropped = await fetch(`${ferry.url}/fn/dropper?drop=1`, { signal: AbortSignal.timeout(20_000) });
  assert.equal(dropped.status, 502);
  assert.equal((await problemOf(dropped)).code, 'instance-crashed');
  const next = await call('dropper');
  assert.equal(next.status, 200, `the next call went to the instance whose connection is gone: ${JSON.stringify(next.body)}`);
  assert.notEqual(next.body.instance, first.body.instance);
});

function failures(results: Array<{ phase: string; status: number; body: string; error?: string }>): string {
  const bad = results.filter((r) => r.status !== 200);
  return `${bad.length} of ${results.length} calls failed: ${JSON.stringify(bad.slice(0, 5))}`;
}

test('config override under continuous load: PATCH env loses no call, and calls after it see the new value', { timeout: 45_000 }, async () => {
  await ferry.deploy('colors', pkg({ env: { COLOR: 'red' } }));
  assert.equal((await call('colors')).body.color, 'red');

  const load = new Load(4, () => fetch(`${ferry.url}/fn/colors`, { signal: AbortSignal.timeout(30_000) }));
  try {
    await waitFor('40 calls before the PATCH', () => load.count('before') >= 40);
    load.phase = 'during';
    const patch = await ferry.api('PATCH', '/v1/functions/colors/versions/v1', { env: { COLOR: 'blue' } });
    assert.equal(patch.status, 200, await patch.text());
    load.phase = 'after';
    await waitFor('80 calls after the PATCH', () => load.count('after') >= 80);
  } finally {
    await load.stop();
  }
  const results = load.results;
  assert.ok(results.every((r) => r.status === 200), failures(results));
  const colorOf = (r: { body: string }): string | null => (JSON.parse(r.body) as Answer).color;
  assert.ok(results.filter((r) => r.phase === 'before').every((r) => colorOf(r) === 'red'));
  const after = results.filter((r) => r.phase === 'after');
  const stale = after.filter((r) => colorOf(r) !== 'blue');
  assert.equal(stale.length, 0, `calls started after the PATCH returned must see COLOR=blue; ${stale.length} of ${after.length} did not`);
  // The old instances drained and stopped: only new ones remain.
  const fresh = await call('colors');
  await waitFor('only instances with the new configuration', async () => {
    const l = await listInstances(ferry, 'colors');
    return l.length >= 1 && l.every((i) => i.state === 'ready') && l.some((i) => i.id === fresh.body.instance);
  });
});

test('new version and alias move under continuous load: no call fails, and calls after the move reach the new version', { timeout: 45_000 }, async () => {
  await ferry.deploy('rollout', pkg({}), 'v1');
  const put = await ferry.api('PUT', '/v1/functions/rollout/aliases/prod', { version: 'v1' });
  assert.equal(put.status, 200, await put.text());

  const load = new Load(4, () => fetch(`${ferry.url}/fn/rollout@prod`, { signal: AbortSignal.timeout(30_000) }));
  try {
    await waitFor('40 calls on v1', () => load.count('before') >= 40);
    load.phase = 'deploying';
    await ferry.deploy('rollout', pkg({}), 'v2');
    load.phase = 'deployed';
    await waitFor('40 calls after deploying v2', () => load.count('deployed') >= 40);
    load.phase = 'moving';
    const move = await ferry.api('PUT', '/v1/functions/rollout/aliases/prod', { version: 'v2' });
    assert.equal(move.status, 200, await move.text());
    load.phase = 'after';
    await waitFor('80 calls after the alias moved', () => load.count('after') >= 80);
  } finally {
    await load.stop();
  }
  const results = load.results;
  assert.ok(results.every((r) => r.status === 200), failures(results));
  const versionOf = (r: { body: string }): string => (JSON.parse(r.body) as Answer).version;
  for (const phase of ['before', 'deploying', 'deployed']) {
    const wrong = results.filter((r) => r.phase === phase && versionOf(r) !== 'v1');
    assert.equal(wrong.length, 0, `prod still points at v1 while ${phase}`);
  }
  const after = results.filter((r) => r.phase === 'after');
  const stale = after.filter((r) => versionOf(r) !== 'v2');
  assert.equal(stale.length, 0, `calls started after the alias moved must reach v2; ${stale.length} of ${after.length} did not`);
  // The latest version is v2 too, and v1 stays reachable by name.
  assert.equal((await call('rollout')).body.version, 'v2');
  assert.equal((await call('rollout@v1')).body.version, 'v1');
});
