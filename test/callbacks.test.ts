/**
 * Callbacks against a real receiver on 127.0.0.1 (allowed with --callback-allow): the body, the
 * task token and the signature; retries against a failing receiver; the outcome recorded on the
 * execution; addresses the operator did not allow are refused.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { once } from 'node:events';
import { startFerry, disposeFerry, type Ferry } from './support/ferry.js';
import { expectProblem, nodeFn } from './support/helpers.js';
import { waitFor } from './support/wait.js';

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

let ferry: Ferry;
let receiver: http.Server;
let base = '';
const received: Received[] = [];

before(async () => {
  let flaky = 0;
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() });
      if (req.url === '/flaky') res.writeHead(++flaky <= 2 ? 500 : 200).end();
      else if (req.url === '/down') res.writeHead(503).end();
      else res.writeHead(204).end();
    });
  });
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  base = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
  ferry = await startFerry({ args: ['--driver', 'process', '--unsandboxed', '--callback-allow', '127.0.0.1'] });
  await ferry.deploy('greet', nodeFn(`export default async (req) => 'hello ' + (await req.text());\n`));
  await ferry.deploy('sleepy', nodeFn(`export default () => new Promise((r) => setTimeout(() => r('done'), 1500));\n`, { maxConcurrentExecutions: 1 }));
});
after(async () => {
  await disposeFerry(ferry);
  receiver.close();
});

async function submit(fn: string, path: string, token: string, body = 'world'): Promise<string> {
  const res = await fetch(`${ferry.url}/fn/${fn}`, { method: 'POST', body, headers: { prefer: 'respond-async', 'x-callback-url': base + path, 'x-task-token': token } });
  const text = await res.text();
  assert.equal(res.status, 202, text);
  return (JSON.parse(text) as { id: string }).id;
}

async function callbackKey(fn: string): Promise<string> {
  const res = await ferry.api('GET', `/v1/functions/${fn}/callback-key`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { key: string }).key;
}

/** What a receiver does: recompute the HMAC of "<t>.<body>" and compare in constant time. */
function verify(key: string, header: string | undefined, body: string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return false;
  if (Math.abs(Date.now() / 1000 - Number(m[1])) > 300) return false;
  const want = createHmac('sha256', key).update(`${m[1]}.${body}`).digest();
  return timingSafeEqual(want, Buffer.from(m[2]!, 'hex'));
}

async function execution(id: string): Promise<{ status: string; callback: { url: string; state: string; attempts: number; lastStatus: number | null; lastError: string | null } }> {
  return (await (await ferry.api('GET', `/v1/executions/${id}?logs=0`)).json()) as never;
}

test('the end of an execution is POSTed to the callback, signed, with the task token and the output', async () => {
  const id = await submit('greet', '/ok', 'task-42');
  const got = await waitFor('the callback', () => received.find((r) => JSON.parse(r.body).id === id));
  assert.equal(got.headers['content-type'], 'application/json');
  assert.equal(got.headers['ferry-execution-id'], id);
  assert.deepEqual(JSON.parse(got.body), { id, status: 'succeeded', output: 'hello world', 'task-token': 'task-42' });
  const key = await callbackKey('greet');
  assert.ok(verify(key, got.headers['ferry-signature'] as string, got.body), `signature ${String(got.headers['ferry-signature'])} does not verify`);
  assert.ok(!verify(key, got.headers['ferry-signature'] as string, got.body.replace('world', 'World')), 'a changed body must not verify');
  assert.ok(!verify(await callbackKey('sleepy'), got.headers['ferry-signature'] as string, got.body), 'another function has another key');
  const e = await waitFor('the outcome to be recorded', async () => {
    const x = await execution(id);
    return x.callback.state === 'delivered' ? x : undefined;
  });
  assert.deepEqual({ state: e.callback.state, attempts: e.callback.attempts, lastStatus: e.callback.lastStatus }, { state: 'delivered', attempts: 1, lastStatus: 204 });
});

test('a failing receiver sees retries with back-off; the outcome is recorded', async () => {
  const id = await submit('greet', '/flaky', 'flaky-token');
  const e = await waitFor('delivery after two failures', async () => {
    const x = await execution(id);
    return x.callback.state === 'delivered' ? x : undefined;
  }, { timeoutMs: 15_000 });
  assert.equal(e.callback.attempts, 3);
  const tries = received.filter((r) => r.path === '/flaky');
  assert.equal(tries.length, 3);
  const key = await callbackKey('greet');
  for (const r of tries) assert.ok(verify(key, r.headers['ferry-signature'] as string, r.body));

  const down = await submit('greet', '/down', 'down-token');
  const failed = await waitFor('the callback to be given up', async () => {
    const x = await execution(down);
    return x.callback.state === 'failed' ? x : undefined;
  }, { timeoutMs: 20_000 });
  assert.equal(failed.callback.attempts, 5);
  assert.equal(failed.callback.lastStatus, 503);
  assert.equal(received.filter((r) => r.path === '/down').length, 5);
});

test('a cancelled execution is reported too, with no output', async () => {
  await submit('sleepy', '/ok', 'first');
  const queued = await submit('sleepy', '/ok', 'cancel-me');
  const del = await ferry.api('DELETE', `/v1/executions/${queued}`);
  assert.equal(del.status, 200);
  const got = await waitFor('the callback of the cancelled one', () => received.find((r) => JSON.parse(r.body).id === queued));
  assert.deepEqual(JSON.parse(got.body), { id: queued, status: 'cancelled', output: null, 'task-token': 'cancel-me' });
});

test('only the allowed loopback address: other loopback and private addresses are refused', async () => {
  for (const url of ['http://127.0.0.2:9/', 'http://10.1.2.3/', 'http://[::1]:9/', 'http://192.168.1.1/', 'http://169.254.169.254/latest']) {
    const res = await fetch(`${ferry.url}/fn/greet`, { method: 'POST', headers: { prefer: 'respond-async', 'x-callback-url': url } });
    await expectProblem(res, 422, 'callback-refused', url);
  }
});

test('--callback-attempts and --callback-timeout: a receiver that never answers is given up after the tries the operator set', async (t) => {
  const hanging = http.createServer(() => {
    /* never answers */
  });
  hanging.listen(0, '127.0.0.1');
  await once(hanging, 'listening');
  t.after(() => hanging.close());
  hanging.on('connection', (s) => t.after(() => s.destroy()));
  const own = await startFerry({ args: ['--driver', 'process', '--unsandboxed', '--callback-allow', '127.0.0.1', '--callback-attempts', '2', '--callback-timeout', '300ms'] });
  t.after(() => disposeFerry(own));
  await own.deploy('greet', nodeFn(`export default async (req) => 'hello ' + (await req.text());\n`));
  const url = `http://127.0.0.1:${(hanging.address() as { port: number }).port}/hook`;
  const res = await fetch(`${own.url}/fn/greet`, { method: 'POST', body: 'x', headers: { prefer: 'respond-async', 'x-callback-url': url } });
  assert.equal(res.status, 202);
  const { id } = (await res.json()) as { id: string };
  const failed = await waitFor('the callback to be given up', async () => {
    const x = (await (await own.api('GET', `/v1/executions/${id}?logs=0`)).json()) as Awaited<ReturnType<typeof execution>>;
    return x.callback.state === 'failed' ? x : undefined;
  }, { timeoutMs: 15_000 });
  assert.equal(failed.callback.attempts, 2);
  assert.match(failed.callback.lastError ?? '', /time/i);
});
