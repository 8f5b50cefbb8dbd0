#!/usr/bin/env node
// Where a call's CPU goes in the server process, as microseconds per call by function (self and
// inclusive), from what `node bench/cpu-per-call.mjs` wrote into DIR:
// - `--perf DIR`: perf's task-clock samples (`perf.<pid>.data`), which count only the time the
//   server ran: the figures to read on a shared host;
// - `--cpu-prof DIR`: V8's profiles (`*.cpuprofile`), cut to the measured run. V8 samples by wall
//   clock, so on a busy host the time the server waited for a CPU lands on whatever it was in
//   (a system call, mostly): read those on a quiet host only.
//   node bench/profile-summary.mjs DIR [--top 40] [--match src/]   (--match: inclusive rows whose name has it)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { helpIfAsked } from './warm/options.mjs';

helpIfAsked(import.meta.url);
const { values: opt, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '40' }, match: { type: 'string', default: '' } } });
const dir = positionals[0];
if (!dir) throw new Error('usage: node bench/profile-summary.mjs DIR [--top 40]');

/** `name file:line`, with paths cut to what says where (Ferry's dist/, a package, node:). */
function frameName(cf) {
  const url = cf.url.replace(/^.*\/(dist|node_modules)\//, '$1/').replace(/^file:\/\//, '');
  return `${cf.functionName || '(anonymous)'}${url ? ` ${url}:${cf.lineNumber + 1}` : ''}`;
}

/** Self and inclusive time (µs) per frame name over the samples in [from, to]. */
function summarize(profile, from, to) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map();
  const incl = new Map();
  let t = profile.startTime;
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i];
    if (t < from || t > to) continue;
    const d = profile.timeDeltas[i + 1] ?? 0;
    const node = byId.get(profile.samples[i]);
    const name = frameName(node.callFrame);
    if (name === '(idle)') continue;
    total += d;
    self.set(name, (self.get(name) ?? 0) + d);
    const seen = new Set();
    for (let id = node.id; id !== undefined; id = parent.get(id)) {
      const k = frameName(byId.get(id).callFrame);
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + d);
    }
  }
  return { self, incl, total };
}

/** The same sums from `perf script`: each sample's period (ns of CPU) on its stack, leaf first. */
function summarizePerf(file) {
  const text = execFileSync('perf', ['script', '-i', file, '-F', 'period,ip,sym'], { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] });
  const self = new Map();
  const incl = new Map();
  let total = 0;
  for (const block of text.split('\n\n')) {
    const lines = block.split('\n').filter((l) => l.trim());
    if (lines.length < 2) continue;
    const us = Number(lines[0].trim()) / 1000;
    const frames = lines.slice(1).map((l) => l.trim().replace(/^[0-9a-f]+\s+/, '').replace(/file:\/\/\S*?\/(dist|node_modules)\//, '$1/'));
    total += us;
    self.set(frames[0], (self.get(frames[0]) ?? 0) + us);
    for (const f of new Set(frames)) incl.set(f, (incl.get(f) ?? 0) + us);
  }
  return { self, incl, total };
}

function print(title, s, requests) {
  const perCall = (us) => (us / requests).toFixed(2).padStart(6);
  console.log(`# ${title}: ${requests} calls, ${perCall(s.total)} µs of sampled CPU per call`);
  console.log('## self, µs per call');
  for (const [k, v] of [...s.self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${perCall(v)}  ${k}`);
  console.log(`## inclusive, µs per call${opt.match ? ` (names with '${opt.match}')` : ''}`);
  for (const [k, v] of [...s.incl].filter(([k]) => k.includes(opt.match)).sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${perCall(v)}  ${k}`);
}

const top = Number(opt.top);
for (const file of fs.readdirSync(dir).filter((f) => /^perf\.\d+\.data$/.test(f))) {
  const w = JSON.parse(fs.readFileSync(path.join(dir, `window-${file.split('.')[1]}.json`), 'utf8'));
  print(`${w.row} (${file})`, summarizePerf(path.join(dir, file)), w.requests);
}
for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
  const pid = file.split('.')[3];
  const windowFile = path.join(dir, `window-${pid}.json`);
  if (!fs.existsSync(windowFile)) continue;
  const w = JSON.parse(fs.readFileSync(windowFile, 'utf8'));
  const s = summarize(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')), w.from, w.to);
  print(`${w.row ?? ''} (${file}, idle left out)`, s, w.requests);
}
