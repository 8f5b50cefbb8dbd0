// `npm run bench:async`: asynchronous executions on the embedded store.
//  1. accepted/s: wrk sends `Prefer: respond-async` calls to a server whose execution is paused
//     (--async-workers 0, queue bound above the run's total): every 202 is a committed row.
//  2. drain/s: the same data dir restarted with workers; the rate is taken from the executions'
//     own start and end times (first start to last end), so the server's start is not counted.
//  3. p50 from 202 to `succeeded` of an empty function (client side: the 202, then GET ?wait=30
//     until it ends), next to the synchronous p50 of the same function in the same run.
// Also the server's CPU per execution (from /proc), which a busy host moves less than a rate.
// Options: --duration S (wrk, default 5), --connections N (64), --samples N (1000),
// --workers N (64), --driver D (process), --no-pin, --repo DIR (run the build in DIR's dist/, e.g. a
// worktree of another commit, to compare two commits in one run; default this checkout).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { keepAliveRequest } from './keep-alive.mjs';
import { helpIfAsked } from './warm/options.mjs';

helpIfAsked(import.meta.url);
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const here = fileURLToPath(new URL('../', import.meta.url));
const cli = join(resolve(opt('repo', here)), 'dist/src/cli/main.js');
const tar = createRequire(join(here, 'package.json'))('tar');
const duration = Number(opt('duration', 5));
const connections = Number(opt('connections', 64));
const samples = Number(opt('samples', 1000));
const workers = Number(opt('workers', 64));
const driver = opt('driver', 'process');
const pin = !args.includes('--no-pin') && cpus().length >= 2 && spawnSync('taskset', ['-V']).status === 0;
const driverArgs = driver === 'process' ? ['--driver', 'process', '--unsandboxed'] : ['--driver', driver];

const data = mkdtempSync(join(tmpdir(), 'ferry-bench-async-'));

/** Starts `ferry server` (on CPU 1 when pinned); resolves with its URL and process. */
async function startServer(extra) {
  const argv = [cli, 'server', '--port', '0', '--host', '127.0.0.1', '--data-dir', data, '--log-level', 'info', '--execution-queue-max', '100000000', ...driverArgs, ...extra];
  const child = pin ? spawn('taskset', ['-c', '1', process.execPath, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise((resolve, reject) => {
    let buf = '';
    const look = (c) => {
      buf += c;
      const m = /Ferry listening on (http:\/\/[^"\s]+)/.exec(buf);
      if (m) resolve(m[1]);
    };
    child.stdout.on('data', look);
    child.stderr.on('data', look);
    child.once('exit', (code) => reject(new Error(`ferry server exited (${code}):\n${buf}`)));
  });
  return { url, child };
}

/** CPU time the server process has used so far, in ms (utime + stime of /proc/<pid>/stat, 100 Hz ticks). */
function serverCpuMs(s) {
  const fields = readFileSync(`/proc/${s.child.pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function stopServer(s) {
  s.child.kill('SIGTERM');
  await once(s.child, 'exit');
}

const token = () => readFileSync(join(data, 'admin-token'), 'utf8').trim();
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

const request = keepAliveRequest(agent);

async function deployEmpty(url) {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-fn-'));
  const files = {
    'ferry.json': JSON.stringify({ runtime: 'node', handler: 'index.js', scaling: { concurrency: 64, maxInstances: 2 } }),
    'package.json': '{"type":"module"}',
    'index.js': "export default () => '';\n",
  };
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  const chunks = [];
  for await (const c of tar.c({ gzip: true, cwd: dir, portable: true }, Object.keys(files))) chunks.push(c);
  rmSync(dir, { recursive: true, force: true });
  const res = await fetch(`${url}/v1/functions/empty/versions`, { method: 'POST', headers: { authorization: `Bearer ${token()}`, 'content-type': 'application/gzip' }, body: Buffer.concat(chunks) });
  if (res.status !== 201) throw new Error(`deploy answered ${res.status}: ${await res.text()}`);
}

/** wrk with `Prefer: respond-async`; answers requests/s and how many were not 2xx. */
function wrkAccept(url, seconds = duration) {
  const script = join(data, 'async.lua');
  writeFileSync(script, 'wrk.method = "POST"\nwrk.headers["Prefer"] = "respond-async"\nwrk.body = "{}"\nwrk.headers["Content-Type"] = "application/json"\n');
  const argv = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script, `${url}/fn/empty`];
  const r = pin ? spawnSync('taskset', ['-c', '0', 'wrk', ...argv], { encoding: 'utf8' }) : spawnSync('wrk', argv, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr}`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1]);
  const total = Number(/(\d+) requests in/.exec(r.stdout)?.[1]);
  const bad = Number(/Non-2xx or 3xx responses: (\d+)/.exec(r.stdout)?.[1] ?? 0);
  const p50 = /50%\s+(\S+)/.exec(r.stdout)?.[1];
  return { rps, total, bad, p50 };
}

/** Every execution of `empty` (summaries), all pages. */
async function allExecutions(url, status) {
  const out = [];
  let cursor = null;
  do {
    const res = await request(`${url}/v1/executions?function=empty&limit=1000${status ? `&status=${status}` : ''}${cursor ? `&cursor=${cursor}` : ''}`, 'GET', { authorization: `Bearer ${token()}` });
    const page = JSON.parse(res.text);
    out.push(...page.executions);
    cursor = page.next;
  } while (cursor);
  return out;
}

async function openCount(url) {
  let n = 0;
  for (const status of ['queued', 'running']) {
    const res = await request(`${url}/v1/executions?function=empty&status=${status}&limit=1`, 'GET', { authorization: `Bearer ${token()}` });
    n += JSON.parse(res.text).executions.length;
  }
  return n;
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const ms = (x) => `${x.toFixed(2)} ms`;

try {
  console.log(`ferry bench:async: ${cpus().length} CPUs, ${pin ? 'server on CPU 1, load on CPU 0' : 'not pinned'}, driver ${driver}, server ${cli}`);
  // 1. Acceptance with execution paused.
  let server = await startServer(['--async-workers', '0']);
  await deployEmpty(server.url);
  // A short warm-up, so V8 has compiled the path being measured.
  wrkAccept(server.url, 2);
  const cpu0 = serverCpuMs(server);
  const accept = wrkAccept(server.url);
  // CPU per execution: what a busy host moves least (a rate falls when other work takes the core).
  const acceptCpuUs = ((serverCpuMs(server) - cpu0) * 1000) / accept.total;
  await stopServer(server);

  // 2. Drain: restart with workers; rate from the executions' own timings.
  server = await startServer(['--async-workers', String(workers)]);
  const t0 = performance.now();
  const drainCpu0 = serverCpuMs(server);
  while ((await openCount(server.url)) > 0) await new Promise((r) => setTimeout(r, 50));
  const wall = (performance.now() - t0) / 1000;
  const drainCpuMs = serverCpuMs(server) - drainCpu0;
  const all = await allExecutions(server.url);
  const succeeded = all.filter((e) => e.status === 'succeeded');
  const first = Math.min(...succeeded.map((e) => Date.parse(e.startedAt)));
  const last = Math.max(...succeeded.map((e) => Date.parse(e.finishedAt)));
  const drainRate = succeeded.length / ((last - first) / 1000);

  // 3. Latency, sequential: async 202 -> succeeded, and sync, of the same function.
  const client = [];
  const server202 = [];
  for (let i = 0; i < samples; i++) {
    const sub = await request(`${server.url}/fn/empty`, 'POST', { prefer: 'respond-async' });
    const t = performance.now();
    const { id } = JSON.parse(sub.text);
    const got = await request(`${server.url}/v1/executions/${id}?wait=30&logs=0`, 'GET', { authorization: `Bearer ${token()}` });
    client.push(performance.now() - t);
    const e = JSON.parse(got.text);
    if (e.status !== 'succeeded') throw new Error(`execution ${id} ended ${e.status}`);
    server202.push(e.timings.totalMs);
  }
  const sync = [];
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    const r = await request(`${server.url}/fn/empty`, 'GET');
    sync.push(performance.now() - t);
    if (r.status !== 200) throw new Error(`sync call answered ${r.status}`);
  }
  await stopServer(server);

  console.log('');
  console.log('| measure | value |');
  console.log('|---|---|');
  console.log(`| accepted async executions/s (execution paused, wrk -c${connections}, ${duration} s) | ${Math.round(accept.rps)} (${accept.total} accepted, ${accept.bad} not 2xx, p50 ${accept.p50}) |`);
  console.log(`| server CPU per accepted execution (the same ${duration} s) | ${acceptCpuUs.toFixed(0)} µs |`);
  console.log(`| drained executions/s (--async-workers ${workers}; first start to last end) | ${Math.round(drainRate)} (${succeeded.length} of ${all.length} succeeded; ${wall.toFixed(1)} s from restart to empty queue) |`);
  console.log(`| server CPU per drained execution (the server process, not its instances; from restart to empty queue) | ${((drainCpuMs * 1000) / succeeded.length).toFixed(0)} µs |`);
  console.log(`| p50 / p99 from 202 to succeeded, client (202, then GET ?wait=30) | ${ms(pct(client, 50))} / ${ms(pct(client, 99))} |`);
  console.log(`| p50 / p99 created to finished, server's timings | ${ms(pct(server202, 50))} / ${ms(pct(server202, 99))} |`);
  console.log(`| p50 / p99 synchronous call of the same function | ${ms(pct(sync, 50))} / ${ms(pct(sync, 99))} |`);
  if (accept.bad > 0 || succeeded.length !== all.length) process.exitCode = 1;
} finally {
  agent.destroy();
  rmSync(data, { recursive: true, force: true });
}
