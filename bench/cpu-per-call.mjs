#!/usr/bin/env node
// CPU per call of the warm rows, for before/after comparisons on a host that other work shares:
// throughput moves with whatever else runs, the CPU a call costs much less. Each repetition
// starts a fresh server of every row asked for (rows alternate within a repetition), makes it
// warm as bench/warm.mjs does, runs wrk with the body-checking script, and reads the CPU time of
// the server process and of the rest of its tree (a Ferry server's instances and pool) from
// /proc. The medians over the repetitions are the figures to compare.
//   node bench/cpu-per-call.mjs [--only node-http,ferry-hello] [--reps 5] [--duration 5] [--warmup 2]
//   node bench/cpu-per-call.mjs --only ferry-hello --reps 1 --cpu-prof /tmp/prof   # the server's V8 CPU profile too
//   node bench/cpu-per-call.mjs --only ferry-hello --before /tmp/old   # each Ferry row also from
//       another build (a checkout with its dist/), alternating with this one in every repetition
//   node bench/cpu-per-call.mjs --only ferry-hello --reps 1 --perf /tmp/perf  # perf record of the server
//   node bench/cpu-per-call.mjs --only ferry-hello --twin-args=--max-semi-space-size=32   # each Ferry
//       row also with these Node options for the server (same build), alternating
//   node bench/cpu-per-call.mjs --only node-http,ferry-hello --syscalls   # system calls and context
//       switches per call too, the server apart from the rest of its tree (perf stat)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { procTree, run, serverCpuWindow, startProcess, stopProcess, waitReady } from './warm/host.mjs';
import { loadRows } from './warm/rows.mjs';
import { usage } from './warm/options.mjs';
import { runWrk } from './warm/wrk.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const { values: opt } = parseArgs({
  options: {
    only: { type: 'string', default: 'node-http,ferry-hello' },
    reps: { type: 'string', default: '5' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '50' },
    'server-cpus': { type: 'string', default: '1' },
    'loadgen-cpus': { type: 'string', default: '0' },
    'cpu-prof': { type: 'string' },
    perf: { type: 'string' },
    syscalls: { type: 'boolean' },
    before: { type: 'string' },
    'twin-args': { type: 'string' },
    'base-port': { type: 'string', default: '25000' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (opt.help) {
  console.log(usage(import.meta.url));
  process.exit(0);
}
const TMP = process.env.ANCHORS_TMP ?? '/tmp/anchors';
const WORK = path.join(TMP, 'ferry-cpu');
const LOGS = path.join(TMP, 'logs');
const ANCHORS = path.resolve(process.env.FERRY_ANCHORS ?? path.join(HERE, '../../shared/anchors'));
const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
let port = Number(opt['base-port']);

async function measure(row, ctxBase) {
  const ctx = { ...ctxBase, port: ++port };
  const spec = row.spawn(ctx);
  if (opt['cpu-prof'] && row.functions) spec.args = ['--cpu-prof', '--cpu-prof-dir', path.resolve(opt['cpu-prof']), ...spec.args];
  // perf needs the JIT's symbols, interpreted frames included
  if (opt.perf && spec.cmd === process.execPath) spec.args = ['--perf-basic-prof', '--interpreted-frames-native-stack', ...spec.args];
  const child = startProcess(spec, { cpus: opt['server-cpus'], log: path.join(LOGS, `cpu-${row.name}.log`), cwd: ANCHORS });
  try {
    await waitReady(child, ctx.port, row.path, row.ready, row.readyTimeoutMs ?? 60_000);
    if (row.prepare) await row.prepare(ctx);
    const load = { port: ctx.port, row, expectFile: path.join(WORK, `expect-${row.name}`), connections: Number(opt.connections), threads: 1, cpus: opt['loadgen-cpus'] };
    if (Number(opt.warmup) > 0) await runWrk({ ...load, secs: Number(opt.warmup) });
    const until = serverCpuWindow(child.pid, opt['server-cpus']);
    const from = process.hrtime.bigint() / 1000n;
    // perf samples the server's own CPU time (task-clock): time it spends descheduled on a
    // shared host is not counted, as a wall-clock sampler would count it
    const perf = opt.perf ? startProcess({ cmd: 'perf', args: ['record', '-q', '-g', '-e', 'task-clock', '-F', '4000', '-p', String(child.pid), '-o', path.join(path.resolve(opt.perf), `perf.${child.pid}.data`)] }, { log: path.join(LOGS, 'perf.log') }) : undefined;
    const counters = opt.syscalls ? countSyscalls(child.pid) : undefined;
    const w = await runWrk({ ...load, secs: Number(opt.duration) });
    if (perf) {
      process.kill(perf.pid, 'SIGINT');
      await perf.exited;
    }
    const counted = counters ? await counters(w.requests) : {};
    const c = until(w.requests);
    // The measured run's window on the profile's clock (both monotonic, in µs): what to summarize.
    const window = JSON.stringify({ from: Number(from), to: Number(process.hrtime.bigint() / 1000n), requests: w.requests, row: row.name });
    if (opt['cpu-prof'] && row.functions) fs.writeFileSync(path.join(opt['cpu-prof'], `window-${child.pid}.json`), window);
    if (opt.perf) fs.writeFileSync(path.join(opt.perf, `window-${child.pid}.json`), window);
    if (w.mismatched !== 0 || !(w.checked > 0)) throw new Error(`${w.mismatched} of ${w.checked} bodies wrong (first: ${w.firstMismatch})`);
    return { rps: w.rps, p50: w.p50, server: c.rootUsPerCall, rest: c.restUsPerCall, foreign: c.foreignOnServerCpuPct, ...counted };
  } finally {
    await stopProcess(child, row.stopGraceMs);
  }
}

/**
 * Counts the system calls and context switches of the server and of the rest of its tree while
 * wrk runs (perf stat, per thread); the returned function stops it and gives them per call.
 */
function countSyscalls(pid) {
  const pids = procTree(pid);
  const out = path.join(WORK, `perf-stat-${pid}.txt`);
  const stat = startProcess({ cmd: 'perf', args: ['stat', '--per-thread', '-x', ',', '-e', 'raw_syscalls:sys_enter,context-switches', '-o', out, '-p', pids.join(',')] }, { log: path.join(LOGS, 'perf.log') });
  return async (calls) => {
    process.kill(stat.pid, 'SIGINT');
    await stat.exited;
    const sums = { sysServer: 0, sysRest: 0, csServer: 0, csRest: 0 };
    // lines: <comm>-<tid>,<count>,,<event>,...
    for (const line of fs.readFileSync(out, 'utf8').split('\n')) {
      const m = /^(.*)-(\d+),(\d+),[^,]*,([^,]+),/.exec(line);
      if (!m) continue;
      const tid = Number(m[2]);
      const server = tid === pid || fs.existsSync(`/proc/${pid}/task/${tid}`);
      const key = `${m[4].startsWith('raw_syscalls') ? 'sys' : 'cs'}${server ? 'Server' : 'Rest'}`;
      sums[key] += Number(m[3]);
    }
    for (const k of Object.keys(sums)) sums[k] /= calls;
    return sums;
  };
}

async function main() {
  for (const d of [WORK, LOGS, opt.perf, opt['cpu-prof']]) if (d) fs.mkdirSync(d, { recursive: true });
  if (!run('sh', ['-c', 'command -v wrk'])) throw new Error('wrk is not installed (the anchors setup.sh installs it)');
  run('taskset', ['-a', '-p', '-c', opt['loadgen-cpus'], String(process.pid)]);
  const names = opt.only.split(',').map((s) => s.trim()).filter(Boolean);
  const all = await loadRows(ANCHORS);
  const picked = names.map((n) => all.find((r) => r.name === n) ?? (() => { throw new Error(`no row '${n}'`); })());
  const beforeCli = opt.before ? path.join(path.resolve(opt.before), 'dist/src/cli/main.js') : undefined;
  // the same row served by the other build: its server started from that build's CLI, on the same data
  const twinArgs = opt['twin-args']?.split(/\s+/).filter(Boolean) ?? [];
  const twin = (r) => ({ ...r, name: `${r.name}@${beforeCli ? 'before' : 'twin'}`, setup: undefined, spawn: (ctx) => {
    const spec = r.spawn(ctx);
    const args = spec.args.map((a) => (beforeCli && a.endsWith('dist/src/cli/main.js') ? beforeCli : a));
    return { ...spec, args: [...twinArgs, ...args] };
  } });
  const rows = picked.flatMap((r) => ((beforeCli || twinArgs.length) && r.functions ? [twin(r), r] : [r]));
  const ctxBase = { here: ANCHORS, fns: path.join(ANCHORS, 'fns'), tmp: TMP, node: process.execPath };
  const fresh = (dir) => {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
  };
  for (const r of rows) {
    if (!r.byName) fs.writeFileSync(path.join(WORK, `expect-${r.name}`), r.body);
    if (r.setup) await r.setup(ctxBase, fresh);
  }
  const results = Object.fromEntries(rows.map((r) => [r.name, []]));
  for (let rep = 0; rep < Number(opt.reps); rep++) {
    for (const r of rep % 2 ? [...rows].reverse() : rows) {
      const m = await measure(r, ctxBase);
      results[r.name].push(m);
      const sys = opt.syscalls ? `; per call: system calls ${m.sysServer.toFixed(2)} + ${m.sysRest.toFixed(2)}, context switches ${m.csServer.toFixed(2)} + ${m.csRest.toFixed(2)}` : '';
      console.error(`rep ${rep + 1} ${r.name}: ${m.rps.toFixed(0)} req/s, server ${f1(m.server)} µs + rest ${f1(m.rest)} µs per call, p50 ${m.p50.toFixed(2)} ms, other tasks on the server core ${f1(m.foreign)}%${sys}`);
    }
  }
  console.log('| row | req/s | server µs/call | rest of tree µs/call | total µs/call | other tasks % |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const xs = results[r.name];
    const med = (k) => median(xs.map((x) => x[k]));
    console.log(`| ${r.name} | ${med('rps').toFixed(0)} | ${f1(med('server'))} (${xs.map((x) => f1(x.server)).join(', ')}) | ${f1(med('rest'))} | ${f1(median(xs.map((x) => x.server + x.rest)))} | ${f1(med('foreign'))} |`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
