#!/usr/bin/env node
// What this host charges for spreading calls over many processes, with no Ferry at all: one
// driver process sends fixed 64-byte messages, `--in-flight` at a time, round-robin to N plain
// Node.js echo processes over Unix sockets, everything pinned to one CPU (the warm runner pins a
// Ferry server and its instances to one CPU the same way). Each message costs the driver a write
// and a read, and the host two switches between processes, as a call spread over N functions
// costs Ferry's gateway and the N instances. Compare the `ferry-many` row with the drop here
// from 1 process to 100, not with one function alone.
//   node bench/process-switch.mjs [--counts 1,10,100] [--seconds 3] [--in-flight 50] [--cpu 1]
import net from 'node:net';
import os from 'node:os';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { helpIfAsked } from './warm/options.mjs';

helpIfAsked(import.meta.url);
const { values: opt } = parseArgs({
  options: {
    counts: { type: 'string', default: '1,10,100' },
    seconds: { type: 'string', default: '3' },
    'in-flight': { type: 'string', default: '50' },
    cpu: { type: 'string', default: os.cpus().length >= 2 ? '1' : '0' },
    child: { type: 'string' },
  },
});

if (opt.child) {
  // An echo process: answers every message with itself.
  net.createServer((s) => s.on('data', (d) => s.write(d)).on('error', () => {})).listen(opt.child, () => process.stdout.write('up\n'));
} else {
  execFileSync('taskset', ['-pc', opt.cpu, String(process.pid)], { stdio: 'ignore' });
  const dir = mkdtempSync(join(os.tmpdir(), 'ferry-switch-'));
  const rows = [];
  for (const n of opt.counts.split(',').map(Number)) rows.push(await measure(n, dir));
  rmSync(dir, { recursive: true, force: true });
  const base = rows[0].perSec;
  console.log(`\n| processes | messages/s | × ${rows[0].n} process(es) | µs per message |\n|---:|---:|---:|---:|`);
  for (const r of rows) console.log(`| ${r.n} | ${Math.round(r.perSec).toLocaleString('en')} | ${(r.perSec / base).toFixed(2)} | ${(1e6 / r.perSec).toFixed(1)} |`);
  console.log(`\n${opt['in-flight']} in flight, ${opt.seconds} s each after 1 s of warm-up, all on CPU ${opt.cpu}; ${os.cpus()[0]?.model ?? 'cpu'}, Linux ${os.release()}, Node.js ${process.version}`);
  process.exit(0);
}

async function measure(n, dir) {
  const kids = [];
  const socks = [];
  try {
    for (let i = 0; i < n; i++) {
      const path = join(dir, `${n}-${i}.sock`);
      const kid = spawn('taskset', ['-c', opt.cpu, process.execPath, new URL(import.meta.url).pathname, '--child', path], { stdio: ['ignore', 'pipe', 'inherit'] });
      kids.push(kid);
      await new Promise((resolve, reject) => {
        kid.stdout.once('data', resolve);
        kid.once('exit', (code) => reject(new Error(`echo process exited (${code})`)));
      });
      socks.push(await new Promise((resolve) => { const s = net.connect(path, () => resolve(s)); }));
    }
    const msg = Buffer.alloc(64, 1);
    let next = 0;
    let answered = 0;
    const send = () => socks[next++ % n].write(msg);
    for (const s of socks) {
      let pending = 0;
      s.on('data', (d) => {
        pending += d.length;
        while (pending >= 64) {
          pending -= 64;
          answered++;
          send();
        }
      });
    }
    for (let i = 0; i < Number(opt['in-flight']); i++) send();
    await sleep(1000);
    answered = 0;
    const t0 = process.hrtime.bigint();
    await sleep(Number(opt.seconds) * 1000);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    return { n, perSec: answered / secs };
  } finally {
    for (const s of socks) s.destroy();
    for (const k of kids) k.kill();
  }
}
