#!/usr/bin/env node
// Where a call's CPU goes in the server process: the V8 CPU profiles written by
// `node bench/cpu-per-call.mjs --cpu-prof DIR`, each cut to its measured run (the window file
// beside it) and summed by function, as microseconds per call (self time over the run's calls).
//   node bench/profile-summary.mjs DIR [--top 40]
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values: opt, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '40' } } });
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

const top = Number(opt.top);
for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
  const pid = file.split('.')[3];
  const windowFile = path.join(dir, `window-${pid}.json`);
  if (!fs.existsSync(windowFile)) continue;
  const w = JSON.parse(fs.readFileSync(windowFile, 'utf8'));
  const s = summarize(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')), w.from, w.to);
  const perCall = (us) => (us / w.requests).toFixed(2).padStart(6);
  console.log(`# ${file}: ${w.requests} calls, ${perCall(s.total)} µs of sampled CPU per call (idle left out)`);
  console.log('## self, µs per call');
  for (const [k, v] of [...s.self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${perCall(v)}  ${k}`);
  console.log('## inclusive, µs per call');
  for (const [k, v] of [...s.incl].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${perCall(v)}  ${k}`);
}
