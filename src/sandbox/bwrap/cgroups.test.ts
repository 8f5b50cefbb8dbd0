// Cgroup limits on this host's real cgroups, with real processes started through the helper.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { FerryError } from '../../errors/index.js';
import { detectCgroups, type CgroupController, type CgroupHost } from './cgroups.js';
import { helperAvailable, helperExecArgv } from './helper.js';

import { mustWork, need } from '../../../test/support/must-work.js';

// A scope of our own: these tests never touch the cgroups of a server running on this host.
const scope = `test-${process.pid}`;
const host = detectCgroups({ scope });
// The scope directories themselves stay after cleanupStale (a server keeps its own); ours go.
after(() => {
  for (const s of [scope, `${scope}-stale`]) {
    for (const c of Object.values(host.controllers)) {
      try {
        if (c.base) rmdirSync(join(c.base, 'ferry', s));
      } catch {
        /* never made, or shared with another hierarchy's entry */
      }
    }
  }
});
let seq = 0;
const id = (): string => `t${++seq}${Math.random().toString(36).slice(2, 8)}`;

function ready(t: TestContext, ...controllers: CgroupController[]): boolean {
  if (!need(t, helperAvailable(), 'the sandbox helper is not built (node scripts/build-native.mjs)')) return false;
  return controllers.every((c) => need(t, host.controllers[c].enforceable, `no writable ${c} cgroup here: ${host.controllers[c].detail}`));
}

// The real interpreter, not a pyenv shell shim (whose extra processes would blur the counts).
const python = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout?.trim() ?? '';

function runIn(dirs: string[], argv: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(helperExecArgv({ cgroups: dirs }, argv)[0]!, helperExecArgv({ cgroups: dirs }, argv).slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, out: out.trim(), err: err.trim() }));
  });
}

const cleanup = (t: TestContext, h: CgroupHost = host): void => {
  t.after(async () => {
    await h.cleanupStale();
  });
};

test('detect: every controller is reported with how it would be used', () => {
  for (const c of ['memory', 'cpu', 'pids'] as const) {
    const s = host.controllers[c];
    assert.equal(typeof s.enforceable, 'boolean');
    assert.ok(s.detail.length > 0);
    if (s.enforceable) assert.ok(s.base && existsSync(s.base), `${c}: ${s.base}`);
  }
  assert.deepEqual(host.unenforced(), (['memory', 'cpu', 'pids'] as const).filter((c) => !host.controllers[c].enforceable));
  assert.throws(() => detectCgroups({ scope: '../escape' }), /scope/);
});

test('memory: a process allocating past memoryMb is OOM-killed and reported', async (t) => {
  if (!ready(t, 'memory') || !need(t, !!python, 'python3 is not installed')) return;
  cleanup(t);
  const cg = await host.create(id(), { memoryMb: 32 });
  assert.equal(cg.dirs.length, 1);
  if (host.controllers.memory.version === 1) assert.equal(readFileSync(join(cg.dirs[0]!, 'memory.limit_in_bytes'), 'utf8').trim(), String(32 * 1024 * 1024));
  assert.equal(await cg.oomKilled(), false);
  const r = await runIn(cg.dirs, [python, '-c', 'x = b"x" * (200 * 1024 * 1024); print("survived")']);
  assert.equal(r.signal, 'SIGKILL', `${r.code} ${r.out} ${r.err}`);
  assert.notEqual(r.out, 'survived');
  assert.equal(await cg.oomKilled(), true);
  await cg.remove();
  assert.equal(existsSync(cg.dirs[0]!), false);
  assert.equal(await cg.oomKilled(), true, 'still known after the cgroup is gone');
});

test('memory: a process within its limit is not reported as OOM', async (t) => {
  if (!ready(t, 'memory') || !need(t, !!python, 'python3 is not installed')) return;
  cleanup(t);
  const cg = await host.create(id(), { memoryMb: 64 });
  const r = await runIn(cg.dirs, [python, '-c', 'x = b"x" * (8 * 1024 * 1024); print("ok")']);
  assert.equal(r.out, 'ok');
  assert.equal(await cg.oomKilled(), false);
  await cg.remove();
});

test('pids: forking stops at pids.max', async (t) => {
  if (!ready(t, 'pids') || !need(t, !!python, 'python3 is not installed')) return;
  cleanup(t);
  const cg = await host.create(id(), { pids: 20 });
  const script = [
    'import os, time, signal',
    'kids = []',
    'try:',
    '    for i in range(100):',
    '        pid = os.fork()',
    '        if pid == 0:',
    '            time.sleep(30); os._exit(0)',
    '        kids.append(pid)',
    'except OSError as e:',
    '    print(len(kids), e.errno)',
    'for k in kids: os.kill(k, signal.SIGKILL)',
  ].join('\n');
  const r = await runIn(cg.dirs, [python, '-c', script]);
  const [forked, errno] = r.out.split(' ').map(Number);
  assert.equal(errno, 11, `EAGAIN expected: ${r.out} ${r.err}`);
  assert.ok(forked! < 20 && forked! >= 10, `forked ${forked}`);
  await cg.remove();
  assert.equal(existsSync(cg.dirs[0]!), false);
});

test('cpu: the quota is applied and throttles a busy loop', async (t) => {
  if (!ready(t, 'cpu') || !need(t, !!python, 'python3 is not installed')) return;
  cleanup(t);
  const cg = await host.create(id(), { cpu: 0.2 });
  const dir = cg.dirs[0]!;
  if (host.controllers.cpu.version === 1) {
    assert.equal(readFileSync(join(dir, 'cpu.cfs_quota_us'), 'utf8').trim(), '20000');
    assert.equal(readFileSync(join(dir, 'cpu.cfs_period_us'), 'utf8').trim(), '100000');
  } else {
    assert.equal(readFileSync(join(dir, 'cpu.max'), 'utf8').trim(), '20000 100000');
  }
  // Only the loop's CPU counts: the interpreter's start-up is no part of the quota's effect (and
  // under emulation, as in test/cgroup-v2.test.ts's VM, it alone costs more than the budget).
  const loop = 'import time, os\nc = os.times()\nt = time.time()\nwhile time.time() - t < 0.6: pass\nn = os.times()\nprint(n.user + n.system - c.user - c.system)';
  const r = await runIn(cg.dirs, [python, '-c', loop]);
  const used = Number(r.out);
  // 0.6 s of wall time at 20% of a core is ~0.12 s of CPU; allow slack for timing.
  assert.ok(used < 0.35, `used ${used} s of CPU in 0.6 s`);
  const stat = readFileSync(join(dir, 'cpu.stat'), 'utf8');
  assert.ok(Number(/nr_throttled (\d+)/.exec(stat)?.[1]) > 0, stat);
  await cg.remove();
});

test('all three at once: one directory per hierarchy, removed together; an existing id is refused', async (t) => {
  if (!ready(t, 'memory', 'cpu', 'pids')) return;
  cleanup(t);
  const name = id();
  const cg = await host.create(name, { memoryMb: 64, cpu: 1, pids: 64 });
  assert.equal(cg.unenforced.length, 0);
  assert.ok(cg.dirs.every((d) => d.endsWith(`/ferry/${scope}/${name}`) && existsSync(d)));
  await assert.rejects(host.create(name, { pids: 8 }), (err: unknown) => err instanceof FerryError && err.code === 'instance-start-failed');
  const r = await runIn(cg.dirs, ['/bin/sh', '-c', 'cat /proc/self/cgroup']);
  // v1: a line per hierarchy, named by its controllers; v2: the one line `0::<path>`.
  if (host.controllers.memory.version === 2) assert.match(r.out, new RegExp(`^0::.*/ferry/${scope}/${name}$`, 'm'));
  else for (const c of ['memory', 'pids']) assert.match(r.out, new RegExp(`${c}.*/ferry/${scope}/${name}`));
  await cg.remove();
  assert.ok(cg.dirs.every((d) => !existsSync(d)));
  await assert.rejects(host.create('../x', {}), /bad instance id/);
});

test('remove and cleanupStale kill what still runs, then remove the cgroup', async (t) => {
  if (!ready(t, 'pids')) return;
  const other = detectCgroups({ scope: `${scope}-stale` });
  cleanup(t, other);
  const cg = await other.create(id(), { pids: 16 });
  const sleeper = spawn(helperExecArgv({ cgroups: cg.dirs }, ['/bin/sleep', '60'])[0]!, helperExecArgv({ cgroups: cg.dirs }, ['/bin/sleep', '60']).slice(1), { stdio: 'ignore' });
  const exited = new Promise((r) => sleeper.once('exit', r));
  for (let i = 0; i < 100 && readFileSync(join(cg.dirs[0]!, 'cgroup.procs'), 'utf8').trim() === ''; i++) await new Promise((r) => setTimeout(r, 20));
  const removed = await other.cleanupStale();
  assert.deepEqual(removed, cg.dirs);
  await exited;
  assert.equal(existsSync(cg.dirs[0]!), false);
  await cg.remove(); // already gone: fine
});

test('update: a running cgroup takes new limits, up and down (v1 keeps memsw >= memory)', async (t) => {
  if (!ready(t, 'memory', 'cpu', 'pids')) return;
  cleanup(t);
  const cg = await host.create(id(), { memoryMb: 256, cpu: 1, pids: 256 });
  const file = (c: CgroupController, name: string): string => {
    const dir = cg.dirs.find((d) => d.startsWith(host.controllers[c].base!))!;
    return readFileSync(join(dir, name), 'utf8').trim();
  };
  const memory = (): number => Number(file('memory', host.controllers.memory.version === 1 ? 'memory.limit_in_bytes' : 'memory.max'));
  for (const mb of [64, 1024, 128]) {
    await cg.update({ memoryMb: mb, cpu: 0.5, pids: 32 });
    assert.equal(memory(), mb * 1024 * 1024, `memory ${mb}`);
    if (host.controllers.memory.version === 1 && existsSync(join(cg.dirs.find((d) => d.startsWith(host.controllers.memory.base!))!, 'memory.memsw.limit_in_bytes'))) {
      assert.equal(Number(file('memory', 'memory.memsw.limit_in_bytes')), mb * 1024 * 1024, `memsw ${mb}`);
    }
  }
  assert.equal(file('pids', 'pids.max'), '32');
  assert.equal(file('cpu', host.controllers.cpu.version === 1 ? 'cpu.cfs_quota_us' : 'cpu.max').split(' ')[0], '50000');
  await cg.remove();
});
