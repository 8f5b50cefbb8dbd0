// `npm run bench:tree`: what one function instance costs in memory, process by process, under the
// `bwrap` driver (network `egress` and `none`) against the `process` driver. The method of
// docs/performance.md, "Instance trees, bwrap against the process driver":
//
//   - a fresh `ferry server --pool-size 0` per run (process driver: `--driver process
//     --unsandboxed`), on a free port and a fresh data dir;
//   - `examples/hello-python` or `examples/hello-node` deployed (a copy, its manifest's `network`
//     set to the configuration's), called once (200), then 1 s idle;
//   - the instance's tree: its first process (`GET /v1/functions/<name>/instances`) and every
//     descendant (by /proc/<pid>/status PPid), plus any slirp4netns that names one of those pids
//     as an argument (the per-instance network stack, a child of the server);
//   - per process: VmRSS (/proc/<pid>/status) and Pss (/proc/<pid>/smaps_rollup), summed over
//     the tree. The server's own RSS/PSS, and every other process under the server (shared by
//     all instances: network stack, mount service, log reader, ...), are reported apart.
//
// Options: --runs N (5), --only python|node, --configs egress,egress-slirp,none,process, --json (raw results).
// Needs Linux, the build (`npm run build`), and for the bwrap configurations a working bwrap;
// measuring the sandboxed processes needs root (or ptrace rights over them).
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../', import.meta.url));
const cli = join(repo, 'dist/src/cli/main.js');

// ---------------------------------------------------------------- options

const FUNCTIONS = {
  python: { example: 'examples/hello-python', name: 'hello-python' },
  node: { example: 'examples/hello-node', name: 'hello-node' },
};
const CONFIGS = {
  egress: { label: '`egress`', driver: 'bwrap', network: 'egress', serverArgs: [] },
  'egress-slirp': { label: '`egress`, `--egress-stack slirp4netns`', driver: 'bwrap', network: 'egress', serverArgs: ['--egress-stack', 'slirp4netns'] },
  none: { label: '`none`', driver: 'bwrap', network: 'none', serverArgs: [] },
  process: { label: 'process driver', driver: 'process', network: undefined, serverArgs: ['--driver', 'process', '--unsandboxed'] },
};

function usage(msg) {
  if (msg) process.stderr.write(`bench:tree: ${msg}\n`);
  process.stderr.write('usage: node bench/instance-tree.mjs [--runs N] [--only python|node] [--configs egress,egress-slirp,none,process] [--json]\n');
  process.exit(msg ? 2 : 0);
}

function parseArgs(argv) {
  const o = { runs: 5, only: Object.keys(FUNCTIONS), configs: Object.keys(CONFIGS), json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    if (a === '--runs') {
      o.runs = Number(value());
      if (!Number.isInteger(o.runs) || o.runs < 1) usage('--runs must be a positive integer');
    } else if (a === '--only') {
      const v = value();
      if (!(v in FUNCTIONS)) usage(`--only must be one of ${Object.keys(FUNCTIONS).join(', ')}`);
      o.only = [v];
    } else if (a === '--configs') {
      o.configs = value().split(',').map((s) => s.trim()).filter(Boolean);
      const bad = o.configs.filter((c) => !(c in CONFIGS));
      if (bad.length || !o.configs.length) usage(`--configs takes a comma-separated list of ${Object.keys(CONFIGS).join(', ')}`);
      o.configs = Object.keys(CONFIGS).filter((c) => o.configs.includes(c));
    } else if (a === '--json') o.json = true;
    else if (a === '-h' || a === '--help') usage();
    else usage(`unknown argument ${a}`);
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const log = (s) => process.stderr.write(`${s}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- cleanup: servers and dirs

/** Servers still running: { child, dataDir, known: Map<pid, starttime> }. */
const live = new Set();
/** Temp dirs to remove, whatever happens. */
const tempDirs = new Set();

function tempDir(prefix) {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(d);
  return d;
}

function removeDir(d) {
  try {
    rmSync(d, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    tempDirs.delete(d);
  } catch (err) {
    log(`bench:tree: could not remove ${d}: ${err.message}`);
  }
}

const alive = (child) => child.exitCode === null && child.signalCode === null;

function waitExit(child, ms) {
  if (!alive(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      child.off('exit', done);
      resolve(false);
    }, ms);
    function done() {
      clearTimeout(t);
      resolve(true);
    }
    child.once('exit', done);
  });
}

function signal(pid, sig) {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** A pid's start time (field 22 of /proc/<pid>/stat), so a reused pid is never taken for ours. */
function startTime(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Remembers every process under the server now, to sweep whatever outlives it. */
function remember(server) {
  const procs = snapshot();
  for (const pid of descendants(procs, server.child.pid)) {
    const st = startTime(pid);
    if (st !== undefined) server.known.set(pid, st);
  }
}

/** The remembered processes still running (same pid, same start time). */
const leftovers = (server) => [...server.known].filter(([pid, st]) => startTime(pid) === st).map(([pid]) => pid);

/** SIGTERM, wait up to 5 s, SIGKILL; then anything of the server still running; then the data dir. */
function stopServer(server) {
  server.stopping ??= stopping(server);
  return server.stopping;
}

async function stopping(server) {
  if (alive(server.child)) {
    remember(server);
    signal(server.child.pid, 'SIGTERM');
    if (!(await waitExit(server.child, 5000))) {
      log(`bench:tree: server ${server.child.pid} did not stop in 5 s; SIGKILL`);
      signal(-server.child.pid, 'SIGKILL');
      signal(server.child.pid, 'SIGKILL');
      await waitExit(server.child, 5000);
    }
  }
  // Instances and their network stacks go with the server; give them a moment, then make sure.
  for (let i = 0; i < 30 && leftovers(server).length; i++) await sleep(100);
  const left = leftovers(server);
  if (left.length) {
    log(`bench:tree: killing ${left.length} process(es) the server left behind: ${left.join(' ')}`);
    for (const pid of left) signal(pid, 'SIGKILL');
    for (let i = 0; i < 20 && leftovers(server).length; i++) await sleep(100);
  }
  live.delete(server);
  removeDir(server.dataDir);
}

/** Last resort on process exit (synchronous): kill what is left, remove the dirs. */
function cleanupSync() {
  for (const server of live) {
    signal(-server.child.pid, 'SIGKILL');
    signal(server.child.pid, 'SIGKILL');
    for (const pid of leftovers(server)) signal(pid, 'SIGKILL');
  }
  if (live.size) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
  live.clear();
  for (const d of [...tempDirs]) removeDir(d);
}
process.on('exit', cleanupSync);

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (interrupted) process.exit(130); // a second Ctrl-C: the exit handler kills everything
    interrupted = true;
    log(`\nbench:tree: ${sig}: stopping the servers`);
    Promise.allSettled([...live].map(stopServer)).finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  });
}

// ---------------------------------------------------------------- /proc

/** Every process: pid -> { pid, ppid, comm, rssKb }. */
function snapshot() {
  const procs = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let text;
    try {
      text = readFileSync(`/proc/${d}/status`, 'utf8');
    } catch {
      continue; // gone
    }
    const field = (k) => new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(text)?.[1];
    procs.set(Number(d), {
      pid: Number(d),
      ppid: Number(field('PPid')),
      comm: field('Name') ?? '?',
      rssKb: Number.parseInt(field('VmRSS') ?? '0', 10),
    });
  }
  return procs;
}

/** pid and all its descendants in a snapshot (pid first). */
function descendants(procs, root) {
  const children = new Map();
  for (const p of procs.values()) {
    if (!children.has(p.ppid)) children.set(p.ppid, []);
    children.get(p.ppid).push(p.pid);
  }
  const out = [];
  const walk = (pid) => {
    out.push(pid);
    for (const c of (children.get(pid) ?? []).sort((a, b) => a - b)) walk(c);
  };
  if (procs.has(root)) walk(root);
  return out;
}

function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** Pss in kB from smaps_rollup; null when it cannot be read (no rights, or gone). */
function pssKb(pid) {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** comm, or argv[0]'s file name when the kernel cut comm at 15 characters. */
function displayName(pid, comm) {
  if (comm.length < 15) return comm;
  const argv0 = cmdline(pid)[0]?.split('/').pop();
  return argv0?.startsWith(comm) ? argv0 : comm;
}

function measure(procs, pid, role) {
  const p = procs.get(pid);
  let rssKb = p.rssKb;
  try {
    // Re-read: the snapshot's figure may be a few ms older than the Pss below.
    rssKb = Number.parseInt(/^VmRSS:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '0', 10);
  } catch {
    /* gone: keep the snapshot's */
  }
  return { pid, ppid: p.ppid, comm: displayName(pid, p.comm), role, rssKb, pssKb: pssKb(pid) };
}

// ---------------------------------------------------------------- server, deploy, call

/** A free TCP port on 127.0.0.1 (listen on 0, close). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = http.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Keeps the last `max` characters of a stream (and drains it, so the child never blocks). */
function tail(stream, max = 8000) {
  const t = { text: '' };
  stream.setEncoding('utf8');
  stream.on('data', (c) => {
    t.text = (t.text + c).slice(-max);
  });
  return t;
}

async function startServer(config) {
  const port = await freePort();
  const dataDir = tempDir('ferry-bench-tree-data-');
  const argv = [cli, 'server', '--port', String(port), '--data-dir', dataDir, '--pool-size', '0', ...config.serverArgs];
  // Its own process group: a Ctrl-C in the terminal reaches this script only, which stops it.
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const server = { child, dataDir, known: new Map(), url: `http://127.0.0.1:${port}`, out: tail(child.stdout), err: tail(child.stderr) };
  live.add(server);
  child.once('error', (err) => log(`bench:tree: could not start the server: ${err.message}`));
  try {
    await ready(server);
  } catch (err) {
    await stopServer(server);
    throw err;
  }
  return server;
}

/** Ready = /healthz answers 200 and the admin token is written (30 s at most). */
async function ready(server) {
  const { child, dataDir } = server;
  const output = () =>
    `${server.err.text}${server.out.text}`
      .split('\n')
      .filter((l) => l.trim() && !/^\s*fry_\S+$|admin token/.test(l))
      .slice(-25)
      .join('\n');
  server.output = output;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (!alive(child)) throw new Error(`the server exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output()}`);
    try {
      const res = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200 && existsSync(join(dataDir, 'admin-token'))) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`the server did not become healthy in 30 s:\n${output()}`);
    await sleep(50);
  }
  server.token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
}

/** Runs a program to its end; resolves with its exit code and output. */
function run(cmd, args, { env, timeoutMs = 60_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env }, timeout: timeoutMs, killSignal: 'SIGKILL' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.once('error', reject);
    child.once('close', (code, sig) => resolve({ code: code ?? sig, stdout, stderr }));
  });
}

/**
 * Deploys a copy of the example (its manifest's `network` set for bwrap configurations) with the
 * CLI's own `ferry deploy`: the same packing as a user's deploy, no archive code here.
 */
async function deploy(server, fn, config) {
  const dir = join(tempDir('ferry-bench-tree-fn-'), fn.name);
  cpSync(join(repo, fn.example), dir, { recursive: true });
  if (config.network) {
    const file = join(dir, 'ferry.json');
    const manifest = JSON.parse(readFileSync(file, 'utf8'));
    manifest.network = config.network;
    writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
  }
  try {
    const r = await run(process.execPath, [cli, 'deploy', dir, '--name', fn.name, '--json'], { env: { FERRY_URL: server.url, FERRY_TOKEN: server.token } });
    if (r.code !== 0) throw new Error(`ferry deploy ${fn.example} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  } finally {
    removeDir(join(dir, '..'));
  }
}

async function callOnce(server, fn) {
  const res = await fetch(`${server.url}/fn/${fn.name}`, { signal: AbortSignal.timeout(30_000) });
  const body = await res.text();
  if (res.status === 200) return;
  let logs = '';
  try {
    const r = await fetch(`${server.url}/v1/functions/${fn.name}/logs?limit=20`, { headers: { authorization: `Bearer ${server.token}` }, signal: AbortSignal.timeout(5000) });
    logs = (await r.text()).trim();
  } catch {
    /* no logs then */
  }
  // The first line says why: the instance's own last stderr line, when it wrote one.
  let code = '';
  try {
    code = JSON.parse(body).code ?? '';
  } catch {
    /* not JSON */
  }
  const why = logs
    .split('\n')
    .map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        return {};
      }
    })
    .filter((l) => l.stream === 'stderr')
    .pop()?.line;
  throw new Error(`GET /fn/${fn.name} answered ${res.status}${code ? ` ${code}` : ''}${why ? `: ${why}` : ''}\nthe answer: ${body.slice(0, 500)}\nthe function's logs:\n${logs || '(none)'}\nthe server's output:\n${server.output()}`);
}

async function instancePid(server, fn) {
  const res = await fetch(`${server.url}/v1/functions/${fn.name}/instances`, { headers: { authorization: `Bearer ${server.token}` }, signal: AbortSignal.timeout(10_000) });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`GET /v1/functions/${fn.name}/instances answered ${res.status}: ${body.slice(0, 500)}`);
  const { instances } = JSON.parse(body);
  if (instances.length !== 1) throw new Error(`expected one instance of ${fn.name}, the server lists ${instances.length}: ${body.slice(0, 500)}`);
  const pid = instances[0].pid;
  if (!Number.isInteger(pid)) throw new Error(`the instance of ${fn.name} has no pid: ${body.slice(0, 500)}`);
  return pid;
}

// ---------------------------------------------------------------- one run

async function measureRun(fnKey, configKey, index) {
  const fn = FUNCTIONS[fnKey];
  const config = CONFIGS[configKey];
  const server = await startServer(config);
  try {
    await deploy(server, fn, config);
    await callOnce(server, fn);
    await sleep(1000);
    const pid = await instancePid(server, fn);

    const procs = snapshot();
    if (!procs.has(pid)) throw new Error(`the instance's pid ${pid} is not running`);
    const treePids = descendants(procs, pid);
    const inTree = new Set(treePids);
    // A per-instance network stack: a slirp4netns naming one of the tree's pids as an argument.
    for (const p of procs.values()) {
      if (p.comm !== 'slirp4netns' || inTree.has(p.pid)) continue;
      if (cmdline(p.pid).some((arg) => /^\d+$/.test(arg) && inTree.has(Number(arg)))) {
        for (const d of descendants(procs, p.pid)) {
          if (!inTree.has(d)) treePids.push(d);
          inTree.add(d);
        }
      }
    }
    const tree = treePids.map((p) => measure(procs, p, p === pid ? 'instance' : 'tree'));

    // Everything else under the server: shared by all instances.
    const serverPid = server.child.pid;
    const shared = [];
    for (const p of descendants(procs, serverPid)) {
      if (p === serverPid || inTree.has(p)) continue;
      shared.push(measure(procs, p, procs.get(p).ppid === serverPid ? 'server child' : 'helper descendant'));
    }
    const serverProc = measure(procs, serverPid, 'server');
    remember(server);

    const sum = (xs, k) => xs.reduce((a, x) => a + (x[k] ?? 0), 0);
    const result = {
      function: fnKey,
      config: configKey,
      driver: config.driver,
      network: config.network ?? null,
      run: index + 1,
      instancePid: pid,
      tree,
      treeRssKb: sum(tree, 'rssKb'),
      treePssKb: tree.some((p) => p.pssKb === null) ? null : sum(tree, 'pssKb'),
      shared,
      server: { pid: serverPid, rssKb: serverProc.rssKb, pssKb: serverProc.pssKb },
    };
    const mb = (kb) => (kb === null ? 'n/a' : (kb / 1024).toFixed(1));
    log(`  ${fnKey} ${configKey} run ${index + 1}: tree ${tree.map((p) => `${p.comm} ${mb(p.rssKb)}/${mb(p.pssKb)}`).join(', ')} = ${mb(result.treeRssKb)}/${mb(result.treePssKb)} MB; shared ${shared.map((p) => p.comm).join(', ') || '-'}; server ${mb(serverProc.rssKb)} MB`);
    return result;
  } finally {
    await stopServer(server);
  }
}

// ---------------------------------------------------------------- report

const median = (xs) => {
  const s = xs.filter((x) => x !== null && x !== undefined).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const MB = (kb) => (kb === null ? 'n/a' : (kb / 1024).toFixed(1));
const ratio = (a, b) => (a === null || b === null || !b ? '–' : (a / b).toFixed(2));

/** Per comm over runs: { comm, count (max processes in one run), runs seen, rss/pss medians }. */
function byComm(runs, pick) {
  const rows = new Map();
  for (const r of runs) {
    const perRun = new Map();
    for (const p of pick(r)) {
      const e = perRun.get(p.comm) ?? { n: 0, rssKb: 0, pssKb: 0 };
      e.n++;
      e.rssKb += p.rssKb;
      e.pssKb = e.pssKb === null || p.pssKb === null ? null : e.pssKb + p.pssKb;
      perRun.set(p.comm, e);
    }
    for (const [comm, e] of perRun) {
      const row = rows.get(comm) ?? { comm, n: 0, seen: 0, rss: [], pss: [] };
      row.n = Math.max(row.n, e.n);
      row.seen++;
      row.rss.push(e.rssKb);
      row.pss.push(e.pssKb);
      rows.set(comm, row);
    }
  }
  return [...rows.values()]
    .map((r) => ({ comm: r.comm, n: r.n, seen: r.seen, rssKb: median(r.rss), pssKb: r.pss.includes(null) ? null : median(r.pss) }))
    .sort((a, b) => b.rssKb - a.rssKb);
}

/** An error's first line (and the next, when the first ends in a colon), for a table cell. */
function oneLine(error) {
  const [first = '', second = ''] = error.split('\n').filter((l) => l.trim());
  return (first.endsWith(':') ? `${first} ${second.trim()}` : first).replaceAll('|', '\\|').slice(0, 300);
}

function report(results, failures, meta) {
  const lines = [];
  const out = (s = '') => lines.push(s);
  const of = (fnKey, configKey) => results.filter((r) => r.function === fnKey && r.config === configKey);

  out(`Instance trees: ${meta.host}; Node.js ${meta.node}${meta.python ? `, ${meta.python}` : ''}, ${meta.bwrap ?? 'no bwrap'}${meta.slirp4netns ? `, ${meta.slirp4netns}` : ''}.`);
  out(`\`ferry server --pool-size 0\`, one call, 1 s idle; median of ${opts.runs} run${opts.runs === 1 ? '' : 's'} each; MB = MiB (kB / 1024).`);
  out();
  out('| instance | tree (RSS / PSS MB per process) | RSS MB | × process | PSS MB | × process |');
  out('|---|---|---:|---:|---:|---:|');
  for (const fnKey of opts.only) {
    const base = of(fnKey, 'process');
    const baseRss = median(base.map((r) => r.treeRssKb));
    const basePss = base.some((r) => r.treePssKb === null) ? null : median(base.map((r) => r.treePssKb));
    for (const configKey of opts.configs) {
      const runs = of(fnKey, configKey);
      const failed = failures.find((f) => f.function === fnKey && f.config === configKey);
      if (!runs.length) {
        if (failed) out(`| \`${fnKey}\`, ${CONFIGS[configKey].label} | **failed** (run ${failed.run}): ${oneLine(failed.error)} | | | | |`);
        continue;
      }
      const procs =
        byComm(runs, (r) => r.tree)
          .map((p) => `${p.comm}${p.n > 1 ? ` ×${p.n}` : ''} ${MB(p.rssKb)}/${MB(p.pssKb)}${p.seen < runs.length ? ` (${p.seen}/${runs.length} runs)` : ''}`)
          .join(', ') + (failed ? ` (${runs.length} runs; run ${failed.run} failed)` : '');
      const rss = median(runs.map((r) => r.treeRssKb));
      const pss = runs.some((r) => r.treePssKb === null) ? null : median(runs.map((r) => r.treePssKb));
      out(`| \`${fnKey}\`, ${CONFIGS[configKey].label} | ${procs} | ${MB(rss)} | ${ratio(rss, baseRss)} | ${MB(pss)} | ${ratio(pss, basePss)} |`);
    }
  }

  const shared = [];
  for (const configKey of opts.configs) {
    if (CONFIGS[configKey].driver !== 'bwrap' && !results.some((r) => r.config === configKey && r.shared.length)) continue;
    const runs = results.filter((r) => r.config === configKey);
    if (!runs.length) continue;
    const helpers = byComm(runs, (r) => r.shared);
    if (!helpers.length) shared.push(`| ${CONFIGS[configKey].label} | (none) | | | |`);
    for (const h of helpers) shared.push(`| ${CONFIGS[configKey].label} | ${h.comm}${h.n > 1 ? ` ×${h.n}` : ''} | ${MB(h.rssKb)} | ${MB(h.pssKb)} | ${h.seen}/${runs.length} |`);
  }
  if (shared.length) {
    out();
    out('Shared by all instances (every other process under the server; median over the runs where it ran):');
    out();
    out('| configuration | process | RSS MB | PSS MB | seen in runs |');
    out('|---|---|---:|---:|---:|');
    for (const l of shared) out(l);
  }

  out();
  const drivers = [...new Set(opts.configs.map((c) => CONFIGS[c].driver))];
  const serverLine = drivers
    .map((d) => {
      const runs = results.filter((r) => r.driver === d);
      if (!runs.length) return `${d} n/a`;
      return `${d} ${MB(median(runs.map((r) => r.server.rssKb)))} MB (PSS ${MB(median(runs.map((r) => r.server.pssKb)))}, ${runs.length} run${runs.length === 1 ? '' : 's'})`;
    })
    .join('; ');
  out(`Server RSS, not part of any tree (median): ${serverLine}.`);
  return lines.join('\n');
}

// ---------------------------------------------------------------- main

function version(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 5000 });
  return r.status === 0 ? `${r.stdout}${r.stderr}`.trim().split('\n')[0] : undefined;
}

function preflight() {
  if (process.platform !== 'linux') throw new Error('this benchmark reads /proc: Linux only');
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first`);
  if (opts.configs.some((c) => CONFIGS[c].driver === 'bwrap')) {
    const v = spawnSync('bwrap', ['--version'], { encoding: 'utf8', timeout: 5000 });
    if (v.error || v.status !== 0) {
      throw new Error(`bwrap is not available (${v.error?.code ?? v.stderr.trim()}): install bubblewrap, or measure the process driver only with --configs process`);
    }
    const t = spawnSync('bwrap', ['--ro-bind', '/', '/', '--unshare-user', '--unshare-pid', '--unshare-net', 'true'], { encoding: 'utf8', timeout: 10_000 });
    if (t.error || t.status !== 0) {
      throw new Error(`bwrap is installed but cannot create a sandbox here: ${(t.error?.message ?? t.stderr).trim()} (or measure the process driver only with --configs process)`);
    }
  }
  if (process.getuid?.() !== 0) log('bench:tree: not running as root: the sandboxed processes\' PSS may be unreadable (n/a)');
}

async function main() {
  preflight();
  const meta = {
    date: new Date().toISOString(),
    host: `${release()}, ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB`,
    node: process.versions.node,
    python: version('python3', ['--version']),
    bwrap: opts.configs.some((c) => CONFIGS[c].driver === 'bwrap') ? version('bwrap', ['--version']) : undefined,
    slirp4netns: opts.configs.includes('egress') ? version('slirp4netns', ['--version']) : undefined,
    runs: opts.runs,
    functions: opts.only,
    configs: opts.configs,
  };
  const results = [];
  const failures = [];
  for (const fnKey of opts.only) {
    for (const configKey of opts.configs) {
      for (let i = 0; i < opts.runs; i++) {
        if (interrupted) return;
        try {
          results.push(await measureRun(fnKey, configKey, i));
        } catch (err) {
          if (interrupted) return;
          // One failed run ends that instance × configuration (the next would fail alike); the rest goes on.
          log(`bench:tree: ${fnKey} ${configKey} run ${i + 1} failed: ${err.message}`);
          failures.push({ function: fnKey, config: configKey, run: i + 1, error: err.message });
          break;
        }
      }
    }
  }
  if (interrupted) return;
  process.stdout.write(opts.json ? `${JSON.stringify({ meta, results, failures }, null, 2)}\n` : `\n${report(results, failures, meta)}\n`);
  if (failures.length) process.exitCode = 1;
}

try {
  await main();
} catch (err) {
  if (!interrupted) {
    log(`bench:tree: ${err.message}`);
    process.exitCode = 1;
  }
} finally {
  if (!interrupted) {
    await Promise.allSettled([...live].map(stopServer));
    for (const d of [...tempDirs]) removeDir(d);
  }
}
