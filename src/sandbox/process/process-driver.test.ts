import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { defaultLimits, defaultSandbox, type SandboxProcess } from '../../core/index.js';
import { hostRootfsView } from '../rootfs/index.js';
import { processDriver } from './process-driver.js';

async function run(t: TestContext, script: string, env: Record<string, string> = {}): Promise<{ proc: SandboxProcess; out: () => string; runDir: string }> {
  const runDir = mkdtempSync(join(tmpdir(), 'ferry-pd-'));
  const proc = await processDriver.spawn({ instanceId: 't', argv: ['/bin/sh', '-c', script], env, packageDir: runDir, runDir, cwd: runDir, limits: defaultLimits, sandbox: defaultSandbox, rootfs: [] });
  let out = '';
  proc.child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  t.after(async () => {
    await proc.stop(100);
    rmSync(runDir, { recursive: true, force: true });
  });
  return { proc, out: () => out, runDir };
}

/** Running (a zombie waiting for its reaper counts as gone). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('process driver: not isolated, view unchanged, unenforced limits listed', () => {
  assert.equal(processDriver.name, 'process');
  assert.equal(processDriver.isolated, false);
  assert.deepEqual(processDriver.view({ packageDir: '/p', runDir: '/r' }), { packageDir: '/p', runDir: '/r', channel: { frames: '/r/ferry.sock', http: '/r/http.sock', api: '/r/api.sock' }, rootfs: hostRootfsView });
  assert.ok(processDriver.unenforced().some((l) => l.startsWith('memory')));
});

test('spawn: scrubbed environment (PATH, LANG, HOME=runDir) plus the spec env, cwd', async (t) => {
  process.env.FERRY_TEST_SECRET = 'leak';
  t.after(() => delete process.env.FERRY_TEST_SECRET);
  const { proc, out, runDir } = await run(t, 'env; pwd', { A: 'b' });
  await new Promise((r) => proc.child.once('close', r));
  const env = Object.fromEntries(out().trim().split('\n').slice(0, -1).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  assert.equal(env.A, 'b');
  assert.equal(env.HOME, runDir);
  assert.ok(env.PATH);
  assert.equal(env.FERRY_TEST_SECRET, undefined);
  assert.equal(out().trim().split('\n').at(-1), runDir);
});

test('stop: SIGTERM reaches the whole process group', async (t) => {
  const { proc, out } = await run(t, 'sleep 30 & echo $!; wait');
  await waitFor(() => out().includes('\n'));
  const grandchild = Number(out().trim());
  assert.ok(alive(grandchild));
  await proc.stop(2000);
  await waitFor(() => !alive(grandchild));
});

test('stop: SIGKILL after the grace period when SIGTERM is ignored', async (t) => {
  const { proc, out } = await run(t, "trap '' TERM; echo ready; while true; do sleep 0.05; done");
  await waitFor(() => out().includes('ready'));
  const t0 = Date.now();
  await proc.stop(200);
  const took = Date.now() - t0;
  assert.ok(took >= 150 && took < 3000, `stopped after ${took} ms`);
  assert.equal(proc.child.signalCode, 'SIGKILL');
});

test('stop: resolves at once for a process that already exited; twice is fine', async (t) => {
  const { proc } = await run(t, 'exit 3');
  await new Promise((r) => proc.child.once('exit', r));
  await proc.stop(1000);
  await Promise.all([proc.stop(1000), proc.stop(1000)]);
  assert.equal(proc.child.exitCode, 3);
});

test('spawn: a missing program does not throw in the server; stop resolves', async (t) => {
  const runDir = mkdtempSync(join(tmpdir(), 'ferry-pd-'));
  t.after(() => rmSync(runDir, { recursive: true, force: true }));
  const proc = await processDriver.spawn({ instanceId: 'x', argv: ['/nonexistent/program'], env: {}, packageDir: runDir, runDir, cwd: runDir, limits: defaultLimits, sandbox: defaultSandbox, rootfs: [] });
  await proc.stop(100);
});
