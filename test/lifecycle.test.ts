// The server's life: graceful drain on SIGTERM/SIGINT (in-flight calls finish, streams are cut
// after --drain-timeout, no instance process survives), the request id on every invocation
// answer, and /healthz. Each test that stops a server starts its own.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startFerry, disposeFerry, type Ferry } from './support/ferry.js';
import { Gate } from './support/gate.js';
import { waitFor, within } from './support/wait.js';
import { listInstances, manifest, problemOf } from './support/fn.js';
import { rawRequest, isAnswer } from './support/raw-http.js';
import { procState, processesMentioning } from './support/procs.js';

// Scheduling and lifecycle are the same whatever the driver; these tests read instance pids and
// processes from the host, which only the process driver shows as-is (a sandboxed instance is
// pid 1 of its own namespace). The sandbox itself is tested in escape.test.ts and runtimes.test.ts.
const unsandboxed = ['--driver', 'process', '--unsandboxed'];

let gate: Gate;
/** The server of the tests that do not stop theirs (the x-request-id tests). */
let shared: Ferry;
before(async () => {
  gate = await Gate.start();
  shared = await startFerry({ args: [...unsandboxed, '--max-body', '64kb'] });
});
after(async () => {
  await disposeFerry(shared);
  await gate.close();
});

/** What a request id may look like (the gateway's own rule for keeping a client's). */
const validId = /^[A-Za-z0-9._:-]{1,128}$/;

/** True once the server stopped serving /healthz with 200 (refused, reset or 503). */
async function notHealthy(f: Ferry): Promise<boolean> {
  try {
    const r = await fetch(`${f.url}/healthz`, { signal: AbortSignal.timeout(2000) });
    await r.arrayBuffer();
    return r.status !== 200;
  } catch {
    return true;
  }
}

/** Asserts `pid` is gone: ESRCH from kill(pid, 0). */
function assertGone(pid: number, what: string): void {
  assert.throws(() => process.kill(pid, 0), (err: NodeJS.ErrnoException) => err.code === 'ESRCH', `${what} (pid ${pid}) must not exist after the server exited`);
}

test('SIGTERM: an in-flight call completes (a second SIGTERM does not cut it), the server exits 0, and no instance process is left', { timeout: 45_000 }, async (t) => {
  const ferry = await startFerry({ args: unsandboxed });
  t.after(() => disposeFerry(ferry));
  gate.shut();
  // The instance starts a helper process of its own (a long sleeper whose command line names
  // the data dir): stopping the instance must take it down too.
  const marker = join(ferry.dataDir, 'helper-of-the-instance');
  await ferry.deploy('slow', {
    'ferry.json': manifest({ runtime: 'node', handler: 'index.js', env: { GATE_URL: gate.url, MARKER: marker } }),
    'package.json': '{"type":"module"}',
    'index.js': `
import { spawn } from 'node:child_process';
const helper = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)', process.env.MARKER], { stdio: 'ignore' });
export default async (req) => {
  if (new URL(req.url).searchParams.has('gate')) await (await fetch(process.env.GATE_URL)).text();
  return { pid: process.pid, helper: helper.pid };
};
`,
  });
  const warm = (await (await fetch(`${ferry.url}/fn/slow`)).json()) as { pid: number; helper: number };

  const inFlight = fetch(`${ferry.url}/fn/slow?gate=1`, { signal: AbortSignal.timeout(30_000) });
  await gate.waitForWaiting(1);
  const instances = await listInstances(ferry, 'slow');
  assert.deepEqual(instances.map((i) => [i.pid, i.inFlight]), [[warm.pid, 1]]);
  // Positive control for the /proc scan below: the server and the helper are found now.
  const mentioning = processesMentioning(ferry.dataDir).map((p) => p.pid);
  assert.ok(mentioning.includes(ferry.proc.pid!), 'the scan finds the server by its --data-dir');
  assert.ok(mentioning.includes(warm.helper), "the scan finds the instance's helper");

  const exited = ferry.stop('SIGTERM');
  await waitFor('the server to start draining (healthz no longer 200)', () => notHealthy(ferry));
  assert.equal(ferry.proc.exitCode, null, 'the server waits for the in-flight call');
  // An impatient supervisor signals again: the drain goes on (a default signal action would
  // kill the server here and leave the instance behind).
  ferry.proc.kill('SIGTERM');
  await waitFor('the server to note the second signal', () => ferry.output.some((l) => l.includes('already shutting down')));
  assert.equal(ferry.proc.exitCode, null, 'a second SIGTERM does not end the drain');
  assert.equal(ferry.proc.signalCode, null, 'a second SIGTERM does not kill the server');
  gate.open();
  const res = await inFlight;
  assert.equal(res.status, 200, 'the in-flight call completes during the drain');
  assert.deepEqual(await res.json(), warm);

  assert.equal(await within('the server to exit after SIGTERM', 20_000, exited), 0);
  for (const i of instances) assertGone(i.pid!, `instance ${i.id}`);
  // The helper was in the instance's process group; once it is gone the kernel may need a moment.
  await waitFor(`the instance's helper ${warm.helper} to be dead`, () => {
    const s = procState(warm.helper);
    return s === undefined || s === 'Z';
  }, { timeoutMs: 5000 });
  await waitFor('no process mentioning the data dir', () => processesMentioning(ferry.dataDir).length === 0, { timeoutMs: 5000 }).catch(() => {
    assert.fail(`processes left behind: ${JSON.stringify(processesMentioning(ferry.dataDir))}`);
  });
});

test('SIGINT: the server drains the same way and exits 0', { timeout: 30_000 }, async (t) => {
  const ferry = await startFerry({ args: unsandboxed });
  t.after(() => disposeFerry(ferry));
  await ferry.deploy('hello', {
    'ferry.json': manifest({ runtime: 'python', handler: 'main.py' }),
    'main.py': 'import os\ndef handler(request):\n    return {"pid": os.getpid()}\n',
  });
  const { pid } = (await (await fetch(`${ferry.url}/fn/hello`)).json()) as { pid: number };
  assert.deepEqual((await listInstances(ferry, 'hello')).map((i) => i.pid), [pid]);
  assert.equal(await within('the server to exit after SIGINT', 20_000, ferry.stop('SIGINT')), 0);
  assertGone(pid, 'the python instance');
  assert.deepEqual(processesMentioning(ferry.dataDir), []);
});

test('drain timeout: an SSE stream that never ends is closed after --drain-timeout and the server exits 0', { timeout: 40_000 }, async (t) => {
  const ferry = await startFerry({ args: [...unsandboxed, '--drain-timeout', '1s'] });
  t.after(() => disposeFerry(ferry));
  await ferry.deploy('forever', {
    'ferry.json': manifest({ runtime: 'node', handler: 'index.js' }),
    'package.json': '{"type":"module"}',
    'index.js': `
const enc = new TextEncoder();
export default () => {
  let n = 0;
  let timer;
  return new Response(new ReadableStream({
    start(c) { timer = setInterval(() => c.enqueue(enc.encode('data: ' + (++n) + '\\n\\n')), 200); },
    cancel() { clearInterval(timer); },
  }), { headers: { 'content-type': 'text/event-stream' } });
};
`,
  });
  const res = await fetch(`${ferry.url}/fn/forever`);
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  const first = await within('the first event', 10_000, reader.read());
  assert.ok(!first.done);
  const pids = (await listInstances(ferry, 'forever')).map((i) => i.pid!);
  assert.equal(pids.length, 1);

  const exited = ferry.stop('SIGTERM');
  // Read until the server cuts the stream: it keeps flowing during the drain, then ends.
  let chunksDuringDrain = 0;
  const ended = (async (): Promise<string> => {
    try {
      for (;;) {
        const { done } = await reader.read();
        if (done) return 'ended';
        chunksDuringDrain++;
      }
    } catch {
      return 'cut';
    }
  })();
  assert.match(await within('the open stream to be closed by the drain timeout', 15_000, ended), /ended|cut/);
  assert.ok(chunksDuringDrain >= 1, 'the stream keeps flowing while the server drains (1 s, an event every 200 ms)');
  assert.equal(await within('the server to exit after the drain timeout', 15_000, exited), 0);
  for (const pid of pids) assertGone(pid, 'the streaming instance');
});

test('x-request-id: on every invocation answer, errors included; a valid client id is echoed and reaches the function', { timeout: 45_000 }, async () => {
  const ferry = shared;
  gate.shut();
  const code = `
export default async (req, ctx) => {
  const q = new URL(req.url).searchParams;
  if (q.has('crash')) process.exit(1);
  if (q.has('throw')) throw new Error('boom');
  if (q.has('hang')) await new Promise(() => {});
  if (q.has('gate')) await (await fetch(process.env.GATE_URL)).text();
  return { rid: ctx.requestId };
};
`;
  const files = (extra: Record<string, unknown>): Record<string, string> => ({
    'ferry.json': manifest({ runtime: 'node', handler: 'index.js', env: { GATE_URL: gate.url }, ...extra }),
    'package.json': '{"type":"module"}',
    'index.js': code,
  });
  await ferry.deploy('rid', files({ scaling: { concurrency: 1, maxInstances: 1, maxQueue: 0 } }));
  await ferry.deploy('rid-slow', files({ limits: { timeoutMs: 500 } }));

  const get = (path: string, id?: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${ferry.url}${path}`, { ...init, headers: id === undefined ? {} : { 'x-request-id': id }, signal: AbortSignal.timeout(20_000) });

  // Success, no client id: a fresh valid id, the same one the function saw, a new one per call.
  const a = await get('/fn/rid');
  const b = await get('/fn/rid');
  const idA = a.headers.get('x-request-id');
  assert.ok(idA && validId.test(idA), `generated id ${idA}`);
  assert.deepEqual(await a.json(), { rid: idA }, 'the function sees the id the client gets');
  assert.notEqual(b.headers.get('x-request-id'), idA);
  await b.arrayBuffer();

  // Success, valid client id: echoed and passed to the function.
  const mine = 'client-42.req_7:abc';
  const echoed = await get('/fn/rid', mine);
  assert.equal(echoed.headers.get('x-request-id'), mine);
  assert.deepEqual(await echoed.json(), { rid: mine });

  // Invalid client ids are replaced, not echoed.
  for (const bad of ['has space', 'x'.repeat(129), 'semi;colon', 'slash/y']) {
    const r = await get('/fn/rid', bad);
    const got = r.headers.get('x-request-id');
    assert.ok(got && got !== bad && validId.test(got), `invalid id ${JSON.stringify(bad)} must be replaced, got ${got}`);
    assert.deepEqual(await r.json(), { rid: got });
  }

  // Errors: each with an id, echoing the client's.
  const errorCase = async (what: string, status: number, code: string, res: Promise<Response>, id: string): Promise<void> => {
    const r = await res;
    assert.equal(r.status, status, `${what}: status`);
    assert.equal(r.headers.get('x-request-id'), id, `${what}: x-request-id echoed`);
    assert.equal((await problemOf(r)).code, code, `${what}: code`);
  };
  await errorCase('unknown function', 404, 'function-not-found', get('/fn/nope', 'rid-404'), 'rid-404');
  const noId = await get('/fn/nope');
  assert.ok(validId.test(noId.headers.get('x-request-id') ?? ''), 'a 404 without a client id still gets one');
  await noId.arrayBuffer();
  await errorCase('unknown version or alias', 404, 'alias-not-found', get('/fn/rid@v99', 'rid-404b'), 'rid-404b');
  await errorCase('function error', 500, 'function-error', get('/fn/rid?throw=1', 'rid-500'), 'rid-500');
  await errorCase('instance crash', 502, 'instance-crashed', get('/fn/rid?crash=1', 'rid-502'), 'rid-502');
  await errorCase('timeout', 504, 'invoke-timeout', get('/fn/rid-slow?hang=1', 'rid-504'), 'rid-504');

  // 503: the only instance is busy and nothing may queue.
  const busy = get('/fn/rid?gate=1');
  await gate.waitForWaiting(1);
  await errorCase('queue full', 503, 'queue-full', get('/fn/rid', 'rid-503'), 'rid-503');
  gate.open();
  assert.equal((await busy).status, 200);

  // 413 from the head alone (Content-Length over --max-body).
  const big = await rawRequest(ferry.url, { method: 'POST', path: '/fn/rid', headersOnly: true, headers: { 'content-length': 1024 * 1024, 'x-request-id': 'rid-413' } });
  assert.ok(isAnswer(big), !isAnswer(big) ? big.error.message : '');
  assert.equal(big.status, 413);
  assert.equal(big.headers['x-request-id'], 'rid-413');
  assert.equal((JSON.parse(big.body.toString()) as { code: string }).code, 'body-too-large');
});

test('x-request-id: a refused WebSocket upgrade carries one too, echoing a valid client id', { timeout: 30_000 }, async () => {
  const ferry = shared;
  await ferry.deploy('plain', {
    'ferry.json': manifest({ runtime: 'node', handler: 'index.js' }),
    'package.json': '{"type":"module"}',
    'index.js': 'export default () => "hi";\n',
  });
  const port = new URL(ferry.url).port;
  const refused = (path: string, headers: Record<string, string>): Promise<{ status: number; rid: string | undefined }> =>
    within('the upgrade answer', 15_000, new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers });
      ws.once('open', () => reject(new Error('the upgrade was accepted')));
      ws.once('unexpected-response', (_req, res) => {
        resolve({ status: res.statusCode ?? 0, rid: res.headers['x-request-id'] as string | undefined });
        res.resume();
        ws.terminate();
      });
      ws.once('error', (err) => reject(err));
    }));
  // A node function does not take upgrades; an unknown one does not exist.
  const notHttp = await refused('/fn/plain', {});
  assert.equal(notHttp.status, 405);
  assert.ok(notHttp.rid && validId.test(notHttp.rid), 'a refused upgrade has an x-request-id');
  const unknown = await refused('/fn/nope', {});
  assert.equal(unknown.status, 404);
  assert.ok(unknown.rid);
  // Same rule as plain invocations: a valid client id is kept.
  const kept = await refused('/fn/nope', { 'x-request-id': 'ws-rid-1' });
  assert.equal(kept.rid, 'ws-rid-1', 'a valid x-request-id on an upgrade must be echoed like on any invocation');
});

test('/healthz answers 200 as soon as the server reports listening, and stops once it drains', { timeout: 30_000 }, async (t) => {
  const ferry = await startFerry({ args: unsandboxed });
  t.after(() => disposeFerry(ferry));
  const res = await fetch(`${ferry.url}/healthz`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { status: 'ok' });
  const exited = ferry.stop('SIGTERM');
  assert.equal(await within('the server to exit', 20_000, exited), 0);
  assert.ok(await notHealthy(ferry));
});

test('x-request-id: management answers carry one too (success, errors, no token); a valid client id is echoed', { timeout: 30_000 }, async () => {
  const ferry = shared;
  const answers = [
    await ferry.api('GET', '/v1/functions'),
    await ferry.api('GET', '/v1/no-such-route'),
    await fetch(`${ferry.url}/v1/functions`),
    await fetch(`${ferry.url}/healthz`),
  ];
  for (const res of answers) {
    await res.arrayBuffer();
    assert.match(res.headers.get('x-request-id') ?? '', validId, `${res.url} ${res.status}`);
  }
  assert.deepEqual(answers.map((r) => r.status), [200, 404, 401, 200]);
  const ids = new Set(answers.map((r) => r.headers.get('x-request-id')));
  assert.equal(ids.size, answers.length, 'each answer has its own id');
  const echoed = await ferry.api('GET', '/v1/functions', undefined, { 'x-request-id': 'ticket-4711' });
  assert.equal(echoed.headers.get('x-request-id'), 'ticket-4711');
  const replaced = await ferry.api('GET', '/v1/functions', undefined, { 'x-request-id': 'no spaces <allowed>' });
  assert.match(replaced.headers.get('x-request-id') ?? '', validId);
  assert.notEqual(replaced.headers.get('x-request-id'), 'no spaces <allowed>');
});
