/** The invocation history against the real server: what was called, how it ended, payloads opt-in. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFerry, disposeFerry, packFiles, type Ferry } from './support/ferry.js';
import { expectProblem, nodeFn, until } from './support/helpers.js';

interface Inv {
  id: string;
  function: string;
  version: string;
  kind: string;
  status: number;
  durationMs: number;
  requestId: string;
  method: string;
  path: string;
  request?: { body: string; encoding: string } | null;
  response?: { body: string; encoding: string } | null;
  truncated?: boolean;
}

let ferry: Ferry;
before(async () => {
  ferry = await startFerry({ args: ['--driver', 'process', '--unsandboxed', '--history-per-function', '5', '--history-payload-max', '16'] });
});
after(() => disposeFerry(ferry));

const list = async (q = ''): Promise<{ invocations: Inv[]; nextCursor: string | null }> => (await (await ferry.api('GET', `/v1/invocations${q}`)).json()) as never;

test('sync calls are listed newest first with function, version, status, duration and request id', async () => {
  await ferry.deploy('hist', nodeFn("export default (req) => new Response('boom', { status: req.url.endsWith('/fail') ? 500 : 200 });"));
  const ok = await fetch(`${ferry.url}/fn/hist/a`, { headers: { 'x-request-id': 'req-hist-1' } });
  await ok.text();
  const bad = await fetch(`${ferry.url}/fn/hist/fail`, { method: 'POST', body: 'x' });
  await bad.text();
  const r = await until(async () => {
    const l = await list('?function=hist');
    return l.invocations.length >= 2 ? l : undefined;
  });
  assert.ok(r);
  const [newest, older] = r.invocations as [Inv, Inv];
  assert.equal(newest.status, 500);
  assert.equal(newest.method, 'POST');
  assert.equal(newest.path, '/fail');
  assert.equal(older.status, 200);
  assert.equal(older.requestId, 'req-hist-1');
  assert.equal(older.version, 'v1');
  assert.equal(older.kind, 'sync');
  assert.ok(older.durationMs > 0);
  // Ids are hex and a counter: never a leading '-' that a command line would read as an option.
  for (const inv of r.invocations) assert.match(inv.id, /^[0-9a-f]{12}[0-9a-z]{8}$/);
  // Without recordPayloads the detail has no bodies.
  const detail = (await (await ferry.api('GET', `/v1/invocations/${older.id}`)).json()) as Inv;
  assert.equal(detail.request, null);
  assert.equal(detail.response, null);
});

test('recordPayloads keeps request and response bodies, cut at --history-payload-max', async () => {
  await ferry.deploy('echo-hist', nodeFn('export default async (req) => "got:" + (await req.text());', { recordPayloads: true }));
  const res = await fetch(`${ferry.url}/fn/echo-hist`, { method: 'POST', body: 'hello' });
  assert.equal(await res.text(), 'got:hello');
  const big = await fetch(`${ferry.url}/fn/echo-hist`, { method: 'POST', body: 'x'.repeat(100) });
  await big.text();
  const l = await until(async () => {
    const x = await list('?function=echo-hist');
    return x.invocations.length >= 2 ? x : undefined;
  });
  const [last, first] = l!.invocations as [Inv, Inv];
  const d1 = (await (await ferry.api('GET', `/v1/invocations/${first.id}`)).json()) as Inv;
  assert.deepEqual(d1.request, { body: 'hello', encoding: 'utf8' });
  assert.deepEqual(d1.response, { body: 'got:hello', encoding: 'utf8' });
  assert.equal(d1.truncated, false);
  const d2 = (await (await ferry.api('GET', `/v1/invocations/${last.id}`)).json()) as Inv;
  assert.equal(d2.request!.body, 'x'.repeat(16));
  assert.equal(d2.truncated, true);
});

test('the history is bounded per function, pages with a cursor, and is filtered by who may read', async () => {
  await ferry.deploy('many', nodeFn("export default () => 'ok';"));
  for (let i = 0; i < 9; i++) await (await fetch(`${ferry.url}/fn/many`)).text();
  const l = await until(async () => {
    const x = await list('?function=many');
    return x.invocations.length === 5 ? x : undefined;
  });
  assert.ok(l, 'kept 5 of 9 (--history-per-function 5)');
  const p1 = await list('?function=many&limit=3');
  assert.equal(p1.invocations.length, 3);
  assert.ok(p1.nextCursor);
  const p2 = await list(`?function=many&limit=3&cursor=${p1.nextCursor}`);
  assert.equal(p2.invocations.length, 2);
  assert.ok(p2.invocations.every((i) => !p1.invocations.some((j) => j.id === i.id)), 'pages do not overlap');
  await expectProblem(await ferry.api('GET', '/v1/invocations?limit=0'), 400, 'invalid-query');
  // A user who cannot read the functions sees none of their history.
  await ferry.api('POST', '/v1/users', { name: 'outsider', groups: ['permission:read'] });
  const { token } = (await (await ferry.api('POST', '/v1/tokens', { user: 'outsider' })).json()) as { token: string };
  const theirs = (await (await fetch(`${ferry.url}/v1/invocations`, { headers: { authorization: `Bearer ${token}` } })).json()) as { invocations: Inv[] };
  assert.deepEqual(theirs.invocations, []);
  await expectProblem(await fetch(`${ferry.url}/v1/invocations/${p1.invocations[0]!.id}`, { headers: { authorization: `Bearer ${token}` } }), 404, 'invocation-not-found');
});
