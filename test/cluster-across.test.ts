/**
 * What a cluster shares across its nodes, on a real nats-server with one gateway and two workers
 * (a second gateway joins for the throttles): function logs and `logs -f` read through the
 * gateway with each line naming its node, the history, metrics labelled by node, a schedule that
 * fires once for the cluster, login throttling and rate limits across gateways, the instance API
 * on a worker, one gateway watching a deploy folder (another taking it over when it stops); then
 * `--role all` on the NATS store as a single node.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, startFerry, disposeFerry, type Ferry } from './support/ferry.js';
import { expectProblem, nodeFn, readLinesUntil } from './support/helpers.js';
import { clusterNodeArgs, clusterPerFile, metricsOf, nodeIdOf } from './support/cluster-nodes.js';
import { waitFor } from './support/wait.js';

let gateway: Ferry;
let workers: Ferry[];
/** The second gateway (rate limited per token, `/metrics` public), from the throttle test on. */
let second: Ferry;
/** When the schedule made before the workers started fires (ms since the epoch). */
let scheduleSlot = 0;
/** The ShortedFaaS deploy folder both gateways are given. */
let deployDir = '';
const folderArgs = () => ['--compat', 'shortedfaas', '--deploy-dir', deployDir];

/** Puts a function folder (a ferry.json package) named `name` into the deploy folder. */
async function placeFunction(name: string): Promise<void> {
  const dir = join(deployDir, name);
  await mkdir(dir);
  for (const [file, text] of Object.entries(nodeFn(`export default () => '${name}';\n`))) await writeFile(join(dir, file), text as string);
}

const cluster = clusterPerFile(() => ({
  prefix: 'across',
  workers: 2,
  gatewayArgs: folderArgs(),
  // Before any worker starts: a schedule due once, soon, so every node has its timer on the same run.
  gatewayReady: async (g) => {
    await g.deploy('tick', nodeFn("export default async (req) => 'tick ' + (await req.text());\n"));
    const at = new Date(Math.ceil((Date.now() + 8000) / 1000) * 1000);
    scheduleSlot = at.getTime();
    const cron = `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} ${at.getUTCDate()} ${at.getUTCMonth() + 1} *`;
    assert.equal((await g.api('PUT', '/v1/functions/tick/schedules/once', { cron, body: 'beat' })).status, 201);
  },
}), {
  async setup() {
    deployDir = await mkdtemp(join(tmpdir(), 'ferry-deploy-dir-'));
    await placeFunction('folded-a');
  },
  started: (c) => ({ gateway, workers } = c),
  async teardown() {
    if (deployDir) await rm(deployDir, { recursive: true, force: true });
  },
});

interface LogView {
  id: number;
  node?: string;
  line: string;
}

/** A call straight to a worker's own listener: it runs there, whatever the gateway would choose. */
async function callOn(node: Ferry, path: string, body: string): Promise<Response> {
  return waitFor(`a call to ${path} to be served`, async () => {
    const r = await fetch(`${node.url}${path}`, { method: 'POST', body });
    return r.status === 200 ? r : undefined;
  }, { timeoutMs: 30_000 });
}

test('logs and logs -f through the gateway carry the lines of both workers, each naming its node', async () => {
  await gateway.deploy('talk', nodeFn("export default async (req) => { const b = await req.text(); console.log('said ' + b); return b; };\n"));
  const ids = await Promise.all(workers.map(nodeIdOf));
  assert.notEqual(ids[0], ids[1]);
  // Followers first: the API's follow form and `ferry logs -f`, both on the gateway.
  const ac = new AbortController();
  const follow = await fetch(`${gateway.url}/v1/functions/talk/logs?follow=1`, { headers: { authorization: `Bearer ${gateway.token}` }, signal: ac.signal });
  assert.equal(follow.status, 200);
  const cli = spawn(process.execPath, [cliPath, 'logs', 'talk', '-f'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', FERRY_URL: gateway.url, FERRY_TOKEN: gateway.token }, stdio: ['ignore', 'pipe', 'pipe'] });
  let cliOut = '';
  cli.stdout.setEncoding('utf8').on('data', (c: string) => (cliOut += c));
  try {
    const seen = new Map<string, string | undefined>();
    const lines = readLinesUntil(follow, ac, (raw) => {
      const l = JSON.parse(raw) as LogView;
      seen.set(l.line, l.node);
      return seen.has('said to-first') && seen.has('said to-second');
    }, 30_000);
    await callOn(workers[0]!, '/fn/talk/first', 'to-first');
    await callOn(workers[1]!, '/fn/talk/second', 'to-second');
    await lines;
    assert.equal(seen.get('said to-first'), ids[0], 'the line of the first worker names it');
    assert.equal(seen.get('said to-second'), ids[1], 'the line of the second worker names it');
    await waitFor('ferry logs -f to print both lines', () => /said to-first/.test(cliOut) && /said to-second/.test(cliOut));
    assert.match(cliOut, new RegExp(`@${ids[0]!.slice(0, 8)} \\[[^\\]]*\\] said to-first`), cliOut);
    assert.match(cliOut, new RegExp(`@${ids[1]!.slice(0, 8)} \\[[^\\]]*\\] said to-second`), cliOut);
  } finally {
    ac.abort();
    cli.kill();
  }
  // The plain read has them too, with their nodes.
  const text = await (await gateway.api('GET', '/v1/functions/talk/logs')).text();
  const stored = text.trim().split('\n').map((l) => JSON.parse(l) as LogView);
  assert.equal(stored.find((l) => l.line === 'said to-first')?.node, ids[0]);
  assert.equal(stored.find((l) => l.line === 'said to-second')?.node, ids[1]);
});

test("calls run on the workers are in the gateway's history", async () => {
  await callOn(workers[0]!, '/fn/talk/history-first', 'h1');
  await callOn(workers[1]!, '/fn/talk/history-second', 'h2');
  const paths = await waitFor('both calls in the history', async () => {
    const r = (await (await gateway.api('GET', '/v1/invocations?function=talk&limit=1000')).json()) as { invocations: Array<{ path: string; status: number }> };
    const p = r.invocations.map((i) => i.path);
    return p.some((x) => x.endsWith('history-first')) && p.some((x) => x.endsWith('history-second')) ? r.invocations : undefined;
  });
  for (const i of paths.filter((x) => x.path.includes('history-'))) assert.equal(i.status, 200);
});

test("each node's metrics carry its node label, so a scrape of every node sums the calls", async () => {
  await callOn(workers[0]!, '/fn/talk/m', 'm');
  await callOn(workers[1]!, '/fn/talk/m', 'm');
  const ids = await Promise.all([gateway, ...workers].map(nodeIdOf));
  assert.equal(new Set(ids).size, 3, 'three nodes, three labels');
  let sum = 0;
  for (const [i, w] of workers.entries()) {
    const text = await metricsOf(w);
    const series = text.split('\n').filter((l) => l.startsWith('ferry_requests_total{') && l.includes('function="talk"'));
    assert.ok(series.length > 0, `worker ${i} counted its calls`);
    for (const s of series) {
      assert.ok(s.includes(`node="${ids[i + 1]}"`), `a worker's series names it: ${s}`);
      sum += Number(s.split(' ').at(-1));
    }
  }
  // The first test made two calls, the history test two, this one two: none counted twice.
  assert.ok(sum >= 6, `the workers' series sum to every call they ran (${sum})`);
  assert.match(await metricsOf(gateway), new RegExp(`^ferry_rate_limit_share\\{node="${ids[0]}"\\} 1$`, 'm'));
});

test('a schedule due on every node fires once for the cluster', async () => {
  const runs = await waitFor('the scheduled run to succeed', async () => {
    const r = (await (await gateway.api('GET', '/v1/executions?function=tick')).json()) as { executions: Array<{ id: string; status: string }> };
    return r.executions.some((e) => e.status === 'succeeded') ? r.executions : undefined;
  }, { timeoutMs: 60_000 });
  const s = (await (await gateway.api('GET', '/v1/functions/tick/schedules/once')).json()) as { lastRun: string | null };
  assert.equal(s.lastRun && Date.parse(s.lastRun), scheduleSlot, 'the run claimed is the one due');
  assert.equal(runs.length, 1, `one execution for three nodes: ${JSON.stringify(runs)}`);
  const done = (await (await gateway.api('GET', `/v1/executions/${runs[0]!.id}`)).json()) as { result: { body: string } };
  assert.equal(done.result.body, 'tick beat');
});

test('login throttling and rate limits hold across two gateways', async () => {
  // The second gateway limits each token; its share is half while two gateways are live.
  second = await cluster.add('gateway', ['--rate-limit-per-token', '0.001:4', '--metrics-public', ...folderArgs()]);
  const secondId = await waitFor('the second gateway to count two gateways', async () => {
    const m = /^ferry_rate_limit_share\{node="([0-9a-f]+)"\} 0.5$/m.exec(await metricsOf(second, { anonymous: true }));
    return m?.[1];
  }, { timeoutMs: 30_000 });
  assert.ok(secondId);
  const made = (await (await gateway.api('POST', '/v1/tokens', { label: 'limited' })).json()) as { token: string };
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) statuses.push((await fetch(`${second.url}/v1/auth/whoami`, { headers: { authorization: `Bearer ${made.token}` } })).status);
  assert.deepEqual(statuses, [200, 200, 429, 429], 'a burst of 4 split over two gateways is 2 on each');

  // Failed logins counted on the first gateway block the same client and name on the second.
  const login = (f: Ferry) => fetch(`${f.url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'mallory', password: 'wrong-password' }) });
  for (let i = 0; i < 5; i++) assert.equal((await login(gateway)).status, 401);
  await expectProblem(await login(second), 429, 'too-many-attempts');
});

test('the instance API works from an instance on a worker: its secret, its objects, its log lines', async () => {
  assert.equal((await gateway.api('POST', '/v1/secrets', { name: 'GREETING', value: 'hello-from-the-store' })).status, 201);
  await gateway.deploy('inside', nodeFn(`export default async (req, ctx) => {
  const put = await ctx.fetch('/v1/functions/' + ctx.function + '/objects/note', { method: 'PUT', body: 'kept' });
  const got = await ctx.fetch('/v1/functions/' + ctx.function + '/objects/note');
  console.log('inside wrote a note');
  return JSON.stringify({ secret: process.env.GREETING, put: put.ok, got: await got.text() });
};\n`, { secrets: ['GREETING'] }));
  const res = await waitFor('the call through the gateway', async () => {
    const r = await fetch(`${gateway.url}/fn/inside`, { method: 'POST', body: '' });
    return r.status === 200 ? r : undefined;
  }, { timeoutMs: 30_000 });
  assert.deepEqual(await res.json(), { secret: 'hello-from-the-store', put: true, got: 'kept' });
  assert.equal(await (await gateway.api('GET', '/v1/functions/inside/objects/note')).text(), 'kept');
  const ids = new Set(await Promise.all(workers.map(nodeIdOf)));
  const line = await waitFor('the instance log line', async () => {
    const text = await (await gateway.api('GET', '/v1/functions/inside/logs')).text();
    return text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogView).find((l) => l.line.startsWith('inside wrote'));
  });
  assert.ok(line.node && ids.has(line.node), `the line names a worker (${line.node})`);
});

test('one gateway watches the deploy folder; when it stops, another takes it over', async () => {
  // Read through a worker: the second gateway limits the admin token.
  const reader = workers[0]!;
  const exists = async (fn: string) => (await reader.api('GET', `/v1/functions/${fn}`)).status === 200;
  await waitFor('the folder function deployed', () => exists('folded-a'), { timeoutMs: 30_000 });
  const [firstId, secondId] = [await nodeIdOf(gateway), /node="([0-9a-f]+)"/.exec(await metricsOf(second, { anonymous: true }))![1]!];
  const [owner, other] = firstId < secondId ? [gateway, second] : [second, gateway];
  const watches = (f: Ferry) => f.output.filter((l) => l.includes('this gateway watches the deploy folder')).length;
  const handedOver = (f: Ferry) => f.output.filter((l) => l.includes('watches the deploy folder now')).length;
  await waitFor('the gateway with the lower id to watch the folder, the other not', () => watches(owner) === 1 && watches(other) === handedOver(other));
  assert.equal(handedOver(owner), 0, 'the owner never handed it over');
  await owner.stop();
  await placeFunction('folded-b');
  await waitFor('the other gateway to take the folder over and deploy what is new', async () => watches(other) > handedOver(other) && (await exists('folded-b')), { timeoutMs: 30_000 });
});

test('--role all on the NATS store serves as the embedded default does: deploy, call, async, history', async () => {
  const solo = await startFerry({ args: [...clusterNodeArgs, '--store', cluster.nats.url, '--nats-prefix', 'solo', '--role', 'all'] });
  try {
    await solo.deploy('hello', nodeFn("export default async (req) => 'hi ' + (await req.text());\n"));
    const sync = await fetch(`${solo.url}/fn/hello`, { method: 'POST', body: 'you' });
    assert.equal(sync.status, 200);
    assert.equal(await sync.text(), 'hi you');
    const accepted = await fetch(`${solo.url}/fn/hello`, { method: 'POST', body: 'later', headers: { prefer: 'respond-async' } });
    assert.equal(accepted.status, 202);
    const { id } = (await accepted.json()) as { id: string };
    const ended = (await (await solo.api('GET', `/v1/executions/${id}?wait=30`)).json()) as { status: string; result?: { body: string } };
    assert.equal(ended.status, 'succeeded');
    assert.equal(ended.result?.body, 'hi later');
    const history = await waitFor('both calls in the history', async () => {
      const r = (await (await solo.api('GET', '/v1/invocations?function=hello')).json()) as { invocations: Array<{ kind: string }> };
      return r.invocations.length >= 2 ? r.invocations : undefined;
    });
    assert.deepEqual(history.map((i) => i.kind).sort(), ['async', 'sync']);
  } finally {
    await disposeFerry(solo);
  }
});
