// The host side of bench/warm.mjs, as the anchors harness does it: servers pinned to the server
// CPU in a process group of their own, the process tree and CPU accounting read from /proc, and
// the wait for a quiet host before a measurement. Only processes this runner started (and their
// descendants) are ever signalled.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

export const CLK_TCK = Number(run('getconf', ['CLK_TCK']) || 100);

/** A clean environment, as the harness gives its targets: PATH, HOME, LANG and what the row sets. */
const BASE_ENV = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: process.env.HOME || '/tmp', LANG: 'C.UTF-8' };

/** Runs a short command; its trimmed stdout, or null when it fails. */
export function run(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    return null;
  }
}

const live = new Set();
function signalPid(pid, sig) {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false; // gone
  }
}
function signalGroup(child, sig) {
  if (!signalPid(-child.pid, sig)) signalPid(child.pid, sig);
}
process.on('exit', () => {
  for (const c of live) signalGroup(c, 'SIGKILL');
});
for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(s, () => {
    for (const c of live) signalGroup(c, 'SIGKILL');
    process.exit(130);
  });
}

/** Starts `spec` ({ cmd, args, env, cwd }) in its own process group, pinned to `cpus` when set. */
export function startProcess(spec, { cpus, log, cwd }) {
  const env = { ...BASE_ENV };
  for (const [k, v] of Object.entries(spec.env ?? {})) env[k] = String(v);
  const [cmd, args] = cpus ? ['taskset', ['-c', cpus, spec.cmd, ...(spec.args ?? [])]] : [spec.cmd, spec.args ?? []];
  const fd = fs.openSync(log, 'a');
  const child = spawn(cmd, args, { cwd: spec.cwd ?? cwd, env, stdio: ['ignore', fd, fd], detached: true });
  fs.closeSync(fd);
  live.add(child);
  child.exited = new Promise((resolve) => child.once('exit', (code, sig) => resolve({ code, sig })));
  child.exited.then(() => live.delete(child));
  child.on('error', () => {});
  return child;
}

/** Starts a load generator pinned to `cpus`, its output collected; answers { child, output }. */
export function startLoad(cmd, args, cpus) {
  const [c, a] = cpus ? ['taskset', ['-c', cpus, cmd, ...args]] : [cmd, args];
  const child = spawn(c, a, { stdio: ['ignore', 'pipe', 'pipe'], env: BASE_ENV });
  live.add(child);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const output = new Promise((resolve) => child.once('close', (code) => resolve({ code, out })));
  output.then(() => live.delete(child));
  return { child, output };
}

/**
 * Stops a server: SIGTERM to its group (a Ferry server then stops its instances, which live in
 * groups of their own), SIGKILL after `graceMs`, and SIGKILL to any descendant still left.
 */
export async function stopProcess(child, graceMs) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const tree = procTree(child.pid).map((pid) => [pid, startTime(pid)]);
  signalGroup(child, 'SIGTERM');
  const r = await Promise.race([child.exited, sleep(graceMs).then(() => 'timeout')]);
  if (r === 'timeout') signalGroup(child, 'SIGKILL');
  await child.exited;
  for (let i = 0; i < 50; i++) {
    const left = tree.filter(([pid, t]) => t !== null && startTime(pid) === t);
    if (!left.length) return;
    if (i > 20) for (const [pid] of left) signalPid(pid, 'SIGKILL');
    await sleep(100);
  }
}

function startTime(pid) {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return null;
  }
}

/** Every pid in the tree rooted at `root` (by parent pid, so detached descendants count too). */
export function procTree(root) {
  const kids = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let st;
    try {
      st = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
    } catch {
      continue;
    }
    const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
    if (!kids.has(ppid)) kids.set(ppid, []);
    kids.get(ppid).push(Number(d));
  }
  const out = [];
  for (const q = [root]; q.length; ) {
    const p = q.shift();
    out.push(p);
    q.push(...(kids.get(p) ?? []));
  }
  return out;
}

/** Resident memory of `pids` in MB (VmRSS summed: shared pages count once per process, as `ps` counts them). */
export function rssMB(pids) {
  let kb = 0;
  for (const p of pids) {
    try {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch {
      /* exited */
    }
  }
  return kb / 1024;
}

/** utime + stime of `pids`, in clock ticks. */
export function cpuTicks(pids) {
  let sum = 0;
  for (const p of pids) {
    try {
      const rest = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = rest.slice(rest.lastIndexOf(')') + 2).split(' ');
      sum += Number(f[11]) + Number(f[12]);
    } catch {
      /* exited */
    }
  }
  return sum;
}

/** Per-CPU ticks from /proc/stat: task (user+nice+system), irq (+softirq), steal, busy, idle. */
export function readCpuStat() {
  const m = {};
  for (const l of fs.readFileSync('/proc/stat', 'utf8').split('\n')) {
    if (!/^cpu\d* /.test(l)) continue;
    const [name, ...v] = l.trim().split(/\s+/);
    const n = v.map(Number);
    m[name] = { task: n[0] + n[1] + n[2], irq: n[5] + n[6], steal: n[7], busy: n[0] + n[1] + n[2] + n[5] + n[6] + n[7], idle: n[3] + n[4] };
  }
  return m;
}

/** "1", "0,1" or "0-1" as /proc/stat names. */
export function cpuNames(list) {
  const out = [];
  for (const part of String(list).split(',')) {
    const [a, b] = part.split('-').map(Number);
    for (let i = a; i <= (Number.isFinite(b) ? b : a); i++) out.push(`cpu${i}`);
  }
  return out;
}

/** What the CPUs `names` did between two readCpuStat()s: ticks per kind, and busy %. */
export function busyDelta(a, b, names) {
  const d = { busy: 0, task: 0, irq: 0, steal: 0, all: 0 };
  for (const n of names) {
    if (!a[n] || !b[n]) continue;
    for (const k of ['busy', 'task', 'irq', 'steal']) d[k] += b[n][k] - a[n][k];
    d.all += b[n].busy - a[n].busy + (b[n].idle - a[n].idle);
  }
  d.pct = d.all ? (100 * d.busy) / d.all : NaN;
  return d;
}

/** Waits, for at most `maxWaitS`, until the whole host is below `pct` % busy over 300 ms. */
export async function waitQuiet(pct, maxWaitS) {
  const t0 = performance.now();
  for (;;) {
    const a = readCpuStat();
    await sleep(300);
    const d = busyDelta(a, readCpuStat(), ['cpu']);
    const waitedS = (performance.now() - t0) / 1000;
    if (d.pct <= pct || waitedS >= maxWaitS) return { hostBusyPct: d.pct, waitedS };
  }
}

/** GET over a new connection: { status, body } or { error }. */
export function httpGet(port, path, headers = {}, timeoutMs = 10_000) {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path, agent: false, headers: { connection: 'close', ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body }));
      res.on('error', (e) => resolve({ error: e.code || String(e) }));
    });
    req.on('error', (e) => resolve({ error: e.code || String(e) }));
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

/** Polls `path` until it answers 200 with `body`; throws when the process exits or time runs out. */
export async function waitReady(child, port, path, body, timeoutMs = 30_000) {
  const t0 = performance.now();
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited before it was ready (code ${child.exitCode}, signal ${child.signalCode})`);
    const r = await httpGet(port, path);
    if (r.status === 200 && r.body === body) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`not ready after ${timeoutMs} ms (last: ${JSON.stringify(r).slice(0, 200)})`);
    await (r.status ? sleep(1) : new Promise((res) => setImmediate(res)));
  }
}

/** What a result file says of the host and of Ferry's checkout at `repo`. */
export function hostFacts(repo) {
  const git = (...a) => run('git', ['-C', repo, ...a]);
  return {
    date: new Date().toISOString(),
    kernel: os.release(),
    cpu: os.cpus()[0]?.model,
    cpus: os.cpus().length,
    memGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    os: run('sh', ['-c', '. /etc/os-release && echo "$PRETTY_NAME"']),
    node: process.version,
    bwrap: run('bwrap', ['--version']),
    ferry: `${git('rev-parse', '--short', 'HEAD') ?? '?'}${git('status', '--porcelain', '--untracked-files=no') ? ' (uncommitted changes)' : ''}`,
  };
}

/**
 * Starts counting the CPU of the server `pid` and its tree (a Ferry server's instances and pool),
 * and of the `serverCpus` (when pinned). The function it answers ends the count for `calls`
 * calls: the tree's CPU %, CPU per call of the server process and of the rest of its tree, and
 * the time other tasks took on the server CPUs (irq and steal apart).
 */
export function serverCpuWindow(pid, serverCpus) {
  const pids0 = procTree(pid);
  const c0 = cpuTicks(pids0);
  const root0 = cpuTicks([pid]);
  const h0 = readCpuStat();
  const t0 = performance.now();
  return (calls) => {
    const wall = (performance.now() - t0) / 1000;
    const h1 = readCpuStat();
    const c1 = cpuTicks([...new Set([...pids0, ...procTree(pid)])]);
    const root1 = cpuTicks([pid]);
    const usPerCall = (ticks) => (calls > 0 ? (ticks / CLK_TCK / calls) * 1e6 : NaN);
    const r = { serverCpuPct: ((c1 - c0) / CLK_TCK / wall) * 100, rootUsPerCall: usPerCall(root1 - root0), restUsPerCall: usPerCall(c1 - c0 - (root1 - root0)) };
    if (serverCpus) {
      const names = cpuNames(serverCpus);
      const d = busyDelta(h0, h1, names);
      const pct = (ticks) => (ticks / CLK_TCK / wall / names.length) * 100;
      Object.assign(r, { foreignOnServerCpuPct: Math.max(0, pct(d.task - (c1 - c0))), irqOnServerCpuPct: pct(d.irq), stealOnServerCpuPct: pct(d.steal) });
    }
    return r;
  };
}
