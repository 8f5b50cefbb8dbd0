/**
 * One gateway and one worker on a real nats-server (`--role gateway|worker`): a function deployed
 * on the gateway runs on the worker, bodies stream through both ways, asynchronous executions are
 * run by the worker, the gateway lists the worker's instances, and a gateway with no live worker
 * answers `no-workers`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Ferry } from './support/ferry.js';
import { expectProblem, nodeFn, runCli, show } from './support/helpers.js';
import { startNatsServer, type NatsServer } from './support/nats-server.js';
import { nodeIds, testCluster, type TestCluster } from './support/cluster.js';
import { waitFor } from './support/wait.js';
import { submitMany } from './support/async-load.js';
import { openNats } from '../src/nats/index.js';

let nats: NatsServer;
let cluster: TestCluster;
let gateway: Ferry;
let worker: Ferry;

before(async () => {
  nats = await startNatsServer();
  cluster = testCluster(nats, 'roles');
  gateway = await cluster.start('gateway');
  worker = await cluster.start('worker');
});
after(async () => {
  await cluster?.dispose();
  await nats?.stop();
});

test('a call to the gateway runs on the worker, bodies both ways, and the gateway lists its instance', async () => {
  await gateway.deploy('echo', nodeFn('export default async (req) => new Response(await req.text(), { headers: { "x-pid": String(process.ppid) } });\n'));
  const body = 'x'.repeat(256 * 1024);
  const res = await waitFor('the call to be served by a worker', async () => {
    const r = await fetch(`${gateway.url}/fn/echo`, { method: 'POST', body });
    return r.status === 200 ? r : undefined;
  }, { timeoutMs: 30_000 });
  assert.equal((await res.text()).length, body.length);
  assert.equal(res.headers.get('x-pid'), String(worker.proc.pid), 'the worker ran the instance, not the gateway');
  const ids = nodeIds(gateway.dataDir);
  const listed = await waitFor('the worker to report its instance', async () => {
    const { instances } = (await (await gateway.api('GET', '/v1/functions/echo/instances')).json()) as { instances: Array<{ node?: string; state: string }> };
    return instances.length > 0 ? instances : undefined;
  });
  assert.ok(listed[0]!.node && ids.includes(listed[0]!.node), `the instance names its node (${listed[0]!.node}; nodes ${ids.join(', ')})`);
});

test('ferry cluster status shows both nodes and the queues; only an admin may ask', async () => {
  const r = await waitFor('both nodes in the status', async () => {
    const out = await runCli(['cluster', 'status', '--json'], { env: { FERRY_URL: gateway.url, FERRY_TOKEN: gateway.token } });
    assert.equal(out.code, 0, show(out));
    const answer = JSON.parse(out.stdout) as { clustered: boolean; nodes: Array<{ roles: string[]; address?: string }>; queues: Record<string, { pending: number }> };
    return answer.nodes.length === 2 ? answer : undefined;
  });
  assert.equal(r.clustered, true);
  assert.deepEqual(r.nodes.map((n) => n.roles.join(',')).sort(), ['gateway', 'worker']);
  assert.ok(r.nodes.find((n) => n.roles.includes('worker'))!.address?.startsWith('http://127.0.0.1:'));
  assert.deepEqual(Object.keys(r.queues).sort(), ['callbacks', 'executions']);
  const text = await runCli(['cluster', 'status'], { env: { FERRY_URL: gateway.url, FERRY_TOKEN: gateway.token } });
  assert.match(text.stdout, /NODE\s+ROLES[\s\S]*worker[\s\S]*QUEUE\s+WAITING\s+RUNNING\s+LAG[\s\S]*executions/);
  await expectProblem(await fetch(`${gateway.url}/v1/cluster`), 401, 'unauthorized');
});

test('an asynchronous execution accepted by the gateway is run by the worker', async () => {
  await gateway.deploy('later', nodeFn('export default async (req) => "done " + (await req.text());\n'));
  const res = await fetch(`${gateway.url}/fn/later`, { method: 'POST', body: 'job', headers: { prefer: 'respond-async' } });
  assert.equal(res.status, 202);
  const { id } = (await res.json()) as { id: string };
  const ended = await waitFor('the execution to end', async () => {
    const e = (await (await gateway.api('GET', `/v1/executions/${id}`)).json()) as { status: string; result?: { body: string } };
    return ['succeeded', 'failed', 'timed-out'].includes(e.status) ? e : undefined;
  }, { timeoutMs: 30_000 });
  assert.equal(ended.status, 'succeeded');
  assert.equal(ended.result?.body, 'done job');
});

/** How many times JetStream has delivered a message of the executions queue (redeliveries included). */
async function executionDeliveries(): Promise<number> {
  const h = await openNats({ servers: [nats.url], name: 'roles-test' });
  try {
    return (await h.jsm.consumers.info('roles_queue_executions', 'pullers')).delivered.consumer_seq;
  } finally {
    await h.close();
  }
}

test('executions of a function at its concurrency cap wait on the worker: about one delivery each, not one per second of waiting', async () => {
  await gateway.deploy('capped', nodeFn('export default async () => { await new Promise((r) => setTimeout(r, 150)); return "ok"; };\n', { maxConcurrentExecutions: 1 }));
  const before = await executionDeliveries();
  const n = 8;
  // Each waits up to n runs of 150 ms: given back at the cap (and every second parked), several deliveries each.
  const ids = (await submitMany(gateway.url, '/fn/capped', [...Array(n).keys()], { concurrency: n })).flatMap((s) => (s.status === 202 && s.id ? [s.id] : []));
  assert.equal(ids.length, n);
  const ended = await waitFor('every execution to end', async () => {
    const all = await Promise.all(ids.map(async (id) => ((await (await gateway.api('GET', `/v1/executions/${id}`)).json()) as { status: string }).status));
    return all.every((st) => ['succeeded', 'failed', 'timed-out'].includes(st)) ? all : undefined;
  }, { timeoutMs: 60_000 });
  assert.deepEqual(new Set(ended), new Set(['succeeded']));
  const deliveries = (await executionDeliveries()) - before;
  assert.ok(deliveries >= n && deliveries <= n + 2, `${deliveries} deliveries for ${n} executions`);
});

test('with no live worker, a call to the gateway answers no-workers', async () => {
  await cluster.kill(worker);
  await waitFor('the worker to be gone from the directory', async () => {
    const r = await fetch(`${gateway.url}/fn/echo`, { method: 'POST', body: 'x' });
    return r.status === 503 ? true : undefined;
  }, { timeoutMs: 30_000 });
  await expectProblem(await fetch(`${gateway.url}/fn/echo`, { method: 'POST', body: 'x' }), 503, 'no-workers');
});
