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
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { deployFunctions } from './deploy-hello.mjs';
import { hostFacts, run, serverCpuWindow, startProcess, stopProcess, waitQuiet, waitReady } from './warm/host.mjs';
import { runnerOptions, runnerSettings, usage } from './warm/options.mjs';
import { poolFull } from './warm/rows.mjs';
import { closedLoop } from './protocols/loop.mjs';
import { markdown, summarize } from './protocols/report.mjs';
import { publishResults } from './warm/report.mjs';
import { FUNCTION, functionFiles, protocolRowNames, protocolRows } from './protocols/rows.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const { values: opt } = parseArgs({ options: { ...runnerOptions(25000), channels: { type: 'string', default: '1' } } });
if (opt.help) {
  console.log(usage(import.meta.url));
  console.log(`rows: ${protocolRowNames.join(', ')}`);
  process.exit(0);
}
const { rounds: ROUNDS, duration: DURATION, warmup: WARMUP, quietWait: QUIET_WAIT, quietPct: QUIET_PCT, connections: IN_FLIGHT, pin: PIN, loadCpus: LOAD_CPUS, serverCpus: SERVER_CPUS, tmp: TMP, out: OUT, logs: LOGS, basePort } = runnerSettings(opt);
const CHANNELS = Number(opt.channels);
const DATA = path.join(TMP, 'ferry-protocols-data');
const HOST = '127.0.0.1';
const PORTS = { http: basePort, grpc: basePort + 1, coap: basePort + 2 };
const cli = path.join(HERE, '../dist/src/cli/main.js');

const log = (...a) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...a);
const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const rotate = (xs, k) => xs.map((_, i) => xs[(i + k) % xs.length]);

/** The rows asked for (--only minus --skip); HTTP always, as the row the others are paired with. */
function select() {
  const names = (s) => new Set((s ?? '').split(',').map((x) => x.trim()).filter(Boolean));
  const only = opt.only ? names(opt.only) : null;
  // --skip may name the warm runner's rows too (npm run bench passes it to both)
  for (const n of only ?? []) if (!protocolRowNames.includes(n)) throw new Error(`--only: no row '${n}' (rows: ${protocolRowNames.join(', ')})`);
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

let runCount = 0;

/** One measured run of `row`: a quiet host, the warm-up, then the load with the server's CPU read. */
async function measure(server, row, round) {
  // names unique over the whole run, so no answer meant for an earlier run can pass
  const n = ++runCount;
  const rec = { row: row.name, round, ok: false };
  const client = row.open({ host: HOST, ports: PORTS, inFlight: IN_FLIGHT, channels: CHANNELS });
  try {
    const q = await waitQuiet(QUIET_PCT, QUIET_WAIT);
    if (WARMUP > 0) {
      const w = await closedLoop({ client, inFlight: IN_FLIGHT, secs: WARMUP, prefix: `w${n}` });
      Object.assign(rec, { warmupChecked: w.checked, warmupMismatched: w.mismatched, warmupErrors: w.errors });
      if (w.mismatched || w.errors || !w.checked) throw new Error(`warm-up: ${w.mismatched} of ${w.checked} answers wrong, ${w.errors} calls failed (first: ${w.firstMismatch ?? w.firstError})`);
    }
    const retrans0 = client.stats?.().retransmissions ?? 0;
    // the server process apart from the rest of its tree (its instances and pool)
    const cpuUntil = serverCpuWindow(server.pid, SERVER_CPUS);
    const l = await closedLoop({ client, inFlight: IN_FLIGHT, secs: DURATION, prefix: `n${n}` });
    // every call answered in the window (and the few just after it) was served while CPU was counted
    Object.assign(rec, l, cpuUntil(l.checked), {
      retransmissions: (client.stats?.().retransmissions ?? 0) - retrans0,
      preHostBusyPct: q.hostBusyPct,
      quietWaitS: q.waitedS,
    });
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
  const pkg = (n) => {
    try {
      return JSON.parse(fs.readFileSync(path.join(HERE, '../node_modules', n, 'package.json'), 'utf8')).version;
    } catch {
      return null;
    }
  };
  return {
    ...hostFacts(path.join(HERE, '..')),
    label: opt.label,
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
  publishResults(OUT, 'ferry-protocols', { facts: f, summary, runs, md }, log);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
