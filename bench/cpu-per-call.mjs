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
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { run, serverCpuWindow, startProcess, stopProcess, waitReady } from './warm/host.mjs';
import { loadRows } from './warm/rows.mjs';
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
    before: { type: 'string' },
    'base-port': { type: 'string', default: '25000' },
  },
});
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
    await waitReady(child, ctx.port, row.path, row.ready, 60_000);
    if (row.prepare) await row.prepare(ctx);
    const load = { port: ctx.port, row, expectFile: path.join(WORK, `expect-${row.name}`), connections: Number(opt.connections), threads: 1, cpus: opt['loadgen-cpus'] };
    if (Number(opt.warmup) > 0) await runWrk({ ...load, secs: Number(opt.warmup) });
    const until = serverCpuWindow(child.pid, opt['server-cpus']);
    const from = process.hrtime.bigint() / 1000n;
    // perf samples the server's own CPU time (task-clock): time it spends descheduled on a
    // shared host is not counted, as a wall-clock sampler would count it
    const perf = opt.perf ? startProcess({ cmd: 'perf', args: ['record', '-q', '-g', '-e', 'task-clock', '-F', '4000', '-p', String(child.pid), '-o', path.join(path.resolve(opt.perf), `perf.${child.pid}.data`)] }, { log: path.join(LOGS, 'perf.log') }) : undefined;
    const w = await runWrk({ ...load, secs: Number(opt.duration) });
    if (perf) {
      process.kill(perf.pid, 'SIGINT');
      await perf.exited;
    }
    const c = until(w.requests);
    // The measured run's window on the profile's clock (both monotonic, in µs): what to summarize.
    const window = JSON.stringify({ from: Number(from), to: Number(process.hrtime.bigint() / 1000n), requests: w.requests, row: row.name });
    if (opt['cpu-prof'] && row.functions) fs.writeFileSync(path.join(opt['cpu-prof'], `window-${child.pid}.json`), window);
    if (opt.perf) fs.writeFileSync(path.join(opt.perf, `window-${child.pid}.json`), window);
    if (w.mismatched !== 0 || !(w.checked > 0)) throw new Error(`${w.mismatched} of ${w.checked} bodies wrong (first: ${w.firstMismatch})`);
    return { rps: w.rps, p50: w.p50, server: c.rootUsPerCall, rest: c.restUsPerCall, foreign: c.foreignOnServerCpuPct };
  } finally {
    await stopProcess(child, row.stopGraceMs);
  }
}

async function main() {
  for (const d of [WORK, LOGS]) fs.mkdirSync(d, { recursive: true });
  if (!run('sh', ['-c', 'command -v wrk'])) throw new Error('wrk is not installed (the anchors setup.sh installs it)');
  run('taskset', ['-a', '-p', '-c', opt['loadgen-cpus'], String(process.pid)]);
  const names = opt.only.split(',').map((s) => s.trim()).filter(Boolean);
  const all = await loadRows(ANCHORS);
  const picked = names.map((n) => all.find((r) => r.name === n) ?? (() => { throw new Error(`no row '${n}'`); })());
  const beforeCli = opt.before ? path.join(path.resolve(opt.before), 'dist/src/cli/main.js') : undefined;
  // the same row served by the other build: its server started from that build's CLI, on the same data
  const twin = (r) => ({ ...r, name: `${r.name}@before`, setup: undefined, spawn: (ctx) => {
    const spec = r.spawn(ctx);
    return { ...spec, args: spec.args.map((a) => (a.endsWith('dist/src/cli/main.js') ? beforeCli : a)) };
  } });
  const rows = picked.flatMap((r) => (beforeCli && r.functions ? [twin(r), r] : [r]));
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
      console.error(`rep ${rep + 1} ${r.name}: ${m.rps.toFixed(0)} req/s, server ${f1(m.server)} µs + rest ${f1(m.rest)} µs per call, p50 ${m.p50.toFixed(2)} ms, other tasks on the server core ${f1(m.foreign)}%`);
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
