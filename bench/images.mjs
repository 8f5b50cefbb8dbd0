#!/usr/bin/env node
// Container-image functions beside the same program as a plain function, in one run: busybox
// `cat` as an `exec` image and as a plain `exec` function, busybox `httpd` as an `http` image and
// as a plain `http` function (bench/images/rows.mjs), every one at default settings under bwrap.
// The images are built here, with no container daemon and no network (bench/images/archive.mjs).
//  - Cold start: one Ferry server (default settings, its pre-booted pool filled), each function
//    deployed through the API and its first call timed; then rounds of: stop the version's
//    instances through the API, wait for the pool to be full and the host quiet, time the next
//    call (a new connection, the answer checked). The same rounds again on a server with
//    `--pool-size 0`. A plain `node` function is measured beside them: the runtime with a pool.
//  - Warm: the warm runner's method (bench/warm.mjs): wrk with bench/wrk/checked.lua (every
//    answer checked; `cat` must echo each request's own body), a fresh server per run, the
//    server side pinned to CPU 1 and wrk to CPU 0, each row paired with bare node:http runs
//    before and after it in the same round.
//   node bench/images.mjs [--rounds 2] [--duration 5] [--warmup 2] [--cold-runs 10] [--only a,b] [--quick] ...
// Results: $ANCHORS_TMP/results/ferry-images-<time>.md and .json, and ferry-images-latest.*.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { deployFunctions } from './deploy-hello.mjs';
import { coldStats, markdown } from './images/report.mjs';
import { imageRowNames, imageRows } from './images/rows.mjs';
import { hostFacts, run, serverCpuWindow, startProcess, stopProcess, waitQuiet, waitReady } from './warm/host.mjs';
import { runnerOptions, runnerSettings, usage } from './warm/options.mjs';
import { summarize, publishResults } from './warm/report.mjs';
import { poolFull } from './warm/rows.mjs';
import { runWrk } from './warm/wrk.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const { values: opt } = parseArgs({
  options: { ...runnerOptions(26000), threads: { type: 'string', default: '1' }, 'cold-runs': { type: 'string' } },
});
if (opt.help) {
  console.log(usage(import.meta.url));
  console.log(`rows: ${imageRowNames.join(', ')}`);
  process.exit(0);
}
// shorter than the warm runner's defaults: 4 rows, and the run must stay within a few minutes
const S = runnerSettings({ ...opt, rounds: opt.rounds ?? (opt.quick ? undefined : '2'), duration: opt.duration ?? (opt.quick ? undefined : '5') });
const COLD_RUNS = Number(opt['cold-runs'] ?? (opt.quick ? 3 : 10));
const THREADS = Number(opt.threads);
const WORK = path.join(S.tmp, 'ferry-images');
const DATA = path.join(WORK, 'data');
const ANCHORS = path.resolve(process.env.FERRY_ANCHORS ?? path.join(HERE, '../../shared/anchors'));
const cli = path.join(HERE, '../dist/src/cli/main.js');

const log = (...a) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...a);
const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const rotate = (xs, k) => xs.map((_, i) => xs[(i + k) % xs.length]);
let port = S.basePort;

/** The rows asked for: --only minus --skip. */
function select() {
  const names = (s) => new Set((s ?? '').split(',').map((x) => x.trim()).filter(Boolean));
  const only = opt.only ? names(opt.only) : null;
  for (const n of only ?? []) if (!imageRowNames.includes(n)) throw new Error(`--only: no row '${n}' (rows: ${imageRowNames.join(', ')})`);
  const skip = names(opt.skip);
  return imageRows.filter((r) => (!only || only.has(r.name)) && !skip.has(r.name));
}

const token = () => fs.readFileSync(path.join(DATA, 'admin-token'), 'utf8').trim();

/** A request over a new connection: { status, body } or { error }. */
function request(p, { method = 'GET', body, headers = {} } = {}) {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port: p.port, path: p.path, method, agent: false, headers: { connection: 'close', ...headers } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (e) => resolve({ error: e.code || String(e) }));
    });
    req.on('error', (e) => resolve({ error: e.code || String(e) }));
    req.setTimeout(60_000, () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}

/** The admin API of the server on `port`: the parsed answer, or a throw naming what it said. */
async function api(port, method, p, { body, headers = {}, want = [200] } = {}) {
  const r = await request({ port, path: p }, { method, body, headers: { authorization: `Bearer ${token()}`, ...headers } });
  if (!want.includes(r.status)) throw new Error(`${method} ${p} answered ${r.status ?? r.error}: ${String(r.body).slice(0, 300)}`);
  return r.body ? JSON.parse(r.body) : {};
}

let callCount = 0;
/** Calls `row` once over a new connection and checks the answer; answers the time to it, in ms. */
async function timedCall(port, row) {
  const name = `cold-${++callCount}`;
  const expect = row.echo ? `Hello, ${name}!` : row.body;
  const t0 = performance.now();
  const r = await request({ port, path: `/fn/${row.name}` }, row.echo ? { method: 'POST', body: expect } : {});
  const ms = performance.now() - t0;
  if (r.status !== 200 || r.body !== expect) throw new Error(`${row.name} answered ${r.status ?? r.error}: ${JSON.stringify(r.body ?? '').slice(0, 200)} (expected ${JSON.stringify(expect)})`);
  return ms;
}

/** Where the running instance of `row` came from (`pool` or `cold`), by the instances API. */
async function origins(port, row) {
  const { instances } = await api(port, 'GET', `/v1/functions/${row.name}/instances`);
  return instances.map((i) => i.origin);
}

/** Stops the version's instances through the API and waits until none is left. */
async function scaleToZero(port, row) {
  await api(port, 'POST', `/v1/functions/${row.name}/versions/${row.version}/stop`, { want: [202] });
  for (let i = 0; i < 600; i++) {
    if ((await origins(port, row)).length === 0) return;
    await sleep(50);
  }
  throw new Error(`${row.name}: instances still running 30 s after stop`);
}

/** A Ferry server on the bench's data dir, default settings plus `args`, pinned; answers when it serves. */
async function startFerry(args = [], label = 'ferry') {
  const p = ++port;
  const child = startProcess(
    { cmd: process.execPath, args: [cli, 'server', '--port', String(p), '--host', '127.0.0.1', '--data-dir', DATA, '--log-level', 'warn', ...args], env: { NODE_ENV: 'production' } },
    { cpus: S.serverCpus, log: path.join(S.logs, `images-${label}.log`), cwd: HERE },
  );
  await waitReady(child, p, '/healthz', '{"status":"ok"}', 60_000);
  return { child, port: p };
}

/** The cold rounds on `server`: stop, wait for a full pool and a quiet host, time the next call. */
async function coldRounds(server, rows, kind, cold) {
  for (let round = 0; round < COLD_RUNS; round++) {
    for (const row of rotate(rows, round)) {
      await scaleToZero(server.port, row);
      await poolFull(server.port, DATA);
      const q = await waitQuiet(S.quietPct, Math.min(S.quietWait, 5));
      const ms = await timedCall(server.port, row);
      const [origin] = await origins(server.port, row);
      cold.push({ row: row.name, kind, round, ms, origin, preHostBusyPct: q.hostBusyPct });
      log(`cold ${kind} r${round + 1} ${row.name}: ${fmt(ms, 1)} ms (${origin}, host ${fmt(q.hostBusyPct)}% busy before)`);
    }
  }
}

/** Deploys every row on a fresh data dir, timing each first call; then the cold rounds, pooled and not. */
async function coldPhase(rows) {
  const cold = [];
  const first = {};
  // a new data dir's first start prints its admin token: that start's output is not kept
  await deployFunctions({ cli, node: process.execPath, dataDir: DATA, functions: [] });
  let server = await startFerry([], 'cold-pool');
  try {
    for (const row of rows) {
      const u = await row.upload();
      const headers = { 'content-type': u.type, ...(u.manifest ? { 'ferry-manifest': JSON.stringify(u.manifest) } : {}) };
      const v = await api(server.port, 'POST', `/v1/functions/${row.name}/versions`, { body: u.body, headers, want: [201] });
      row.version = v.version;
      await poolFull(server.port, DATA);
      await waitQuiet(S.quietPct, Math.min(S.quietWait, 5));
      first[row.name] = { ms: await timedCall(server.port, row), origin: (await origins(server.port, row))[0], bytes: u.body.length };
      log(`${row.name}: deployed (${u.body.length} bytes) as ${row.version}; first call ${fmt(first[row.name].ms, 1)} ms (${first[row.name].origin})`);
    }
    await coldRounds(server, rows, 'pool', cold);
  } finally {
    await stopProcess(server.child, 15_000);
  }
  server = await startFerry(['--pool-size', '0'], 'cold-nopool');
  try {
    await coldRounds(server, rows, 'nopool', cold);
  } finally {
    await stopProcess(server.child, 15_000);
  }
  return { first, cold };
}

/** One warm run of `row`: a fresh server, one call, a full pool, a quiet host, warm-up, then wrk. */
async function measure(row, round) {
  const rec = { row: row.name, round, ok: false };
  let child;
  try {
    let p;
    if (row.baseline) {
      p = ++port;
      child = startProcess(row.spawn({ node: process.execPath, fns: path.join(ANCHORS, 'fns'), port: p }), { cpus: S.serverCpus, log: path.join(S.logs, 'images-node-http.log'), cwd: ANCHORS });
      await waitReady(child, p, '/', row.body, 30_000);
    } else {
      ({ child, port: p } = await startFerry([], `warm-${row.name}`));
      await timedCall(p, row);
      await poolFull(p, DATA);
    }
    const q = await waitQuiet(S.quietPct, S.quietWait);
    const load = { port: p, row: { ...row, byName: row.echo }, expectFile: path.join(WORK, `expect-${row.name}`), connections: S.connections, threads: THREADS, cpus: S.loadCpus };
    if (S.warmup > 0) {
      const w = await runWrk({ ...load, secs: S.warmup });
      Object.assign(rec, { warmupChecked: w.checked, warmupMismatched: w.mismatched });
      if (w.mismatched !== 0 || !(w.checked > 0)) throw Object.assign(new Error(`warm-up: ${w.mismatched} of ${w.checked} bodies wrong (first: ${w.firstMismatch})`), { w });
    }
    const cpuUntil = serverCpuWindow(child.pid, S.serverCpus);
    const w = await runWrk({ ...load, secs: S.duration });
    Object.assign(rec, w, cpuUntil(w.requests), { preHostBusyPct: q.hostBusyPct, quietWaitS: q.waitedS });
    if (w.mismatched !== 0 || !(w.checked > 0)) throw new Error(`${w.mismatched} of ${w.checked} bodies wrong (first: ${w.firstMismatch})`);
    rec.ok = true;
    log(`warm r${round + 1} ${row.name}: ${fmt(w.rps)} req/s p50 ${fmt(w.p50, 2)} ms p99 ${fmt(w.p99, 2)} ms, ${w.checked} bodies checked, server cpu ${fmt(rec.serverCpuPct)}% foreign ${fmt(rec.foreignOnServerCpuPct)}% (pre ${fmt(q.hostBusyPct)}%) errors ${w.socketErrors}/${w.non2xx}`);
  } catch (e) {
    rec.error = e.message;
    if (e.w) Object.assign(rec, { checked: e.w.checked, mismatched: e.w.mismatched });
    log(`warm r${round + 1} ${row.name}: FAILED: ${e.message}`);
  } finally {
    await stopProcess(child, row.baseline ? 2000 : 15_000);
  }
  return rec;
}

/** The warm rounds: bare, row, bare, row, ..., bare, the rows rotated per round. */
async function warmPhase(rows) {
  const bare = { ...(await import(pathToFileURL(path.join(ANCHORS, 'targets', '10-node-http.mjs')).href)).default, body: 'Hello, World!' };
  const base = { name: bare.name, label: 'bare `node:http` (the harness\'s `fns/node-http-server.js`)', baseline: true, body: bare.body, path: '/', spawn: bare.spawn };
  const warm = rows.filter((r) => !r.coldOnly).map((r) => ({ ...r, path: `/fn/${r.name}` }));
  if (!warm.length) return { rows: [], runs: [] };
  for (const r of [base, ...warm]) if (!r.echo) fs.writeFileSync(path.join(WORK, `expect-${r.name}`), r.body);
  const runs = [];
  for (let round = 0; round < S.rounds; round++) {
    let before = await measure(base, round);
    runs.push(before);
    for (const row of rotate(warm, round)) {
      const rec = await measure(row, round);
      const after = await measure(base, round);
      rec.bareAround = [before, after].filter((b) => b.ok).map((b) => b.rps);
      runs.push(rec, after);
      before = after;
    }
  }
  return { rows: [base, ...warm], runs };
}

async function main() {
  if (!fs.existsSync(cli)) throw new Error(`${cli} is missing: npm run build`);
  if (!fs.existsSync(path.join(ANCHORS, 'fns'))) throw new Error(`the anchors harness is not at ${ANCHORS} (set FERRY_ANCHORS)`);
  if (!run('sh', ['-c', 'command -v wrk'])) throw new Error('wrk is not installed (the anchors setup.sh installs it)');
  fs.rmSync(WORK, { recursive: true, force: true });
  for (const d of [S.out, S.logs, DATA]) fs.mkdirSync(d, { recursive: true });
  if (S.pin) run('taskset', ['-a', '-p', '-c', S.loadCpus, String(process.pid)]);
  const rows = select();
  const t0 = performance.now();
  const { first, cold } = await coldPhase(rows);
  const warm = await warmPhase(rows);
  const facts = {
    ...hostFacts(path.join(HERE, '..')),
    label: opt.label,
    wrk: run('dpkg-query', ['-W', '-f=${Version}', 'wrk']),
    busybox: run('sh', ['-c', 'busybox | head -1'])?.replace(/\.$/, ''),
    config: { rounds: S.rounds, duration: S.duration, warmup: S.warmup, connections: S.connections, threads: THREADS, coldRuns: COLD_RUNS, quietPct: S.quietPct, quietWaitS: S.quietWait, pinned: S.pin, loadgenCpus: S.loadCpus ?? 'any', serverCpus: S.serverCpus ?? 'any' },
    minutes: (performance.now() - t0) / 60_000,
  };
  const summary = { ...summarize(warm.rows, warm.runs), cold: coldStats(rows, first, cold) };
  publishResults(S.out, 'ferry-images', { facts, summary, runs: { cold, warm: warm.runs }, md: markdown(facts, summary, rows) }, log);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
