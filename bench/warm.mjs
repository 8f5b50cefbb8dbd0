#!/usr/bin/env node
// Ferry's warm-path benchmark: every shape of function at default settings, and 100 functions at
// once, each paired round by round with a bare node:http server (and workerd and Knative's
// faas-js-runtime beside them), with every answer's body checked. The method is the anchors
// harness's (../shared/anchors: wrk -t1 -c50, warm-up thrown away, server side pinned to CPU 1
// and wrk to CPU 0, a fresh server per run, rows rotated per round, a quiet host awaited); what
// the harness cannot do is drive wrk with a script, which this runner does (bench/wrk/checked.lua).
//   node bench/warm.mjs [--rounds 3] [--duration 8] [--warmup 2] [--only a,b] [--quick] ...
// Results: $ANCHORS_TMP/results/ferry-warm-<time>.md and .json, and ferry-warm-latest.*.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { hostFacts, procTree, rssMB, run, serverCpuWindow, startProcess, stopProcess, waitQuiet, waitReady } from './warm/host.mjs';
import { runnerOptions, runnerSettings, usage } from './warm/options.mjs';
import { loadRows, rowNames } from './warm/rows.mjs';
import { markdown, summarize, publishResults } from './warm/report.mjs';
import { runWrk } from './warm/wrk.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const { values: opt } = parseArgs({ options: { ...runnerOptions(24000), threads: { type: 'string', default: '1' }, list: { type: 'boolean', default: false } } });
if (opt.list) {
  console.log(rowNames.join('\n'));
  process.exit(0);
}
if (opt.help) {
  console.log(usage(import.meta.url));
  console.log(`rows: ${rowNames.join(', ')}`);
  process.exit(0);
}
const { rounds: ROUNDS, duration: DURATION, warmup: WARMUP, quietWait: QUIET_WAIT, quietPct: QUIET_PCT, connections: CONNS, pin: PIN, loadCpus: LOAD_CPUS, serverCpus: SERVER_CPUS, tmp: TMP, out: OUT, logs: LOGS, basePort } = runnerSettings(opt);
const THREADS = Number(opt.threads);
const WORK = path.join(TMP, 'ferry-warm');
const ANCHORS = path.resolve(process.env.FERRY_ANCHORS ?? path.join(HERE, '../../shared/anchors'));

const log = (...a) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...a);
const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const rotate = (xs, k) => xs.map((_, i) => xs[(i + k) % xs.length]);
let port = basePort;

/** The rows asked for: --only (plus the baseline, and the row a ratio refers to) minus --skip. */
function select(rows) {
  const known = new Set(rows.map((r) => r.name));
  const only = opt.only ? new Set(opt.only.split(',').map((s) => s.trim()).filter(Boolean)) : null;
  for (const n of only ?? []) if (!known.has(n)) throw new Error(`--only: no row '${n}' (rows: ${[...known].join(', ')})`);
  const skip = new Set((opt.skip ?? '').split(',').map((s) => s.trim()));
  // a row that takes minutes (a VM boot per run under emulation) runs only when named
  const sel = rows.filter((r) => r.baseline || ((only ? only.has(r.name) : !r.byNameOnly) && !skip.has(r.name)));
  const references = new Set(sel.map((r) => r.reference).filter(Boolean));
  return rows.filter((r) => sel.includes(r) || references.has(r.name));
}

/** One measured run: a fresh server, ready, prepared, a quiet host, the warm-up, then wrk. */
async function measure(row, ctxBase, round) {
  const ctx = { ...ctxBase, port: ++port };
  const rec = { row: row.name, round, ok: false };
  const child = startProcess(row.spawn(ctx), { cpus: SERVER_CPUS, log: path.join(LOGS, `warm-r${round}-${row.name}.log`), cwd: ANCHORS });
  try {
    await waitReady(child, ctx.port, row.path, row.ready, row.readyTimeoutMs ?? 60_000);
    if (row.prepare) await row.prepare(ctx);
    const q = await waitQuiet(QUIET_PCT, QUIET_WAIT);
    // memory at rest, every instance warm: the server process, and the rest of its tree
    const tree = procTree(child.pid);
    Object.assign(rec, { serverRssMB: rssMB([child.pid]), restRssMB: rssMB(tree.slice(1)) });
    const load = { port: ctx.port, row, expectFile: path.join(WORK, `expect-${row.name}`), connections: CONNS, threads: THREADS, cpus: LOAD_CPUS };
    if (WARMUP > 0) {
      const w = await runWrk({ ...load, secs: WARMUP });
      Object.assign(rec, { warmupChecked: w.checked, warmupMismatched: w.mismatched });
      if (w.mismatched !== 0 || !(w.checked > 0)) throw Object.assign(new Error(`warm-up: ${w.mismatched} of ${w.checked} bodies wrong (first: ${w.firstMismatch})`), { w });
    }
    // the server process apart from the rest of its tree (a Ferry server's instances and pool):
    // CPU per call on each side of the frame socket
    const cpuUntil = serverCpuWindow(child.pid, SERVER_CPUS);
    const w = await runWrk({ ...load, secs: DURATION });
    Object.assign(rec, w, cpuUntil(w.requests), { preHostBusyPct: q.hostBusyPct, quietWaitS: q.waitedS });
    if (w.mismatched !== 0 || !(w.checked > 0)) throw new Error(`${w.mismatched} of ${w.checked} bodies wrong (first: ${w.firstMismatch})`);
    rec.ok = true;
    log(`r${round + 1} ${row.name}: ${fmt(w.rps)} req/s p50 ${fmt(w.p50, 2)} ms p99 ${fmt(w.p99, 2)} ms, ${w.checked} bodies checked, server cpu ${fmt(rec.serverCpuPct)}% wrk cpu ${fmt(w.wrkCpuPct)}% foreign ${fmt(rec.foreignOnServerCpuPct)}% (pre ${fmt(q.hostBusyPct)}%, waited ${fmt(q.waitedS, 1)} s) errors ${w.socketErrors}/${w.non2xx}`);
  } catch (e) {
    rec.error = e.message;
    if (e.w) Object.assign(rec, { checked: e.w.checked, mismatched: e.w.mismatched });
    log(`r${round + 1} ${row.name}: FAILED: ${e.message}`);
  } finally {
    await stopProcess(child, row.stopGraceMs);
  }
  return rec;
}

function facts(rows, ctxBase) {
  const pkg = (n) => {
    try {
      return JSON.parse(fs.readFileSync(path.join(ctxBase.nm, n, 'package.json'), 'utf8')).version;
    } catch {
      return null;
    }
  };
  const f = {
    ...hostFacts(path.join(HERE, '..')),
    label: opt.label,
    python: `${ctxBase.python} ${run(ctxBase.python, ['-c', 'import platform; print(platform.python_version())']) ?? '?'}`,
    wrk: run('dpkg-query', ['-W', '-f=${Version}', 'wrk']) ?? run('sh', ['-c', 'wrk -v 2>&1 | head -1']),
    packages: { workerd: pkg('workerd'), 'faas-js-runtime': pkg('faas-js-runtime') },
    rows: {},
    config: { rounds: ROUNDS, duration: DURATION, warmup: WARMUP, connections: CONNS, threads: THREADS, quietPct: QUIET_PCT, quietWaitS: QUIET_WAIT, pinned: PIN, loadgenCpus: LOAD_CPUS ?? 'any', serverCpus: SERVER_CPUS ?? 'any' },
  };
  for (const r of rows) {
    try {
      f.rows[r.name] = r.version ? r.version({ ...ctxBase }) : null;
    } catch (e) {
      f.rows[r.name] = `? (${e.message})`;
    }
  }
  return f;
}

async function main() {
  if (!fs.existsSync(path.join(ANCHORS, 'targets'))) throw new Error(`the anchors harness is not at ${ANCHORS} (set FERRY_ANCHORS)`);
  const ctxBase = {
    here: ANCHORS,
    fns: path.join(ANCHORS, 'fns'),
    tmp: TMP,
    nm: path.join(TMP, 'node_modules'),
    node: process.execPath,
    python: process.env.PYTHON || run('python3', ['-c', 'import sys; print(sys.executable)']) || '/usr/bin/python3',
  };
  if (!fs.existsSync(ctxBase.nm)) throw new Error(`${ctxBase.nm} is missing: run ${ANCHORS}/setup.sh`);
  if (!run('sh', ['-c', 'command -v wrk'])) throw new Error('wrk is not installed (the anchors setup.sh installs it)');
  for (const d of [OUT, LOGS, WORK]) fs.mkdirSync(d, { recursive: true });
  if (PIN) run('taskset', ['-a', '-p', '-c', LOAD_CPUS, String(process.pid)]);
  const all = await loadRows(ANCHORS);
  const rows = select(all);
  const fresh = (dir) => {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
  };
  for (const r of rows) {
    if (!r.byName) fs.writeFileSync(path.join(WORK, `expect-${r.name}`), r.body);
    if (r.setup) {
      const t0 = performance.now();
      await r.setup(ctxBase, fresh);
      log(`${r.name}: deployed ${r.functions.length} function(s) in ${fmt((performance.now() - t0) / 1000, 1)} s`);
    }
  }
  const f = facts(rows, ctxBase);
  const base = rows.find((r) => r.baseline);
  // a row measured against another in the same round runs right after it (with the bare run between)
  const units = rows.filter((r) => !r.baseline && !r.reference).map((r) => [r, ...rows.filter((x) => x.reference === r.name)]);
  const optIn = all.filter((r) => r.byNameOnly && !rows.includes(r)).map((r) => r.name);
  if (optIn.length) log(`by name only (--only): ${optIn.join(', ')}`);
  log(`rows: ${rows.map((r) => r.name).join(', ')}; ${ROUNDS} round(s) of ${DURATION} s after ${WARMUP} s; pinned: ${PIN}`);
  const runs = [];
  for (let round = 0; round < ROUNDS; round++) {
    let before = await measure(base, ctxBase, round);
    runs.push(before);
    for (const row of rotate(units, round).flat()) {
      const rec = await measure(row, ctxBase, round);
      const after = await measure(base, ctxBase, round);
      rec.bareAround = [before, after].filter((b) => b.ok).map((b) => b.rps);
      runs.push(rec, after);
      before = after;
      await sleep(300);
    }
  }
  const summary = summarize(rows, runs);
  const md = markdown(f, summary);
  publishResults(OUT, 'ferry-warm', { facts: f, summary, runs, md }, log);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
