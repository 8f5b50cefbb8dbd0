import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { FerryError } from '../../errors/index.js';
import { defaultExecutionSettings, defaultPrivacySettings } from '../../core/index.js';
import { startInstance, tempDir } from '../../../test/support/runtime-harness.js';
import { pythonRuntime } from './python-runtime.js';
import { runDirAddresses } from '../../sandbox/socket-channel/index.js';
import { hostRootfsView } from '../../sandbox/rootfs/index.js';

const handlerPy = `
import asyncio, threading, time
from helper import shout

# /slow answers once 16 calls are in the handler at once (the shim's 16 threads): calls run one
# by one would answer 'serial' after the hang guard instead.
slow_in = 0
slow_lock = threading.Lock()
all_in = threading.Event()

def handler(req):
    p = req.path
    if p == '/str':
        return 'hello'
    if p == '/dict':
        return {'q': req.query, 'all': req.query_list, 'x': req.headers.get('x-test'), 'rid': req.request_id}
    if p == '/bytes':
        return b'\\x00\\x01\\xff'
    if p == '/tuple':
        return (201, {'X-Custom': 'yes', 'Set-Cookie': ['a=1', 'b=2']}, {'created': True})
    if p == '/echo':
        return {'got': req.json(), 'method': req.method, 'text': req.text()}
    if p == '/none':
        return None
    if p == '/boom':
        raise ValueError('boom here')
    if p == '/print':
        print('hello from', req.request_id)
        print('partial', end='')
        return shout('printed')
    if p == '/big':
        return b'x' * 20_000_000
    if p == '/slow':
        global slow_in
        with slow_lock:
            slow_in += 1
            if slow_in >= 16:
                all_in.set()
        return 'slow' if all_in.wait(60) else 'serial'
    return (404, {}, 'no such path ' + p)
`;

function pkg(t: TestContext, files: Record<string, string>): string {
  const dir = tempDir(t, 'ferry-py-');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

test('validate: handler is required, relative and without ..', () => {
  assert.throws(() => pythonRuntime.validate({ runtime: 'python' }), (e: unknown) => e instanceof FerryError && e.code === 'invalid-manifest');
  for (const handler of ['/abs/main.py', '../main.py', 'a/../../main.py', 'main.py:not-a-name']) {
    assert.throws(() => pythonRuntime.validate({ runtime: 'python', handler }), FerryError, handler);
  }
  pythonRuntime.validate({ runtime: 'python', handler: 'src/main.py:run' });
});

test('build: the handler file must exist; requirements.txt is left to the dependency build', async (t) => {
  const dir = pkg(t, { 'main.py': 'def handler(r): return "x"\n', 'requirements.txt': 'requests\n' });
  const lines: string[] = [];
  await pythonRuntime.build({ dir, manifest: { runtime: 'python', handler: 'main.py' }, log: (l) => lines.push(l) });
  assert.deepEqual(lines, ['python: no build step']);
  await assert.rejects(pythonRuntime.build({ dir, manifest: { runtime: 'python', handler: 'other.py' }, log() {} }), FerryError);
});

test('python instance: return types, request fields, errors, logs, concurrency', async (t) => {
  const dir = pkg(t, { 'main.py': handlerPy, 'helper.py': 'def shout(s):\n    return s.upper()\n' });
  const inst = await startInstance(t, pythonRuntime, dir, { handler: 'main.py' });

  await t.test('str -> 200 text/plain', async () => {
    const r = await fetch(`${inst.url}/str`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(r.headers.get('content-length'), '5');
    assert.equal(await r.text(), 'hello');
  });

  await t.test('dict -> JSON, with query and headers', async () => {
    const r = await fetch(`${inst.url}/dict?a=1&b=2&a=3&e=`, { headers: { 'X-Test': 'abc' } });
    assert.equal(r.headers.get('content-type'), 'application/json');
    const body = await r.json();
    assert.deepEqual(body.q, { a: '1', b: '2', e: '' });
    assert.deepEqual(body.all, { a: ['1', '3'], b: ['2'], e: [''] });
    assert.equal(body.x, 'abc');
    assert.equal(body.rid, r.headers.get('x-request-id'));
  });

  await t.test('bytes -> application/octet-stream', async () => {
    const r = await fetch(`${inst.url}/bytes`);
    assert.equal(r.headers.get('content-type'), 'application/octet-stream');
    assert.deepEqual([...new Uint8Array(await r.arrayBuffer())], [0, 1, 255]);
  });

  await t.test('tuple -> status, headers (repeated), JSON body', async () => {
    const r = await fetch(`${inst.url}/tuple`);
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('x-custom'), 'yes');
    assert.deepEqual(r.headers.getSetCookie(), ['a=1', 'b=2']);
    assert.deepEqual(await r.json(), { created: true });
  });

  await t.test('None -> 204', async () => {
    const r = await fetch(`${inst.url}/none`);
    assert.equal(r.status, 204);
    assert.equal(await r.text(), '');
  });

  await t.test('POST body through request.json()', async () => {
    const big = 'x'.repeat(300_000); // several DATA frames
    const r = await fetch(`${inst.url}/echo`, { method: 'POST', body: JSON.stringify({ hi: 'there', big }), headers: { 'content-type': 'application/json' } });
    const body = await r.json();
    assert.equal(body.method, 'POST');
    assert.equal(body.got.hi, 'there');
    assert.equal(body.got.big.length, 300_000);
  });

  await t.test('exception -> function-error, traceback on stderr with the request prefix', async () => {
    const r = await fetch(`${inst.url}/boom`);
    assert.equal(r.status, 500);
    assert.equal(r.headers.get('x-error-code'), 'function-error');
    assert.match(await r.text(), /ValueError: boom here/);
    const id = r.headers.get('x-request-id')!;
    await waitFor(() => inst.stderr().includes(`\x1e${id}\x1fValueError: boom here\n`));
    assert.ok(inst.stderr().includes(`\x1e${id}\x1fTraceback (most recent call last):\n`));
  });

  await t.test('print() inside the handler carries the request prefix', async () => {
    const r = await fetch(`${inst.url}/print`);
    assert.equal(await r.text(), 'PRINTED');
    const id = r.headers.get('x-request-id')!;
    await waitFor(() => inst.stdout().includes(`\x1e${id}\x1fpartial\n`));
    assert.ok(inst.stdout().includes(`\x1e${id}\x1fhello from ${id}\n`));
  });

  await t.test('a body above one frame goes as RESPONSE + DATA frames', async () => {
    const r = await fetch(`${inst.url}/big`);
    assert.equal((await r.arrayBuffer()).byteLength, 20_000_000);
  });

  await t.test('20 concurrent calls run in parallel', async () => {
    const all = await Promise.all(Array.from({ length: 20 }, () => fetch(`${inst.url}/slow`).then((r) => r.text())));
    assert.deepEqual(all, Array(20).fill('slow'));
  });
});

const asyncPy = `
import asyncio
async def run(req):
    if req.path == '/hang':
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            print('cancelled')
            raise
    await asyncio.sleep(0.01)
    print('async log')
    return {'path': req.path}
`;

test('async def handlers (cancellable), tinyFaaS-style fn(str), SIGTERM exits 0', async (t) => {
  const dir = pkg(t, { 'a.py': asyncPy, 'tiny.py': 'def fn(s):\n    return s[::-1]\n' });
  const a = await startInstance(t, pythonRuntime, dir, { handler: 'a.py:run' }, { timeoutMs: 300 });
  const r = await fetch(`${a.url}/x/y?z=1`);
  assert.deepEqual(await r.json(), { path: '/x/y' });
  const id = r.headers.get('x-request-id')!;
  await waitFor(() => a.stdout().includes(`\x1e${id}\x1fasync log\n`));

  const hung = await fetch(`${a.url}/hang`);
  assert.equal(hung.status, 504);
  const hungId = hung.headers.get('x-request-id')!;
  await waitFor(() => a.stdout().includes(`\x1e${hungId}\x1fcancelled\n`));

  // A client that goes away cancels the call too.
  const before = a.stdout().split('cancelled').length;
  const ac = new AbortController();
  const gone = fetch(`${a.url}/hang`, { signal: ac.signal });
  await new Promise((resolve) => setTimeout(resolve, 50));
  ac.abort();
  await assert.rejects(gone);
  await waitFor(() => a.stdout().split('cancelled').length > before);
  await a.process.stop(2000);
  assert.equal(await a.exited, 0);

  const tiny = await startInstance(t, pythonRuntime, dir, { handler: 'tiny.py' });
  const r2 = await fetch(tiny.url, { method: 'POST', body: 'abc' });
  assert.equal(await r2.text(), 'cba');
});

test('a handler that fails to load exits 78 with the traceback', async (t) => {
  const dir = pkg(t, { 'bad.py': 'import does_not_exist_anywhere\n' });
  const inst = await startInstance(t, pythonRuntime, dir, { handler: 'bad.py' }, { waitReady: false });
  assert.equal(await inst.exited, 78);
  assert.match(inst.stderr(), /ModuleNotFoundError: No module named 'does_not_exist_anywhere'/);
  assert.match(inst.stderr(), /Traceback/);
});

async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('poolable: not when the environment sets what the interpreter reads only at start', () => {
  const config = { runtime: 'python' as const, handler: 'main.py', command: undefined, env: {}, secrets: [], ...defaultExecutionSettings, ...defaultPrivacySettings, recordPayloads: false, scaling: { concurrency: 4, minInstances: 0, maxInstances: 1, idleTimeoutMs: 1000, maxQueue: 1 }, limits: { timeoutMs: 1000, memoryMb: 64, cpu: 1, pids: 64, tmpMb: 64 }, invoke: 'public' as const, sandbox: { network: 'egress' as const, seccomp: undefined, roBinds: {}, mountProc: true, mountDev: true, mountTmp: true } };
  assert.equal(pythonRuntime.poolable!({ ...config, env: { API_KEY: 'x' } }), true);
  for (const name of ['PYTHONPATH', 'PYTHONHASHSEED', 'LD_LIBRARY_PATH', 'LANG', 'LC_CTYPE', 'TZ']) {
    assert.equal(pythonRuntime.poolable!({ ...config, env: { [name]: 'x' } }), false, name);
  }
  const plan = pythonRuntime.pooledLaunch!({ instanceId: 'p', view: { packageDir: '/pkg', runDir: '/run/ferry', channel: runDirAddresses('/run/ferry'), rootfs: hostRootfsView } });
  assert.equal(plan.env.FERRY_POOLED, '1');
  assert.equal(plan.env.FERRY_HANDLER, undefined);
  const load = pythonRuntime.load!({ instanceId: 'p', view: { packageDir: '/pkg', runDir: '/run/ferry', channel: runDirAddresses('/run/ferry'), rootfs: hostRootfsView }, config, env: { A: '1' }, port: 0, networkIsolated: true });
  assert.equal(load.handler, '/pkg/main.py:handler');
  assert.equal(load.env.FERRY_CONCURRENCY, '4');
  assert.equal(load.env.A, '1');
  assert.equal(load.cwd, '/pkg');
});

test('pooled shim: LOAD brings the handler, environment, directory and concurrency', async (t) => {
  const dir = pkg(t, {
    'main.py': 'import os, threading\nfrom helper import shout\ndef handler(req):\n    return {"x": os.environ.get("X"), "pooled": os.environ.get("FERRY_POOLED"), "cwd": os.getcwd(), "thread": threading.current_thread().name, "own": shout("a")}\n',
    'helper.py': 'def shout(s):\n    return s.upper()\n',
  });
  const inst = await startInstance(t, pythonRuntime, dir, { handler: 'main.py', env: { X: 'from-load' } }, { pooled: true });
  const body = (await (await fetch(inst.url)).json()) as Record<string, string | null>;
  assert.deepEqual({ ...body, thread: undefined }, { x: 'from-load', pooled: null, cwd: dir, own: 'A', thread: undefined });
  assert.match(body.thread!, /^ferry-handler/);
});

test('pooled shim: a handler that does not load fails the LOAD with the reason, and the shim exits 78', async (t) => {
  const dir = pkg(t, { 'main.py': 'raise RuntimeError("pooled py boom")\n' });
  const inst = await startInstance(t, pythonRuntime, dir, { handler: 'main.py' }, { pooled: true, waitReady: false });
  const ac = new AbortController();
  await inst.connector.ready(ac.signal);
  await assert.rejects(inst.connector.load!({ handler: join(dir, 'main.py'), env: {}, cwd: dir }, ac.signal), (e: unknown) => {
    assert.ok(e instanceof FerryError && e.code === 'instance-start-failed');
    assert.match(e.message, /RuntimeError: pooled py boom/);
    return true;
  });
  assert.equal(await inst.exited, 78);
  assert.match(inst.stderr(), /pooled py boom/);
});

test('handler threads: one that cannot start (at limits.pids) queues the call for a running thread, or fails that call alone', async () => {
  // The real _ferry_workers under the real interpreter, with Thread.start failing as it does when
  // the instance's process limit is reached (a handler that forked up to it).
  const script = `
import sys, threading, time
sys.path.insert(0, ${JSON.stringify(new URL('.', import.meta.url).pathname)})
from _ferry_workers import Workers
real_start = threading.Thread.start
fail = [False]
def start(self):
    if fail[0]:
        raise RuntimeError("can't start new thread")
    real_start(self)
threading.Thread.start = start
done = []
w = Workers(4)
try:
    fail[0] = True
    w.submit(done.append, 'first')
    print('submitted with no thread')
except RuntimeError as e:
    print('refused:', e, 'threads', w.threads, 'pending', w.pending)
fail[0] = False
gate = threading.Event()
w.submit(gate.wait)
fail[0] = True
w.submit(done.append, 'queued')
print('threads', w.threads)
gate.set()
for _ in range(500):
    if done: break
    time.sleep(0.01)
print('done', done, 'pending', w.pending)
`;
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync('python3', ['-c', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ["refused: can't start new thread threads 0 pending 0", 'threads 1', "done ['queued'] pending 0"]);
});
