// `npm run bench:cluster` (and the cluster rows of `npm run bench`): Ferry as a cluster on NATS
// JetStream, beside one node on the embedded store.
//  cluster-async: async executions/s: `--count` executions of an empty function accepted (64 in
//     flight) while nothing runs them, then drained: by the embedded store's node restarted with
//     workers, and by 1, 2 and 3 workers started behind a gateway on NATS. The rate is taken from
//     the executions' own end times over the middle 80 % of them (10th to 90th percentile), so
//     neither acceptance, nor a node's start (its first instance starting), nor the last
//     stragglers are counted: what the queue and the store sustain once every node runs.
//  cluster-sync: sync warm req/s and p50 (wrk, keep-alive): one node; the same node behind a plain
//     one-hop proxy (the anchors harness's `proxy-undici`, a process of its own, when the harness
//     is set up; else a node:http proxy in this process); a gateway to one worker on NATS.
// Every process runs with the process driver, no sandbox; nats-server comes from PATH. Server
// output is kept, not shown (the last of it is printed when a server fails).
// Options: --only cluster-async,cluster-sync; --count N (2000), --duration S (wrk, 5),
// --connections N (16), --quick (500, 2 s), --out DIR (results: ferry-cluster-<time>.md and .json,
// default $ANCHORS_TMP/results or /tmp/anchors/results).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { keepAliveRequest } from './keep-alive.mjs';
import { clusterRowNames } from './cluster/rows.mjs';
import { hostFacts } from './warm/host.mjs';
import { publishResults } from './warm/report.mjs';
import { helpIfAsked } from './warm/options.mjs';

helpIfAsked(import.meta.url);
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const quick = args.includes('--quick') || process.env.FERRY_BENCH_QUICK === '1';
const count = Number(opt('count', quick ? 500 : 2000));
const duration = Number(opt('duration', quick ? 2 : 5));
const connections = Number(opt('connections', 16));
const only = new Set((opt('only', '') || clusterRowNames.join(',')).split(',').map((x) => x.trim()).filter(Boolean));
for (const n of only) if (!clusterRowNames.includes(n)) throw new Error(`--only: no row group '${n}' (groups: ${clusterRowNames.join(', ')})`);
const anchorsTmp = process.env.ANCHORS_TMP || '/tmp/anchors';
const out = opt('out', join(anchorsTmp, 'results'));
const log = (...a) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...a);
const here = fileURLToPath(new URL('../', import.meta.url));
const cli = join(here, 'dist/src/cli/main.js');
const tar = createRequire(join(here, 'package.json'))('tar');
const common = ['--driver', 'process', '--unsandboxed', '--log-level', 'info', '--execution-queue-max', '100000000', '--heartbeat-interval', '500ms', '--node-ttl', '3s'];
const started = [];
const scratch = [];

function temp(prefix) {
  const d = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(d);
  return d;
}

/** Spawns `cmd` and resolves with the first match of `re` in its output (and the child). */
async function launch(cmd, argv, re) {
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  const m = await new Promise((resolve, reject) => {
    let buf = '';
    const look = (c) => {
      buf += c;
      const hit = re.exec(buf);
      if (hit) resolve(hit);
    };
    child.stdout.on('data', look);
    child.stderr.on('data', look);
    child.once('exit', (code) => reject(new Error(`${cmd} exited (${code}):\n${buf.slice(-2000)}`)));
  });
  child.stdout.resume();
  child.stderr.resume();
  return { child, match: m };
}

/** nats-server with JetStream on a free port; it runs until the end (stopAll leaves it). */
let nats;
async function startNats() {
  const { child, match } = await launch('nats-server', ['-js', '-a', '127.0.0.1', '-p', '-1', '-sd', temp('ferry-bench-nats-')], /Listening for client connections on [^\s]*:(\d+)/);
  started.splice(started.indexOf(child), 1);
  nats = child;
  return match[1];
}
async function startFerry(dataDir, extra) {
  const { child, match } = await launch(process.execPath, [cli, 'server', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, ...common, ...extra], /Ferry listening on (http:\/\/[^"\s]+)/);
  return { url: match[1], child, token: readFileSync(join(dataDir, 'admin-token'), 'utf8').trim() };
}
async function stopAll() {
  await Promise.all(started.splice(0).filter((c) => c.exitCode === null && c.signalCode === null).map((c) => (c.kill('SIGTERM'), once(c, 'exit'))));
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const request = keepAliveRequest(agent);

async function deploy(node, name, source) {
  const dir = temp('ferry-bench-fn-');
  const files = { 'ferry.json': JSON.stringify({ runtime: 'node', handler: 'index.js', scaling: { concurrency: 64, maxInstances: 2 } }), 'package.json': '{"type":"module"}', 'index.js': source };
  for (const [f, content] of Object.entries(files)) writeFileSync(join(dir, f), content);
  const chunks = [];
  for await (const c of tar.c({ gzip: true, cwd: dir, portable: true }, Object.keys(files))) chunks.push(c);
  const res = await fetch(`${node.url}/v1/functions/${name}/versions`, { method: 'POST', headers: { authorization: `Bearer ${node.token}`, 'content-type': 'application/gzip' }, body: Buffer.concat(chunks) });
  if (res.status !== 201) throw new Error(`deploy answered ${res.status}: ${await res.text()}`);
}

/** Waits until `url` answers 200 (a first call also starts the instance). */
async function warm(url) {
  for (let i = 0; i < 600; i++) {
    if ((await request(url, 'GET').catch(() => ({ status: 0 }))).status === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} never answered 200`);
}

async function executions(node, status) {
  const out = [];
  let cursor = null;
  do {
    const res = await request(`${node.url}/v1/executions?function=empty&limit=1000${status ? `&status=${status}` : ''}${cursor ? `&cursor=${cursor}` : ''}`, 'GET', { authorization: `Bearer ${node.token}` });
    const page = JSON.parse(res.text);
    out.push(...page.executions);
    cursor = page.next;
  } while (cursor);
  return out;
}

/** Accepts `count` executions (64 in flight) while nothing runs them; they wait in the queue. */
async function accept(node) {
  await deploy(node, 'empty', "export default () => '';\n");
  let next = 0;
  const submitOne = async () => {
    while (next < count) {
      next++;
      const r = await request(`${node.url}/fn/empty`, 'POST', { prefer: 'respond-async' });
      if (r.status !== 202) throw new Error(`submit answered ${r.status}: ${r.text}`);
    }
  };
  await Promise.all(Array.from({ length: 64 }, submitOne));
}

/** Waits for the queue to drain; executions/s from the executions' own times (first start to last end). */
async function drained(node) {
  for (;;) {
    let open = 0;
    for (const s of ['queued', 'running']) open += JSON.parse((await request(`${node.url}/v1/executions?function=empty&status=${s}&limit=1`, 'GET', { authorization: `Bearer ${node.token}` })).text).executions.length;
    if (open === 0) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const all = await executions(node);
  const ok = all.filter((e) => e.status === 'succeeded');
  const ends = ok.map((e) => Date.parse(e.finishedAt)).sort((a, b) => a - b);
  const from = Math.floor(ends.length * 0.1);
  const to = Math.ceil(ends.length * 0.9) - 1;
  return { rate: (to - from) / (Math.max(1, ends[to] - ends[from]) / 1000), ok: ok.length, all: all.length };
}

/** wrk, spawned (not spawnSync: the one-hop proxy runs in this process and must keep serving). */
async function wrk(url) {
  const child = spawn('wrk', ['-t1', `-c${connections}`, `-d${duration}s`, '--latency', url], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c) => (out += c));
  child.stderr.resume();
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`wrk failed (${code})`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p50 = /^\s*50%\s+(\S+)/m.exec(out)?.[1];
  const bad = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0) + Number(/Socket errors: connect (\d+)/.exec(out)?.[1] ?? 0);
  return { rps, p50, bad };
}

/** A plain one-hop reverse proxy (node:http, keep-alive) to `target`, in this process. */
async function nodeProxy(target) {
  const to = new URL(target);
  const proxyAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const server = http.createServer((req, res) => {
    const up = http.request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers, agent: proxyAgent }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { label: 'plain one-hop Node proxy (node:http, in the bench process)', url: `http://127.0.0.1:${server.address().port}`, close: () => (proxyAgent.destroy(), new Promise((r) => server.close(r))) };
}

/** A free port on 127.0.0.1. */
async function freePort() {
  const s = http.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

/**
 * The anchors harness's one-hop proxy (`proxy-undici`: node:http in front, an undici pool behind)
 * to `target`, a process of its own; the in-process node:http proxy when the harness is not set up.
 */
async function plainProxy(target) {
  const anchors = process.env.FERRY_ANCHORS;
  const modules = join(anchorsTmp, 'node_modules');
  if (!anchors || !existsSync(join(anchors, 'fns/proxy-undici.js')) || !existsSync(join(modules, 'undici'))) return nodeProxy(target);
  const port = await freePort();
  const child = spawn(process.execPath, [join(anchors, 'fns/proxy-undici.js')], {
    stdio: 'ignore',
    env: { ...process.env, PORT: String(port), UPSTREAM_PORT: new URL(target).port, ANCHORS_NODE_MODULES: modules, NODE_ENV: 'production' },
  });
  started.push(child);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; (await request(`${url}/`, 'GET').catch(() => ({ status: 0 }))).status === 0; i++) {
    if (i > 100 || child.exitCode !== null) throw new Error('the anchors proxy-undici did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { label: "plain one-hop proxy (the anchors harness's proxy-undici)", url, close: async () => {} };
}

/** A gateway on NATS (its own prefix) on a fresh data dir; `addWorkers` starts workers on the same one. */
async function startGateway(natsPort, prefix) {
  const dir = temp('ferry-bench-cluster-');
  const store = ['--store', `nats://127.0.0.1:${natsPort}`, '--nats-prefix', prefix];
  const gateway = await startFerry(dir, [...store, '--role', 'gateway']);
  const addWorkers = async (n) => {
    await Promise.all(Array.from({ length: n }, () => startFerry(dir, [...store, '--role', 'worker', '--async-workers', '64'])));
    for (let i = 0; i < 300; i++) {
      const nodes = JSON.parse((await request(`${gateway.url}/v1/cluster`, 'GET', { authorization: `Bearer ${gateway.token}` })).text).nodes;
      if (nodes.length === n + 1) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${n} workers never joined`);
  };
  return { gateway, addWorkers };
}

const rows = [];
// Interrupted: the servers and nats-server go too.
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => {
  for (const c of [...started, nats].filter(Boolean)) c.kill('SIGKILL');
  process.exit(1);
});

/** Async executions/s: accepted first, then drained (the embedded node restarted with workers). */
async function asyncRows(natsPort) {
  log('async: one node, embedded store');
  const singleDir = temp('ferry-bench-single-');
  await accept(await startFerry(singleDir, ['--async-workers', '0']));
  await stopAll();
  const embedded = await drained(await startFerry(singleDir, ['--async-workers', '64']));
  rows.push({ name: 'async executions/s, one node, embedded store', value: `${Math.round(embedded.rate)} (${embedded.ok} of ${embedded.all} succeeded)`, rate: embedded.rate });
  await stopAll();
  for (const n of [1, 2, 3]) {
    log(`async: a gateway and ${n} worker(s), NATS`);
    const { gateway, addWorkers } = await startGateway(natsPort, `bench${n}`);
    await accept(gateway);
    await addWorkers(n);
    const r = await drained(gateway);
    rows.push({ name: `async executions/s, gateway + ${n} worker${n > 1 ? 's' : ''}, NATS`, value: `${Math.round(r.rate)} (${r.ok} of ${r.all} succeeded)`, rate: r.rate });
    await stopAll();
  }
}

/** Sync warm req/s and p50: one node, a plain one-hop proxy to it, a gateway to one worker. */
async function syncRows(natsPort) {
  const hello = "export default () => 'hello';\n";
  log('sync: one node, then a plain proxy to it');
  const one = await startFerry(temp('ferry-bench-single-'), []);
  await deploy(one, 'hello', hello);
  await warm(`${one.url}/fn/hello`);
  await wrk(`${one.url}/fn/hello`);
  const direct = await wrk(`${one.url}/fn/hello`);
  const proxy = await plainProxy(one.url);
  await warm(`${proxy.url}/fn/hello`);
  await wrk(`${proxy.url}/fn/hello`);
  const hop = await wrk(`${proxy.url}/fn/hello`);
  await proxy.close();
  await stopAll();
  log('sync: a gateway to one worker, NATS');
  const { gateway, addWorkers } = await startGateway(natsPort, 'benchsync');
  await addWorkers(1);
  await deploy(gateway, 'hello', hello);
  await warm(`${gateway.url}/fn/hello`);
  // A new gateway and worker pair reaches its speed only after some thousands of calls (both
  // processes' code is compiled as it runs): two warm-up runs, not one.
  await wrk(`${gateway.url}/fn/hello`);
  await wrk(`${gateway.url}/fn/hello`);
  const viaGateway = await wrk(`${gateway.url}/fn/hello`);
  await stopAll();
  for (const [label, r] of [['one node', direct], [proxy.label, hop], ['gateway to one worker, NATS', viaGateway]]) {
    rows.push({ name: `sync warm, ${label}`, value: `${Math.round(r.rps)} req/s, p50 ${r.p50}${r.bad ? ` (${r.bad} not 2xx)` : ''}`, rps: r.rps, p50: r.p50 });
  }
}

try {
  const facts = { ...hostFacts(here), label: '', loadAtStart: loadavg().map((x) => +x.toFixed(1)), count, wrk: { connections, duration } };
  log(`bench:cluster: ${cpus().length} CPUs, load average ${facts.loadAtStart.join(' ')} at start, ${count} executions a row, wrk -c${connections} ${duration} s`);
  const natsPort = await startNats();
  if (only.has('cluster-async')) await asyncRows(natsPort);
  if (only.has('cluster-sync')) await syncRows(natsPort);
  facts.loadAtEnd = loadavg().map((x) => +x.toFixed(1));
  const md = [
    `# Ferry as a cluster on NATS JetStream (${facts.date})`,
    '',
    `${facts.cpus} CPUs, load average ${facts.loadAtStart.join(' ')} at start and ${facts.loadAtEnd.join(' ')} at the end; Ferry ${facts.ferry}, node ${facts.node}. Async: ${count} executions a row, the rate over the middle 80 % of their end times; sync: wrk -c${connections}, ${duration} s.`,
    '',
    '| row | value |',
    '|---|---|',
    ...rows.map((r) => `| ${r.name} | ${r.value} |`),
    '',
  ].join('\n');
  mkdirSync(out, { recursive: true });
  publishResults(out, 'ferry-cluster', { facts, summary: { rows, failed: [] }, runs: [], md }, log);
} finally {
  agent.destroy();
  await stopAll();
  if (nats) {
    nats.kill('SIGTERM');
    await once(nats, 'exit');
  }
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
}
