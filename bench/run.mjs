// `npm run bench` (through bench/run.sh): the shared anchors harness (cold start, idle RSS and its
// plain warm rows), then bench/warm.mjs (the warm rows with every body checked), then, with the
// many-functions row, bench/process-switch.mjs (the host's cost of many processes), then
// bench/protocols.mjs (one function over HTTP, gRPC and CoAP), then bench/images.mjs (container
// images beside plain functions), then bench/cluster.mjs (async executions/s with 1, 2 and 3
// workers on NATS beside the embedded store, and sync warm through a gateway beside one node and a
// plain one-hop proxy), one after the other, and where the result files are. Options both runners know go to both; --phases,
// --cold-runs, --rss-runs, --rss-idle-ms and --targets-dir to the harness alone; each --only
// name to the runner(s) that have such a target (a runner left with none is skipped); --quick
// (or FERRY_BENCH_QUICK=1) is one round of 2 s for development. `npm run bench -- --help`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { imageRowNames } from './images/rows.mjs';
import { protocolRowNames } from './protocols/rows.mjs';
import { clusterRowNames } from './cluster/rows.mjs';
import { rowNames } from './warm/rows.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const fail = (msg) => {
  console.error(`bench: ${msg}`);
  process.exit(2);
};
const ANCHORS = process.env.FERRY_ANCHORS ?? fail('run through bench/run.sh, which finds the anchors harness');
const str = { type: 'string' };
const shared = ['rounds', 'duration', 'warmup', 'connections', 'threads', 'loadgen-cpus', 'server-cpus', 'quiet-pct', 'quiet-wait', 'out', 'base-port', 'label', 'skip'];
const harnessOnly = ['phases', 'cold-runs', 'rss-runs', 'rss-idle-ms'];
const { values: opt } = (() => {
  try {
    return parseArgs({
      options: {
        ...Object.fromEntries([...shared, ...harnessOnly].map((k) => [k, str])),
        'targets-dir': { type: 'string', multiple: true, default: [] },
        only: str,
        'no-pin': { type: 'boolean', default: false },
        quick: { type: 'boolean', default: process.env.FERRY_BENCH_QUICK === '1' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    return fail(e.message);
  }
})();
if (opt.help) {
  console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\nimport ')[0]);
  console.log(`warm rows (bench/warm.mjs): ${rowNames.join(', ')}\nprotocol rows (bench/protocols.mjs): ${protocolRowNames.join(', ')}\ncluster rows (bench/cluster.mjs): ${clusterRowNames.join(', ')}\nimage rows (bench/images.mjs): ${imageRowNames.join(', ')}\nharness targets when no --only is given: ${process.env.FERRY_BENCH_ANCHORS_ONLY}`);
  process.exit(0);
}

/** The names of the harness's targets: its own, Ferry's (bench/targets) and any --targets-dir. */
async function harnessNames(dirs) {
  const names = [];
  for (const dir of dirs) {
    for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.mjs')).sort()) {
      const mod = await import(pathToFileURL(path.join(dir, f)).href);
      for (const t of [mod.default].flat()) names.push(t.name);
    }
  }
  return names;
}

const dirs = [path.join(HERE, 'targets'), ...opt['targets-dir'].map((d) => path.resolve(d))];
let harnessOnlyList = process.env.FERRY_BENCH_ANCHORS_ONLY;
let warmOnlyList;
let protocolsOnlyList;
let imagesOnlyList;
let clusterOnlyList;
if (!opt.only) {
  // The default list, less the targets this host does not offer (a tier it cannot run).
  const known = new Set(await harnessNames([path.join(ANCHORS, 'targets'), ...dirs]));
  harnessOnlyList = harnessOnlyList?.split(',').filter((n) => known.has(n)).join(',');
}
if (opt.only) {
  const known = new Set(await harnessNames([path.join(ANCHORS, 'targets'), ...dirs]));
  const want = opt.only.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = want.filter((n) => !known.has(n) && !rowNames.includes(n) && !protocolRowNames.includes(n) && !imageRowNames.includes(n) && !clusterRowNames.includes(n));
  if (unknown.length) fail(`--only: no target or row named ${unknown.join(', ')}\n  harness: ${[...known].join(', ')}\n  warm: ${rowNames.join(', ')}\n  protocols: ${protocolRowNames.join(', ')}\n  images: ${imageRowNames.join(', ')}\n  cluster: ${clusterRowNames.join(', ')}`);
  harnessOnlyList = want.filter((n) => known.has(n)).join(',');
  warmOnlyList = want.filter((n) => rowNames.includes(n)).join(',');
  protocolsOnlyList = want.filter((n) => protocolRowNames.includes(n)).join(',');
  imagesOnlyList = want.filter((n) => imageRowNames.includes(n)).join(',');
  clusterOnlyList = want.filter((n) => clusterRowNames.includes(n)).join(',');
}

const pass = (keys) => keys.flatMap((k) => (opt[k] === undefined ? [] : [`--${k}`, opt[k]]));
const quick = opt.quick ? ['--rounds', '1', '--duration', '2', '--warmup', '1', '--quiet-wait', '0'] : [];
const pin = opt['no-pin'] ? ['--no-pin'] : [];
const harnessArgs = [
  ...quick, ...(opt.quick ? ['--cold-runs', '3', '--rss-runs', '1'] : []),
  ...dirs.flatMap((d) => ['--targets-dir', d]), '--only', harnessOnlyList, ...pass(shared), ...pass(harnessOnly), ...pin,
];
const warmArgs = [...quick, ...(warmOnlyList ? ['--only', warmOnlyList] : []), ...pass(shared), ...pin];
// the protocol runner has no wrk, so no --threads
const imagesArgs = [...quick, ...(opt.quick ? ['--cold-runs', '3'] : []), ...(imagesOnlyList ? ['--only', imagesOnlyList] : []), ...pass(shared), ...pin];
// the cluster runner measures with its own counts and wrk lengths (--quick shortens them) and writes where --out says
const clusterArgs = [...(opt.quick ? ['--quick'] : []), ...(clusterOnlyList ? ['--only', clusterOnlyList] : []), ...(opt.out ? ['--out', opt.out] : [])];
const protocolsArgs = [...quick, ...(protocolsOnlyList ? ['--only', protocolsOnlyList] : []), ...pass(shared.filter((k) => k !== 'threads')), ...pin];

const out = path.resolve(opt.out ?? path.join(process.env.ANCHORS_TMP || '/tmp/anchors', 'results'));
const started = Date.now();
/** The newest result file `prefix`*.md written since this run started, or a note that none was. */
function written(prefix) {
  const files = fs.existsSync(out) ? fs.readdirSync(out).filter((f) => f.startsWith(prefix) && f.endsWith('.md') && !f.includes('latest')) : [];
  const fresh = files.map((f) => path.join(out, f)).filter((f) => fs.statSync(f).mtimeMs >= started).sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  return fresh[0] ? `${fresh[0]} (and .json)` : 'none written';
}

const status = {};
const step = (name, cmd, args, env = {}) => {
  console.error(`\n== ${name}: ${cmd} ${args.join(' ')}\n`);
  status[name] = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } }).status;
};
if (harnessOnlyList) step('anchors harness', path.join(ANCHORS, 'run.sh'), harnessArgs);
else console.error('anchors harness: skipped (no --only name is one of its targets)');
if (!opt.only || warmOnlyList) step('warm rows', process.execPath, [path.join(HERE, 'warm.mjs'), ...warmArgs], { FERRY_ANCHORS: ANCHORS });
else console.error('warm rows: skipped (no --only name is one of its rows)');
// The many-functions row beside what the host charges for spreading calls over processes at all.
if (!opt.only || warmOnlyList?.split(',').includes('ferry-many')) step('process switches', process.execPath, [path.join(HERE, 'process-switch.mjs'), ...(opt.quick ? ['--seconds', '1'] : [])]);
if (!opt.only || protocolsOnlyList) step('protocol rows', process.execPath, [path.join(HERE, 'protocols.mjs'), ...protocolsArgs]);
else console.error('protocol rows: skipped (no --only name is one of its rows)');
if (!opt.only || imagesOnlyList) step('image rows', process.execPath, [path.join(HERE, 'images.mjs'), ...imagesArgs], { FERRY_ANCHORS: ANCHORS });
else console.error('image rows: skipped (no --only name is one of its rows)');
if (!opt.only || clusterOnlyList) step('cluster rows', process.execPath, [path.join(HERE, 'cluster.mjs'), ...clusterArgs], { FERRY_ANCHORS: ANCHORS });
else console.error('cluster rows: skipped (no --only name is one of its rows)');

console.log('\nResults:');
if ('anchors harness' in status) console.log(`  anchors harness (cold start, idle RSS, warm without body checks): ${written('anchors-')}${status['anchors harness'] ? `  FAILED (exit ${status['anchors harness']})` : ''}`);
if ('process switches' in status) console.log(`  process switches (no Ferry): above${status['process switches'] ? `  FAILED (exit ${status['process switches']})` : ''}`);
if ('warm rows' in status) console.log(`  warm rows, every body checked: ${written('ferry-warm-')}${status['warm rows'] ? `  FAILED (exit ${status['warm rows']})` : ''}`);
if ('protocol rows' in status) console.log(`  HTTP, gRPC and CoAP, every answer checked: ${written('ferry-protocols-')}${status['protocol rows'] ? `  FAILED (exit ${status['protocol rows']})` : ''}`);
if ('image rows' in status) console.log(`  container images beside plain functions, cold and warm, every answer checked: ${written('ferry-images-')}${status['image rows'] ? `  FAILED (exit ${status['image rows']})` : ''}`);
if ('cluster rows' in status) console.log(`  a cluster on NATS beside one node on the embedded store, async and sync: ${written('ferry-cluster-')}${status['cluster rows'] ? `  FAILED (exit ${status['cluster rows']})` : ''}`);
process.exit(Object.values(status).some((s) => s !== 0) ? 1 : 0);
