#!/usr/bin/env node
// Ferry's function calls over HTTP, gRPC (Ferry's own service and tinyFaaS's) and CoAP, side by
// side: ONE Ferry server with `--grpc-port` and `--coap-port`, the headline function, and ONE
// closed-loop load generator in Node.js that drives every protocol alike (wrk speaks only
// HTTP/1.1), checking every answer. The method is the warm runner's (bench/warm.mjs): the server
// side pinned to CPU 1 and the generator to CPU 0, a warm-up thrown away, a quiet host awaited,
// rounds with the rows rotated, medians, each row's req/s paired with the HTTP row's of its round.
//   node bench/protocols.mjs [--rounds 3] [--duration 8] [--warmup 2] [--connections 50] [--only a,b] [--quick] ...
// Results: $ANCHORS_TMP/results/ferry-protocols-<time>.md and .json, and ferry-protocols-latest.*.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { deployFunctions } from './deploy-hello.mjs';
import { busyDelta, cpuNames, cpuTicks, procTree, readCpuStat, run, startProcess, stopProcess, waitQuiet, waitReady, CLK_TCK } from './warm/host.mjs';
import { poolFull } from './warm/rows.mjs';
import { closedLoop } from './protocols/loop.mjs';
import { markdown, summarize } from './protocols/report.mjs';
import { FUNCTION, functionFiles, protocolRowNames, protocolRows } from './protocols/rows.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string', default: '50' },
    channels: { type: 'string', default: '1' },
    only: { type: 'string' },
    skip: { type: 'string' },
    quick: { type: 'boolean', default: process.env.FERRY_BENCH_QUICK === '1' },
    'no-pin': { type: 'boolean', default: false },
    'loadgen-cpus': { type: 'string', default: '0' },
    'server-cpus': { type: 'string', default: '1' },
    'quiet-pct': { type: 'string', default: '10' },
    'quiet-wait': { type: 'string' },
    tmp: { type: 'string', default: process.env.ANCHORS_TMP || '/tmp/anchors' },
    out: { type: 'string' },
    'base-port': { type: 'string', default: '25000' },
    label: { type: 'string', default: '' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) {
  console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\nimport ')[0].replace(/^(#!.*\n)?/, ''));
  console.log(`rows: ${protocolRowNames.join(', ')}`);
  process.exit(0);
}
// --quick: one round of 2 s after a 1 s warm-up, no wait for a quiet host (development only)
const num = (v, normal, quick) => Number(v ?? (opt.quick ? quick : normal));
const ROUNDS = num(opt.rounds, 3, 1);
const DURATION = num(opt.duration, 8, 2);
const WARMUP = num(opt.warmup, 2, 1);
const QUIET_WAIT = num(opt['quiet-wait'], 20, 0);
const QUIET_PCT = Number(opt['quiet-pct']);
const IN_FLIGHT = Number(opt.connections);
const CHANNELS = Number(opt.channels);
const PIN = !opt['no-pin'] && os.cpus().length >= 2;
const LOAD_CPUS = PIN ? opt['loadgen-cpus'] : null;
const SERVER_CPUS = PIN ? opt['server-cpus'] : null;
const TMP = path.resolve(opt.tmp);
const OUT = path.resolve(opt.out ?? path.join(TMP, 'results'));
const LOGS = path.join(TMP, 'logs');
const DATA = path.join(TMP, 'ferry-protocols-data');
const HOST = '127.0.0.1';
const BASE_PORT = Number(opt['base-port']);
const PORTS = { http: BASE_PORT, grpc: BASE_PORT + 1, coap: BASE_PORT + 2 };
const cli = path.join(HERE, '../dist/src/cli/main.js');

const log = (...a) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...a);
const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const rotate = (xs, k) => xs.map((_, i) => xs[(i + k) % xs.length]);

/** The rows asked for (--only minus --skip); HTTP always, as the row the others are paired with. */
function select() {
  const names = (s) => new Set((s ?? '').split(',').map((x) => x.trim()).filter(Boolean));
  const only = opt.only ? names(opt.only) : null;
  for (const n of [...(only ?? []), ...names(opt.skip)]) if (!protocolRowNames.includes(n)) throw new Error(`no row '${n}' (rows: ${protocolRowNames.join(', ')})`);
  const skip = names(opt.skip);
  return protocolRows.filter((r) => r.name === 'http' || ((!only || only.has(r.name)) && !skip.has(r.name)));
}

/** Calls `row` once, again and again for up to 30 s, until it answers right (its port is up). */
async function firstAnswer(row) {
  const client = row.open({ host: HOST, ports: PORTS, inFlight: 1, channels: 1 });
  try {
    for (let i = 0; ; i++) {
      try {
        const body = await client.call('ready');
        if (body === 'Hello, ready!') return;
        throw new Error(`answered ${JSON.stringify(body).slice(0, 120)}`);
      } catch (e) {
        if (i >= 60) throw new Error(`${row.name}: no right answer in 30 s: ${e.message}`);
        await sleep(500);
      }
    }
  } finally {
    await client.close();
  }
}

/** One measured run of `row`: a quiet host, the warm-up, then the load with the server's CPU read. */
async function measure(server, row, round) {
  const rec = { row: row.name, round, ok: false };
  const client = row.open({ host: HOST, ports: PORTS, inFlight: IN_FLIGHT, channels: CHANNELS });
  try {
    const q = await waitQuiet(QUIET_PCT, QUIET_WAIT);
    if (WARMUP > 0) {
      const w = await closedLoop({ client, inFlight: IN_FLIGHT, secs: WARMUP, prefix: `w${round + 1}` });
      Object.assign(rec, { warmupChecked: w.checked, warmupMismatched: w.mismatched, warmupErrors: w.errors });
      if (w.mismatched || w.errors || !w.checked) throw new Error(`warm-up: ${w.mismatched} of ${w.checked} answers wrong, ${w.errors} calls failed (first: ${w.firstMismatch ?? w.firstError})`);
    }
    const retrans0 = client.stats?.().retransmissions ?? 0;
    const pids0 = procTree(server.pid);
    const c0 = cpuTicks(pids0);
    // the server process apart from its instances and pool: CPU per call on each side of the frame socket
    const root0 = cpuTicks([server.pid]);
    const h0 = readCpuStat();
    const t0 = performance.now();
    const l = await closedLoop({ client, inFlight: IN_FLIGHT, secs: DURATION, prefix: `n${round + 1}` });
    const wall = (performance.now() - t0) / 1000;
    const h1 = readCpuStat();
    const c1 = cpuTicks([...new Set([...pids0, ...procTree(server.pid)])]);
    const root1 = cpuTicks([server.pid]);
    // every call answered in the window (and just after it) was served while the CPU was counted
    const usPerCall = (ticks) => (l.checked > 0 ? (ticks / CLK_TCK / l.checked) * 1e6 : NaN);
    Object.assign(rec, l, {
      retransmissions: (client.stats?.().retransmissions ?? 0) - retrans0,
      serverCpuPct: ((c1 - c0) / CLK_TCK / wall) * 100,
      rootUsPerCall: usPerCall(root1 - root0),
      restUsPerCall: usPerCall(c1 - c0 - (root1 - root0)),
      preHostBusyPct: q.hostBusyPct,
      quietWaitS: q.waitedS,
    });
    if (PIN) {
      const names = cpuNames(SERVER_CPUS);
      const d = busyDelta(h0, h1, names);
      rec.foreignOnServerCpuPct = Math.max(0, (((d.task - (c1 - c0)) / CLK_TCK / wall) * 100) / names.length);
    }
    if (l.mismatched || l.errors || !l.checked) throw new Error(`${l.mismatched} of ${l.checked} answers wrong, ${l.errors} calls failed (first: ${l.firstMismatch ?? l.firstError})`);
    rec.ok = true;
    log(`r${round + 1} ${row.name}: ${fmt(l.rps)} req/s p50 ${fmt(l.p50, 2)} ms p99 ${fmt(l.p99, 2)} ms, ${l.checked} answers checked, server ${fmt(rec.rootUsPerCall + rec.restUsPerCall, 1)} µs/call, generator cpu ${fmt(l.loadCpuPct)}% foreign ${fmt(rec.foreignOnServerCpuPct)}% (pre ${fmt(q.hostBusyPct)}%, waited ${fmt(q.waitedS, 1)} s)`);
  } catch (e) {
    rec.error = e.message;
    log(`r${round + 1} ${row.name}: FAILED: ${e.message}`);
  } finally {
    await client.close();
  }
  return rec;
}

function facts() {
  const git = (...a) => run('git', ['-C', path.join(HERE, '..'), ...a]);
  const pkg = (n) => {
    try {
      return JSON.parse(fs.readFileSync(path.join(HERE, '../node_modules', n, 'package.json'), 'utf8')).version;
    } catch {
      return null;
    }
  };
  return {
    date: new Date().toISOString(),
    label: opt.label,
    kernel: os.release(),
    cpu: os.cpus()[0]?.model,
    cpus: os.cpus().length,
    memGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    os: run('sh', ['-c', '. /etc/os-release && echo "$PRETTY_NAME"']),
    node: process.version,
    bwrap: run('bwrap', ['--version']),
    ferry: `${git('rev-parse', '--short', 'HEAD') ?? '?'}${git('status', '--porcelain', '--untracked-files=no') ? ' (uncommitted changes)' : ''}`,
    packages: { '@grpc/grpc-js': pkg('@grpc/grpc-js'), 'coap-packet': pkg('coap-packet') },
    function: FUNCTION,
    config: { rounds: ROUNDS, duration: DURATION, warmup: WARMUP, inFlight: IN_FLIGHT, channels: CHANNELS, quietPct: QUIET_PCT, quietWaitS: QUIET_WAIT, pinned: PIN, loadgenCpus: LOAD_CPUS ?? 'any', serverCpus: SERVER_CPUS ?? 'any', ports: PORTS },
  };
}

async function main() {
  if (!fs.existsSync(cli)) throw new Error(`${cli} is missing: npm run build`);
  for (const d of [OUT, LOGS]) fs.mkdirSync(d, { recursive: true });
  if (PIN) run('taskset', ['-a', '-p', '-c', LOAD_CPUS, String(process.pid)]);
  const rows = select();
  fs.rmSync(DATA, { recursive: true, force: true });
  fs.mkdirSync(DATA, { recursive: true });
  await deployFunctions({ cli, node: process.execPath, dataDir: DATA, functions: [{ name: FUNCTION, files: functionFiles }] });
  const f = facts();
  const spec = {
    cmd: process.execPath,
    args: [cli, 'server', '--host', HOST, '--port', String(PORTS.http), '--grpc-port', String(PORTS.grpc), '--coap-port', String(PORTS.coap), '--data-dir', DATA, '--log-level', 'warn'],
    env: { NODE_ENV: 'production' },
  };
  const server = startProcess(spec, { cpus: SERVER_CPUS, log: path.join(LOGS, 'protocols-server.log'), cwd: HERE });
  const runs = [];
  try {
    await waitReady(server, PORTS.http, `/fn/${FUNCTION}`, 'Hello, World!', 60_000);
    for (const row of rows) await firstAnswer(row);
    await poolFull(PORTS.http, DATA);
    log(`rows: ${rows.map((r) => r.name).join(', ')}; ${ROUNDS} round(s) of ${DURATION} s after ${WARMUP} s; ${IN_FLIGHT} calls in flight; pinned: ${PIN}`);
    for (let round = 0; round < ROUNDS; round++) {
      for (const row of rotate(rows, round)) {
        runs.push(await measure(server, row, round));
        await sleep(300);
      }
    }
  } finally {
    await stopProcess(server, 15_000);
  }
  const summary = summarize(rows, runs, 'http');
  const md = markdown(f, summary);
  const stamp = f.date.replace(/[:.]/g, '-');
  const file = path.join(OUT, `ferry-protocols-${stamp}${opt.label ? `-${opt.label}` : ''}`);
  const json = JSON.stringify({ facts: f, summary, runs }, null, 2);
  fs.writeFileSync(`${file}.json`, json);
  fs.writeFileSync(`${file}.md`, md);
  fs.writeFileSync(path.join(OUT, 'ferry-protocols-latest.json'), json);
  fs.writeFileSync(path.join(OUT, 'ferry-protocols-latest.md'), md);
  process.stdout.write(md);
  log(`wrote ${file}.md and .json`);
  if (summary.failed.length) {
    log(`FAILED rows: ${summary.failed.join(', ')}`);
    process.exitCode = 1;
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
