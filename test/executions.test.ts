/**
 * Asynchronous executions end to end against the real server: 202 with Location, long-poll,
 * results, logs, paging, cancel, idempotency, retries, timeouts, the queue bound, who may read
 * an execution, and the CLI.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFerry, disposeFerry, markSensitive, type Ferry } from './support/ferry.js';
import { expectProblem, nodeFn, runCli, show } from './support/helpers.js';
import { waitFor } from './support/wait.js';

interface Execution {
  id: string;
  function: string;
  status: string;
  public: boolean;
  attempts: number;
  lostRuns: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  request: { method: string; path: string; headers: Record<string, string>; bodySize: number };
  result: { status: number; headers: Record<string, string | string[]>; size: number; body: string | null; bodyEncoding: string | null; bodyUrl: string } | null;
  error: { code: string; detail: string } | null;
  timings: { queuedMs: number | null; lastRunMs: number | null; totalMs: number | null };
  logs?: Array<{ stream: string; line: string }>;
}

let ferry: Ferry;
const QUEUE_MAX = 40;

before(async () => {
  ferry = await startFerry({ args: ['--driver', 'process', '--unsandboxed', '--execution-queue-max', String(QUEUE_MAX)] });
  await ferry.deploy(
    'echo',
    nodeFn(
      `export default async (req, ctx) => {
  const body = await req.text();
  console.log('run ' + ctx.requestId + ' ' + body);
  if (body === 'big') return new Response('x'.repeat(100 * 1024));
  if (body === 'slow') await new Promise((r) => setTimeout(r, 400));
  return Response.json({ id: ctx.requestId, method: req.method, url: new URL(req.url).pathname + new URL(req.url).search, body, a: req.headers.get('x-a') },
    { status: 201, headers: { 'x-out': 'yes' } });
};
`,
      { retries: 0 },
    ),
  );
  await ferry.deploy('sleepy', nodeFn(`export default async (req) => { const ms = Number(await req.text()) || 1500; await new Promise((r) => setTimeout(r, ms)); return 'slept'; };\n`, { maxConcurrentExecutions: 1, retries: 0 }));
  await ferry.deploy('broken', nodeFn(`export default () => new Response('nope', { status: 500 });\n`, { retries: 1 }));
  await ferry.deploy('stuck', nodeFn(`export default () => new Promise((r) => setTimeout(() => r('late'), 3000));\n`, { asyncTimeoutMs: 300, retries: 0 }));
  await ferry.deploy('private', nodeFn(`export default () => 'secret';\n`, { invoke: 'token' }));
});
after(() => disposeFerry(ferry));

/** An asynchronous invocation through the gateway; answers the response and its JSON. */
async function submit(path: string, init: { body?: string; headers?: Record<string, string>; method?: string } = {}): Promise<{ res: Response; id: string }> {
  const res = await fetch(ferry.url + path, { method: init.method ?? 'POST', body: init.body, headers: { prefer: 'respond-async', ...init.headers } });
  const text = await res.text();
  assert.equal(res.status, 202, text);
  return { res, id: (JSON.parse(text) as { id: string }).id };
}

/** `token` null: no Authorization header. */
async function get(id: string, query = '', token: string | null = ferry.token): Promise<Response> {
  return fetch(`${ferry.url}/v1/executions/${id}${query}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
}

async function ended(id: string): Promise<Execution> {
  const res = await get(id, '?wait=20');
  assert.equal(res.status, 200);
  const e = (await res.json()) as Execution;
  assert.ok(!['queued', 'running'].includes(e.status), `execution ${id} still ${e.status}`);
  return e;
}

test('Prefer: respond-async answers 202 with Location after storing; wait long-polls to the result', async () => {
  const { res, id } = await submit('/fn/echo/some/path?q=1', { body: 'slow', headers: { 'x-a': 'header-a', 'content-type': 'text/plain' } });
  assert.match(id, /^[0-9a-f]{32}$/);
  assert.equal(res.headers.get('location'), `/v1/executions/${id}`);
  assert.equal(res.headers.get('preference-applied'), 'respond-async');
  assert.equal(res.headers.get('x-request-id'), id);
  const early = (await (await get(id)).json()) as Execution;
  assert.ok(['queued', 'running'].includes(early.status), early.status);
  const t0 = Date.now();
  const e = await ended(id);
  assert.ok(Date.now() - t0 < 10_000);
  assert.equal(e.status, 'succeeded');
  assert.equal(e.attempts, 1);
  assert.equal(e.public, true);
  assert.deepEqual({ method: e.request.method, path: e.request.path, bodySize: e.request.bodySize }, { method: 'POST', path: '/some/path?q=1', bodySize: 4 });
  assert.equal(e.result!.status, 201);
  assert.equal(e.result!.headers['x-out'], 'yes');
  assert.deepEqual(JSON.parse(e.result!.body!), { id, method: 'POST', url: '/some/path?q=1', body: 'slow', a: 'header-a' });
  assert.ok(e.timings.totalMs! >= 400 && e.timings.lastRunMs! >= 400, JSON.stringify(e.timings));
  assert.ok(e.startedAt && e.finishedAt);
  // The execution's own log lines, and only those.
  assert.deepEqual(e.logs!.map((l) => l.line), [`run ${id} slow`]);
});

test('X-tinyFaaS-Async and POST /v1/functions/{name}/executions also run asynchronously', async () => {
  const tiny = await fetch(`${ferry.url}/fn/echo`, { method: 'POST', body: 'tiny', headers: { 'x-tinyfaas-async': 'true' } });
  assert.equal(tiny.status, 202);
  const t = (await tiny.json()) as { id: string };
  assert.equal((await ended(t.id)).status, 'succeeded');

  const api = await ferry.api('POST', '/v1/functions/echo/executions?path=/p%3Fx%3D2&method=PUT', 'via api', { 'content-type': 'text/plain', 'x-a': 'A' });
  assert.equal(api.status, 202);
  const a = (await api.json()) as { id: string; location: string };
  assert.equal(api.headers.get('location'), a.location);
  const e = await ended(a.id);
  assert.equal(e.public, false);
  assert.deepEqual(JSON.parse(e.result!.body!), { id: a.id, method: 'PUT', url: '/p?x=2', body: 'via api', a: 'A' });
  assert.equal(e.request.headers.authorization, undefined, 'the Ferry token is not stored with the request');
});

test('a large result is kept as an object and read whole at bodyUrl', async () => {
  const { id } = await submit('/fn/echo', { body: 'big' });
  const e = await ended(id);
  assert.equal(e.result!.size, 100 * 1024);
  assert.equal(e.result!.body, null);
  const raw = await fetch(`${ferry.url}${e.result!.bodyUrl}`, { headers: { authorization: `Bearer ${ferry.token}` } });
  assert.equal(raw.status, 200);
  assert.equal((await raw.text()).length, 100 * 1024);
});

test('Idempotency-Key answers the same execution for a repeat, on /fn and on the API', async () => {
  const one = await submit('/fn/echo', { body: 'once', headers: { 'idempotency-key': 'order-17' } });
  const two = await submit('/fn/echo', { body: 'once', headers: { 'idempotency-key': 'order-17' } });
  assert.equal(two.id, one.id);
  assert.equal(two.res.headers.get('idempotent-replayed'), 'true');
  assert.equal(one.res.headers.get('idempotent-replayed'), null);
  await ended(one.id);
  const three = await submit('/fn/echo', { body: 'once', headers: { 'idempotency-key': 'order-17' } });
  assert.equal(three.id, one.id);
  const list = (await (await ferry.api('GET', '/v1/executions?function=echo&limit=1000')).json()) as { executions: Execution[] };
  assert.equal(list.executions.filter((x) => x.id === one.id).length, 1);
  await expectProblem(await fetch(`${ferry.url}/fn/echo`, { method: 'POST', headers: { prefer: 'respond-async', 'idempotency-key': 'x'.repeat(300) } }), 400, 'invalid-header');
});

test('paging: every execution of a function exactly once, newest first, by cursor', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 7; i++) ids.push((await submit('/fn/echo', { body: `page ${i}` })).id);
  for (const id of ids) await ended(id);
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const res = await ferry.api('GET', `/v1/executions?function=echo&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(res.status, 200);
    const page = (await res.json()) as { executions: Execution[]; next: string | null };
    assert.ok(page.executions.length <= 3);
    seen.push(...page.executions.map((e) => e.id));
    cursor = page.next;
    pages++;
  } while (cursor);
  assert.equal(new Set(seen).size, seen.length, 'no execution twice');
  const mine = seen.filter((id) => ids.includes(id));
  assert.deepEqual(mine, [...ids].reverse());
  assert.ok(pages >= 3);
  const succeeded = (await (await ferry.api('GET', '/v1/executions?function=echo&status=succeeded&limit=1000')).json()) as { executions: Execution[] };
  assert.ok(succeeded.executions.every((e) => e.status === 'succeeded'));
  await expectProblem(await ferry.api('GET', '/v1/executions?status=done'), 400, 'invalid-query');
  await expectProblem(await ferry.api('GET', '/v1/executions?cursor=abc'), 400, 'invalid-query');
});

test('DELETE cancels a queued execution; a running or ended one is 409', async () => {
  const running = await submit('/fn/sleepy', { body: '1500' });
  await waitFor('the first sleepy execution to run', async () => ((await (await get(running.id)).json()) as Execution).status === 'running');
  // maxConcurrentExecutions 1: the second waits in the queue.
  const queued = await submit('/fn/sleepy', { body: '10' });
  assert.equal(((await (await get(queued.id)).json()) as Execution).status, 'queued');
  const del = await ferry.api('DELETE', `/v1/executions/${queued.id}`);
  assert.equal(del.status, 200);
  assert.equal(((await del.json()) as Execution).status, 'cancelled');
  await expectProblem(await ferry.api('DELETE', `/v1/executions/${queued.id}`), 409, 'execution-not-cancellable');
  await expectProblem(await ferry.api('DELETE', `/v1/executions/${running.id}`), 409, 'execution-not-cancellable');
  assert.equal((await ended(running.id)).status, 'succeeded');
  const after = (await ended(queued.id)) as Execution;
  assert.equal(after.status, 'cancelled');
  assert.equal(after.attempts, 0);
});

test('failed runs are retried with back-off up to retries; a run past asyncTimeoutMs times out', async () => {
  const b = await submit('/fn/broken');
  const e = await ended(b.id);
  assert.equal(e.status, 'failed');
  assert.equal(e.attempts, 2, 'one run and one retry');
  assert.equal(e.result!.status, 500);
  assert.equal(e.error!.code, 'function-error');
  const s = await submit('/fn/stuck');
  const t = await ended(s.id);
  assert.equal(t.status, 'timed-out');
  assert.equal(t.error!.code, 'invoke-timeout');
  assert.equal(t.attempts, 1);
});

test('past --execution-queue-max, submissions answer 429 with Retry-After', async () => {
  const accepted: string[] = [];
  let refused: Response | undefined;
  for (let i = 0; i < QUEUE_MAX + 10 && !refused; i++) {
    // Long runs, one at a time: on a loaded host few (if any) end while the loop submits.
    const res = await fetch(`${ferry.url}/fn/sleepy`, { method: 'POST', body: '6000', headers: { prefer: 'respond-async' } });
    if (res.status === 202) accepted.push(((await res.json()) as { id: string }).id);
    else refused = res;
  }
  assert.ok(refused, 'no submission was refused');
  assert.equal(refused.headers.get('retry-after'), '1');
  await expectProblem(refused, 429, 'execution-queue-full');
  // The bound is on executions queued or running at once: one that ended meanwhile freed its place.
  let ended = 0;
  for (const id of accepted) if (((await (await get(id)).json()) as Execution).status === 'succeeded') ended++;
  assert.ok(accepted.length - ended >= QUEUE_MAX - 5 && accepted.length - ended <= QUEUE_MAX, `${accepted.length} accepted, ${ended} of them ended`);
  // Clean up: cancel what still waits.
  for (const id of accepted) await ferry.api('DELETE', `/v1/executions/${id}`);
  await waitFor('the bound to free up', async () => (await fetch(`${ferry.url}/fn/echo`, { method: 'POST', body: 'free', headers: { prefer: 'respond-async' } })).status === 202, { timeoutMs: 30_000 });
});

test('a public execution is readable by id alone; one a token created needs read on its function', async () => {
  const pub = await submit('/fn/echo', { body: 'public' });
  assert.equal((await get(pub.id, '?wait=10', null)).status, 200);
  const priv = await fetch(`${ferry.url}/fn/private`, { method: 'POST', headers: { prefer: 'respond-async', authorization: `Bearer ${ferry.token}` } });
  assert.equal(priv.status, 202);
  const { id } = (await priv.json()) as { id: string };
  await expectProblem(await get(id, '', null), 401, 'unauthorized');
  await expectProblem(await fetch(`${ferry.url}/v1/executions/${id}/result`), 401, 'unauthorized');
  const e = await ended(id);
  assert.equal(e.public, false);
  assert.equal(e.result!.body, 'secret');
  // A user who may not read the function does not see its executions.
  markSensitive('outsider-password-1');
  assert.equal((await ferry.api('POST', '/v1/users', { name: 'outsider', password: 'outsider-password-1', groups: ['permission:read'] })).status, 201);
  const tok = ((await (await ferry.api('POST', '/v1/tokens', { user: 'outsider' })).json()) as { token: string }).token;
  await expectProblem(await get(id, '', tok), 404, 'execution-not-found');
  await expectProblem(await get('0'.repeat(32), '', tok), 404, 'execution-not-found');
  const theirs = (await (await get('', '', tok)).json()) as { executions: Execution[] };
  assert.deepEqual(theirs.executions, []);
  assert.equal((await get(pub.id, '', tok)).status, 200, 'a public execution is readable with any valid token too');
  await expectProblem(await get(pub.id, '', 'fry_not-a-real-token'), 401, 'invalid-token');
});

test('callbacks to loopback addresses are refused unless the operator allows them', async () => {
  const res = await fetch(`${ferry.url}/fn/echo`, { method: 'POST', headers: { prefer: 'respond-async', 'x-callback-url': 'http://127.0.0.1:9/hook', 'x-task-token': 't1' } });
  const p = await expectProblem(res, 422, 'callback-refused');
  assert.match(p.detail, /--callback-allow/);
  await expectProblem(await fetch(`${ferry.url}/fn/echo`, { method: 'POST', headers: { prefer: 'respond-async', 'x-callback-url': 'ftp://example.com/' } }), 400, 'invalid-header');
  await expectProblem(await fetch(`${ferry.url}/fn/echo`, { method: 'POST', headers: { prefer: 'respond-async', 'x-task-token': 'alone' } }), 400, 'invalid-header');
});

test('bad wait and unknown executions', async () => {
  await expectProblem(await get('0'.repeat(32)), 404, 'execution-not-found');
  await expectProblem(await get('nope'), 404, 'execution-not-found');
  const { id } = await submit('/fn/echo', { body: 'w' });
  await expectProblem(await get(id, '?wait=61'), 400, 'invalid-query');
  await ended(id);
});

test('ferry invoke --async [--wait], ferry executions list|get', async () => {
  const env = { FERRY_URL: ferry.url, FERRY_TOKEN: ferry.token };
  const sub = await runCli(['invoke', 'echo', '--async', '-d', 'from cli'], { env });
  assert.equal(sub.code, 0, show(sub));
  const id = sub.stdout.trim();
  assert.match(id, /^[0-9a-f]{32}$/);
  const got = await runCli(['executions', 'get', id, '--wait', '20', '--json'], { env });
  assert.equal(got.code, 0, show(got));
  assert.equal((JSON.parse(got.stdout) as Execution).status, 'succeeded');
  const waited = await runCli(['invoke', 'echo', '--async', '--wait', '-d', 'waited'], { env });
  assert.equal(waited.code, 0, show(waited));
  assert.equal((JSON.parse(waited.stdout) as { body: string }).body, 'waited');
  const failed = await runCli(['invoke', 'broken', '--async', '--wait'], { env });
  assert.equal(failed.code, 1, show(failed));
  assert.match(failed.stderr, /failed/);
  const list = await runCli(['executions', 'list', '--function', 'echo', '--limit', '2'], { env });
  assert.equal(list.code, 0, show(list));
  assert.match(list.stdout, /^ID\s+FUNCTION\s+VERSION\s+STATUS/);
  assert.match(list.stderr, /--cursor \d+/);
  const human = await runCli(['executions', 'get', id], { env });
  assert.match(human.stdout, /status:\s+succeeded/);
  assert.match(human.stdout, new RegExp(`run ${id} from cli`));
});

test('asyncTimeoutMs, retries and maxConcurrentExecutions are manifest keys that PATCH changes', async () => {
  const v = (await (await ferry.api('GET', '/v1/functions/echo/versions/v1')).json()) as { config: Record<string, unknown> };
  assert.deepEqual([v.config.asyncTimeoutMs, v.config.retries, v.config.maxConcurrentExecutions], [300_000, 0, 0]);
  const res = await ferry.api('PATCH', '/v1/functions/echo/versions/v1', { asyncTimeoutMs: 5000, retries: 3, maxConcurrentExecutions: 8 });
  assert.equal(res.status, 200);
  const p = (await res.json()) as { config: Record<string, unknown> };
  assert.deepEqual([p.config.asyncTimeoutMs, p.config.retries, p.config.maxConcurrentExecutions], [5000, 3, 8]);
  await expectProblem(await ferry.api('PATCH', '/v1/functions/echo/versions/v1', { retries: -1 }), 422, 'invalid-body');
  const { id } = await submit('/fn/echo', { body: 'after patch' });
  assert.equal((await ended(id)).status, 'succeeded');
});

test('asynchronous runs wait behind synchronous calls for a busy instance, and never fill its maxQueue', async () => {
  // Each asynchronous run holds the instance for 2 s: time enough for the synchronous call to
  // reach the server while the first one runs, even on a loaded machine.
  await ferry.deploy('lane', nodeFn(`export default async (req) => { const b = await req.text(); if (b !== 'sync') await new Promise((r) => setTimeout(r, 2000)); return b; };\n`, { retries: 0, scaling: { maxInstances: 1, concurrency: 1, maxQueue: 1 } }));
  const ids: string[] = [];
  for (const b of ['a1', 'a2', 'a3', 'a4']) ids.push((await submit('/fn/lane', { body: b })).id);
  const status = async (id: string): Promise<string> => ((await (await ferry.api('GET', `/v1/executions/${id}?logs=0`)).json()) as Execution).status;
  await waitFor('an asynchronous run to hold the one instance', async () => (await Promise.all(ids.map(status))).includes('running'));
  // Three runs wait for the instance; maxQueue is 1, yet a synchronous call still gets in line,
  // and it is served before them.
  const res = await fetch(`${ferry.url}/fn/lane`, { method: 'POST', body: 'sync' });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'sync');
  const done = (await Promise.all(ids.map(status))).filter((s) => s === 'succeeded').length;
  assert.ok(done <= 1, `the synchronous call was served after ${done} asynchronous runs, not before the queued ones`);
  await waitFor('every asynchronous run to succeed', async () => (await Promise.all(ids.map(status))).every((s) => s === 'succeeded'), { timeoutMs: 60_000 });
});
