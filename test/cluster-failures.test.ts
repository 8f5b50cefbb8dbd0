/**
 * No accepted execution is lost when a node or NATS fails: one nats-server, a gateway and two
 * workers on one box (`--nats-ack-wait 2s`, so a dead holder's executions come back quickly).
 * A worker killed under load (its executions delivered again and ended once each, its sync calls
 * answering `worker-lost`), the gateway killed with executions queued, NATS killed and started
 * again mid-load, and a rolling restart of the workers.
 */
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Ferry } from './support/ferry.js';
import { expectProblem, nodeFn, runCli, show } from './support/helpers.js';
import { openNats } from '../src/nats/index.js';
import { Bucket } from '../src/store/nats/bucket.js';
import { startNatsServer, type NatsServer } from './support/nats-server.js';
import { submitMany } from './support/async-load.js';
import { testCluster, type TestCluster } from './support/cluster.js';
import { waitFor, within } from './support/wait.js';

let nats: NatsServer;
let cluster: TestCluster;
let gateway: Ferry;
let workers: Ferry[];
let scratch: string;

/**
 * Notes the pid of the node running it (its parent: the process driver starts instances as the
 * server's children) in the file the `x-log` header names, then answers after `x-ms`.
 */
const slowFn = `import { appendFileSync } from 'node:fs';
export default async (req) => {
  const log = req.headers.get('x-log');
  if (log) appendFileSync(log, process.ppid + '\\n');
  await new Promise((r) => setTimeout(r, Number(req.headers.get('x-ms') ?? 300)));
  return new Response('done', { headers: { 'x-pid': String(process.ppid) } });
};
`;

/** The keys of the cluster's token bucket, read straight from NATS. */
async function tokenKeys(): Promise<string[]> {
  const h = await openNats({ servers: [nats.url], name: 'failures-test' });
  try {
    return (await (await Bucket.open(h, 'failures_tokens')).scan()).map((e) => e.key).sort();
  } finally {
    await h.close();
  }
}

/** A gateway and two workers running, whatever an earlier test left (it may have failed half-way). */
async function healthy(): Promise<void> {
  if (!cluster.alive(gateway)) gateway = await cluster.start('gateway');
  for (const [i, w] of workers.entries()) if (!cluster.alive(w)) workers[i] = await cluster.start('worker');
}

before(async () => {
  nats = await startNatsServer();
  scratch = mkdtempSync(join(tmpdir(), 'ferry-failures-'));
  cluster = testCluster(nats, 'failures', ['--nats-ack-wait', '2s']);
  gateway = await cluster.start('gateway');
  workers = [await cluster.start('worker'), await cluster.start('worker')];
  // At most two runs at once per worker: a few dozen executions make a queue that takes a while.
  await gateway.deploy('slow', nodeFn(slowFn, { maxConcurrentExecutions: 2 }));
  await waitFor('a call through the gateway to be served', async () => (await fetch(`${gateway.url}/fn/slow`, { headers: { 'x-ms': '0' } })).status === 200, { timeoutMs: 30_000 });
});
beforeEach(healthy);
after(async () => {
  await cluster?.dispose();
  await nats?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

const endedStatuses = ['succeeded', 'failed', 'timed-out', 'cancelled'];

/** Submits `n` executions of `slow` (each noting its node in `log`); answers the ids of those accepted (202). */
async function submit(n: number, log: string, ms = 300): Promise<string[]> {
  const got = await submitMany(gateway.url, '/fn/slow', [...Array(n).keys()], { concurrency: 8, headers: () => ({ 'x-log': log, 'x-ms': String(ms) }) });
  return got.flatMap((s) => (s.status === 202 && s.id ? [s.id] : []));
}

/** The pids that ran something noted in `log`, one per start. */
function starts(log: string): number[] {
  try {
    return readFileSync(log, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Waits until every one of `ids` has ended, read through `via`, and checks that each succeeded and
 * is listed exactly once (one record per execution, none left running).
 */
async function expectAllSucceeded(via: Ferry, ids: string[]): Promise<void> {
  const wanted = new Set(ids);
  const listed = await waitFor(`all ${ids.length} executions to end`, async () => {
    const seen: Array<{ id: string; status: string }> = [];
    for (let cursor: string | null = null; ; ) {
      const r = await via.api('GET', `/v1/executions?function=slow&limit=500${cursor ? `&cursor=${cursor}` : ''}`);
      if (r.status !== 200) return undefined;
      const page = (await r.json()) as { executions: Array<{ id: string; status: string }>; next: string | null };
      seen.push(...page.executions.filter((e) => wanted.has(e.id)));
      if (!page.next) break;
      cursor = page.next;
    }
    return seen.length >= wanted.size && seen.every((e) => endedStatuses.includes(e.status)) ? seen : undefined;
  }, { timeoutMs: 90_000, intervalMs: 250 });
  assert.equal(listed.length, wanted.size, 'one record per execution');
  assert.deepEqual(new Set(listed.map((e) => e.id)), wanted);
  const notOk = listed.filter((e) => e.status !== 'succeeded');
  assert.deepEqual(notOk, [], 'every accepted execution succeeded');
}

test('kill -9 of a worker under load: its executions end once each elsewhere, its sync calls answer worker-lost, new ones go to the other', async () => {
  const [doomed, survivor] = workers as [Ferry, Ferry];
  const asyncLog = join(scratch, 'kill-worker-async');
  const syncLog = join(scratch, 'kill-worker-sync');
  // Sync calls that take a while, spread over both workers (the least loaded takes the next).
  const sync = Array.from({ length: 6 }, () =>
    fetch(`${gateway.url}/fn/slow`, { headers: { 'x-log': syncLog, 'x-ms': '4000' } }).then(async (r) => ({ status: r.status, pid: r.headers.get('x-pid'), body: await r.text() })),
  );
  const ids = await submit(40, asyncLog);
  assert.equal(ids.length, 40, 'every submission accepted');
  await waitFor('the worker to run a sync call and an execution', () => starts(syncLog).includes(doomed.proc.pid!) && starts(asyncLog).includes(doomed.proc.pid!));
  await cluster.kill(doomed);

  const answers = await within('the sync calls in flight', 30_000, Promise.all(sync));
  for (const a of answers) {
    if (a.status === 200) assert.equal(a.pid, String(survivor.proc.pid), 'a call that succeeded ran on the surviving worker');
    else {
      assert.equal(a.status, 502, a.body);
      assert.equal((JSON.parse(a.body) as { code: string }).code, 'worker-lost');
    }
  }
  assert.ok(answers.some((a) => a.status === 502), `the calls on the killed worker answer 502 (${answers.map((a) => a.status).join(', ')})`);
  for (let i = 0; i < 3; i++) {
    const r = await fetch(`${gateway.url}/fn/slow`, { headers: { 'x-ms': '0' } });
    assert.equal(r.status, 200, await r.text());
    assert.equal(r.headers.get('x-pid'), String(survivor.proc.pid), 'a new call goes to the surviving worker');
  }
  await expectAllSucceeded(gateway, ids);
});

test('kill -9 of the gateway with executions queued: a new gateway sees the queue drain, every record final', async () => {
  const ids = await submit(30, join(scratch, 'kill-gateway'));
  assert.equal(ids.length, 30, 'every submission accepted');
  await cluster.kill(gateway);
  await healthy();
  await expectAllSucceeded(gateway, ids);
  // The killed gateway's deliveries come back after the ack wait and are acked as duplicates of
  // ended executions; under a loaded suite that took longer than the default 20 s guard.
  const queue = await waitFor('the executions queue to be empty', async () => {
    const c = (await (await gateway.api('GET', '/v1/cluster')).json()) as { queues: { executions: { pending: number; held: number } } };
    return c.queues.executions.pending === 0 && c.queues.executions.held === 0 ? c.queues.executions : undefined;
  }, { timeoutMs: 90_000, intervalMs: 250 });
  assert.deepEqual({ pending: queue.pending, held: queue.held }, { pending: 0, held: 0 });
});

test('NATS killed mid-load and started again: nothing accepted is lost, calls meanwhile answer store-unavailable, the nodes come back', async () => {
  const log = join(scratch, 'nats-restart');
  // Killed while submissions are still being accepted: some answers are in, their queue messages
  // may not be.
  const submitting = submitMany(gateway.url, '/fn/slow', [...Array(40).keys()], { concurrency: 4, headers: () => ({ 'x-log': log, 'x-ms': '300' }) });
  await waitFor('the first executions to run', () => starts(log).length >= 4);
  // A token used once just now is in the gateway's cache for a few seconds: the cluster view
  // itself (not the token check) meets the outage.
  const { token } = (await (await gateway.api('POST', '/v1/tokens', { label: 'outage', seconds: 300 })).json()) as { token: string };
  const view = (): Promise<Response> => fetch(`${gateway.url}/v1/cluster`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal((await view()).status, 200);
  const tokensBefore = await tokenKeys();
  await nats.kill();
  // The node knows NATS is away and says so; what needs the store answers at once, sends nothing.
  await waitFor('/healthz to say the store is away', async () => {
    const h = (await (await fetch(`${gateway.url}/healthz`)).json()) as { status: string; store?: string };
    return h.store === 'unavailable' && h.status === 'degraded' ? true : undefined;
  }, { timeoutMs: 30_000 });
  const refused = await within('a token created with NATS away', 60_000, fetch(`${gateway.url}/v1/tokens`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ label: 'refused', seconds: 300 }) }));
  await expectProblem(refused, 503, 'store-unavailable');
  await expectProblem(await within('the cluster view with NATS away', 60_000, view()), 503, 'store-unavailable');
  const status = await runCli(['cluster', 'status'], { env: { FERRY_URL: gateway.url, FERRY_TOKEN: token } });
  assert.notEqual(status.code, 0, show(status));
  assert.match(status.stdout + status.stderr, /NATS store cannot be reached/, show(status));
  const ids = (await within('the submissions', 60_000, submitting)).flatMap((s) => (s.status === 202 && s.id ? [s.id] : []));
  assert.ok(ids.length >= 4, `some submissions were accepted before NATS went away (${ids.length})`);
  const down = await within('an asynchronous call with NATS away', 60_000, fetch(`${gateway.url}/fn/slow`, { method: 'POST', headers: { prefer: 'respond-async' } }));
  await expectProblem(down, 503, 'store-unavailable');
  await expectProblem(await within('reading an execution with NATS away', 60_000, gateway.api('GET', `/v1/executions/${ids[0]}`)), 503, 'store-unavailable');
  const back = Date.now();
  await nats.restart();
  await expectAllSucceeded(gateway, ids);
  const nodes = await waitFor('all three nodes to beat again', async () => {
    const c = (await (await gateway.api('GET', '/v1/cluster')).json()) as { nodes: Array<{ id: string; at: string }> };
    return c.nodes.length === 3 && c.nodes.every((n) => Date.parse(n.at) > back) ? c.nodes : undefined;
  }, { timeoutMs: 30_000 });
  assert.equal(nodes.length, 3);
  const r = await fetch(`${gateway.url}/fn/slow`, { headers: { 'x-ms': '0' } });
  assert.equal(r.status, 200, await r.text());
  const h = (await (await fetch(`${gateway.url}/healthz`)).json()) as { status: string; store?: string };
  assert.deepEqual(h, { status: 'ok' }, 'healthy again');
  // Nothing of the refused token reached the store when NATS came back (not even its first key).
  assert.deepEqual(await tokenKeys(), tokensBefore);
});

test('a rolling restart of the workers under load loses nothing', async () => {
  const ids = await submit(30, join(scratch, 'rolling'), 500);
  assert.equal(ids.length, 30, 'every submission accepted');
  for (const i of [0, 1]) {
    assert.equal(await workers[i]!.stop('SIGTERM'), 0, 'the worker drains and exits cleanly');
    await healthy();
  }
  await expectAllSucceeded(gateway, ids);
});
