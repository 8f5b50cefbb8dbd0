// The pool's bookkeeping with a stand-in driver and runtime: real child processes as "sandboxes",
// no bwrap (the real thing is in test/pool.test.ts).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { defaultExecutionSettings, defaultLimits, defaultPrivacySettings, defaultSandbox, defaultScaling, type Connector, type DeployTarget, type Runtime, type SandboxDriver, type SandboxProcess } from '../core/index.js';
import { poolable, PrestartPool } from './prestart-pool.js';
import { hostRootfsView } from '../sandbox/rootfs/index.js';

const alive = (c: ChildProcess): boolean => c.exitCode === null && c.signalCode === null;

function fakeProcess(): SandboxProcess {
  const child = spawn('sleep', ['60'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, dial: () => Promise.reject(new Error('not used')), stop: async () => void (child.kill('SIGKILL'), await exited) };
}

const connector = (): Connector => ({ lost: false, ready: async () => {}, load: async () => {}, dispatch: async () => {}, close() {} });

const runtime = (name: 'node' | 'python', extra: Partial<Runtime> = {}): Runtime => ({
  name,
  validate() {},
  build: async () => {},
  launch: () => assert.fail('not used'),
  connect: connector,
  pooledLaunch: () => ({ argv: ['x'], env: {}, cwd: '/pkg', rootfs: [], channel: 'frames' }),
  load: () => ({ handler: 'h', env: {}, cwd: '/pkg' }),
  ...extra,
});

function setup(t: TestContext, prestart: () => Promise<SandboxProcess>, runtimes = [runtime('node'), runtime('python')], size = 2) {
  const runRoot = mkdtempSync(join(tmpdir(), 'ferry-pool-'));
  const started: SandboxProcess[] = [];
  const logs: string[] = [];
  const driver: SandboxDriver = {
    name: 'fake', isolated: true, unenforced: () => [], spawn: () => assert.fail('not used'),
    view: () => ({ packageDir: '/pkg', runDir: '/run/ferry', channel: { frames: '/run/ferry/ferry.sock', http: '/run/ferry/http.sock', api: '/run/ferry/api.sock' }, rootfs: hostRootfsView }),
    prestart: async () => {
      const p = await prestart();
      started.push(p);
      return p;
    },
  };
  const pool = new PrestartPool({ driver, runtimes, size, runRoot, pidDir: join(runRoot, 'pids'), log: (_l, m) => logs.push(m), stopGraceMs: 100 });
  t.after(async () => {
    await pool.shutdown(100);
    rmSync(runRoot, { recursive: true, force: true });
  });
  return { pool, started, logs };
}

const target = (rt: Runtime, config: Partial<DeployTarget['config']> = {}): DeployTarget => ({
  function: 'f', version: 'v1', revision: 'r', runtime: rt.name, packageSha: '0'.repeat(64),
  config: { runtime: rt.name, handler: 'h', command: undefined, env: {}, secrets: [], ...defaultExecutionSettings, ...defaultPrivacySettings, recordPayloads: false, scaling: defaultScaling, limits: defaultLimits, invoke: 'public', sandbox: defaultSandbox, ...config },
});

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) assert.fail(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const ready = (pool: PrestartPool, rt: string): number => pool.status().runtimes.find((r) => r.runtime === rt)!.ready;

test('poolable: only the default policy and /tmp size, and a runtime that agrees', () => {
  const rt = runtime('node');
  assert.equal(poolable(target(rt), rt), true);
  assert.equal(poolable(target(rt, { limits: { ...defaultLimits, memoryMb: 64, cpu: 0.5, pids: 10 } }), rt), true, 'limits are set at hand-off');
  assert.equal(poolable(target(rt, { sandbox: { ...defaultSandbox, network: 'none' } }), rt), false);
  assert.equal(poolable(target(rt, { sandbox: { ...defaultSandbox, roBinds: { '/usr/share': '/data' } } }), rt), false);
  assert.equal(poolable(target(rt, { sandbox: { ...defaultSandbox, seccomp: { mode: 'deny', syscalls: ['socket'] } } }), rt), false);
  assert.equal(poolable(target(rt, { sandbox: { ...defaultSandbox, mountProc: false } }), rt), false);
  assert.equal(poolable(target(rt, { limits: { ...defaultLimits, tmpMb: 128 } }), rt), false);
  const refusing = runtime('node', { poolable: () => false });
  assert.equal(poolable(target(refusing), refusing), false);
});

/** Starts the pool with a version of each runtime in `rts` deployed. */
function startFor(pool: PrestartPool, ...rts: Runtime[]): void {
  for (const rt of rts) pool.expect(target(rt));
  pool.start();
}

test('a runtime fills only once a version its sandboxes can serve is expected, before or after the start', async (t) => {
  const node = runtime('node');
  const python = runtime('python');
  const { pool, started } = setup(t, async () => fakeProcess(), [node, python], 1);
  pool.expect(target(node));
  // Not yet started: nothing starts, whatever is expected.
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(started.length, 0);
  pool.start();
  await until('node full', () => ready(pool, 'node') === 1);
  assert.deepEqual(pool.status().runtimes.map((r) => [r.runtime, r.active, r.ready, r.starting]), [['node', true, 1, 0], ['python', false, 0, 0]]);
  // A python version the pool could not serve (its own network policy) leaves python idle.
  pool.expect(target(python, { sandbox: { ...defaultSandbox, network: 'none' } }));
  pool.expect(target(node));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(started.length, 1, 'no python sandbox, and no second node one');
  pool.expect(target(python));
  await until('python full', () => ready(pool, 'python') === 1);
  assert.equal(started.length, 2);
});

test('fills to its size per runtime; a take is replaced shortly after, never handed out twice', async (t) => {
  const { pool, started } = setup(t, async () => fakeProcess());
  startFor(pool, runtime('node'), runtime('python'));
  await until('full', () => ready(pool, 'node') === 2 && ready(pool, 'python') === 2);
  assert.equal(pool.status().runtimes.find((r) => r.runtime === 'node')!.pids.length, 2);
  // A target names its runtime; the lane of that name serves it.
  const lane = runtime('node');
  const a = pool.take(target(lane))!;
  const b = pool.take(target(lane))!;
  assert.ok(a && b && a.id !== b.id && a.proc !== b.proc);
  assert.equal(pool.take(target(lane)), undefined, 'empty until refilled');
  assert.equal(pool.take(target(lane, { sandbox: { ...defaultSandbox, network: 'none' } })), undefined);
  await until('refilled', () => ready(pool, 'node') === 2);
  const c = pool.take(target(lane))!;
  assert.ok(![a.id, b.id].includes(c.id));
  assert.equal(started.length, 6);
  assert.ok(alive(a.proc.child), 'a taken sandbox belongs to the scheduler now: the pool leaves it running');
  await a.proc.stop(100);
  await b.proc.stop(100);
  await c.proc.stop(100);
});

test('a waiting sandbox that dies is replaced, and the log says so', async (t) => {
  const { pool, started, logs } = setup(t, async () => fakeProcess(), [runtime('node')], 1);
  startFor(pool, runtime('node'));
  await until('full', () => ready(pool, 'node') === 1);
  started[0]!.child.kill('SIGKILL');
  await until('replaced', () => started.length === 2 && ready(pool, 'node') === 1);
  assert.ok(logs.some((l) => /waiting pooled node sandbox exited/.test(l)), logs.join('\n'));
});

test('failing starts back off instead of looping; shutdown stops everything', async (t) => {
  let attempts = 0;
  const { pool, logs } = setup(t, async () => {
    attempts++;
    throw new Error('no sandbox for you');
  }, [runtime('node')], 1);
  startFor(pool, runtime('node'));
  await new Promise((r) => setTimeout(r, 600));
  assert.ok(attempts >= 2 && attempts <= 4, `${attempts} attempts in 600 ms`);
  assert.ok(logs.some((l) => l.includes('could not start: no sandbox for you')));
  await pool.shutdown(100);
  const after = attempts;
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(attempts, after, 'no start after shutdown');
});

test('shutdown stops the waiting sandboxes', async (t) => {
  const { pool, started } = setup(t, async () => fakeProcess(), [runtime('python')], 2);
  startFor(pool, runtime('python'));
  await until('full', () => ready(pool, 'python') === 2);
  await pool.shutdown(100);
  assert.ok(started.every((p) => !alive(p.child)));
  assert.equal(ready(pool, 'python'), 0);
});
