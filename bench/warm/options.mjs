// The options the checked runners (bench/warm.mjs, bench/protocols.mjs) share, and the settings
// they come to: the anchors harness's method, with --quick for development.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const str = { type: 'string' };

/** parseArgs options every checked runner takes; `basePort` is the runner's own first port. */
export function runnerOptions(basePort) {
  return {
    rounds: str,
    duration: str,
    warmup: str,
    connections: { type: 'string', default: '50' },
    only: str,
    skip: str,
    quick: { type: 'boolean', default: process.env.FERRY_BENCH_QUICK === '1' },
    'no-pin': { type: 'boolean', default: false },
    'loadgen-cpus': { type: 'string', default: '0' },
    'server-cpus': { type: 'string', default: '1' },
    'quiet-pct': { type: 'string', default: '10' },
    'quiet-wait': str,
    tmp: { type: 'string', default: process.env.ANCHORS_TMP || '/tmp/anchors' },
    out: str,
    'base-port': { type: 'string', default: String(basePort) },
    label: { type: 'string', default: '' },
    help: { type: 'boolean', short: 'h', default: false },
  };
}

/**
 * The settings of parsed `opt`: 3 rounds of 8 s after a 2 s warm-up and up to 20 s for a quiet
 * host, or with --quick one round of 2 s after 1 s and no wait; pinned when the host has 2 CPUs.
 */
export function runnerSettings(opt) {
  const num = (v, normal, quick) => Number(v ?? (opt.quick ? quick : normal));
  const pin = !opt['no-pin'] && os.cpus().length >= 2;
  const tmp = path.resolve(opt.tmp);
  return {
    rounds: num(opt.rounds, 3, 1),
    duration: num(opt.duration, 8, 2),
    warmup: num(opt.warmup, 2, 1),
    quietWait: num(opt['quiet-wait'], 20, 0),
    quietPct: Number(opt['quiet-pct']),
    connections: Number(opt.connections),
    pin,
    loadCpus: pin ? opt['loadgen-cpus'] : null,
    serverCpus: pin ? opt['server-cpus'] : null,
    tmp,
    out: path.resolve(opt.out ?? path.join(tmp, 'results')),
    logs: path.join(tmp, 'logs'),
    basePort: Number(opt['base-port']),
  };
}

/** The head comment of the runner at `fileUrl` (its `import.meta.url`), as its --help. */
export function usage(fileUrl) {
  return fs.readFileSync(fileURLToPath(fileUrl), 'utf8').split('\nimport ')[0].replace(/^(#!.*\n)?/, '');
}

/** `--help` or `-h` anywhere on the command line: prints the script's usage and exits. */
export function helpIfAsked(fileUrl) {
  if (!process.argv.includes('--help') && !process.argv.includes('-h')) return;
  console.log(usage(fileUrl));
  process.exit(0);
}
