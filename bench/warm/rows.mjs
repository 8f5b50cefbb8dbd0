// The rows of bench/warm.mjs: what each one serves, how its server starts, and what every answer
// must be. The Ferry rows are functions at default settings (no `scaling` in ferry.json, the
// default bwrap sandbox and pool); the others are the anchors harness's own targets, imported.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { deployFunctions } from '../deploy-hello.mjs';
import { httpGet } from './host.mjs';
import { accel, canGvisor, canMicrovm } from '../tiers-here.mjs';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(repo, 'dist/src/cli/main.js');
const version = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).version;

export const HELLO = 'Hello, World!';
/** How many functions the many-functions row spreads its load over. */
export const MANY = 100;

const nodePackage = (code) => ({
  'ferry.json': JSON.stringify({ runtime: 'node', handler: 'index.js' }),
  'package.json': '{"type":"module"}',
  'index.js': code,
});
// The headline handler: the web-standard way, reading a header, so the answer differs per request.
const greet = nodePackage("export default (req) => new Response(`Hello, ${req.headers.get('x-name') ?? 'World'}!`);\n");
const json = { message: HELLO };
const streamChunks = ['Hello', ', ', 'World', '!'];
const big = '0123456789abcdef'.repeat(4096); // 64 KiB

/** The Ferry rows: name, label, the functions deployed, the path loaded and the expected body. */
const ferryRows = [
  { name: 'ferry-hello', label: 'Ferry `node`: a `Response` greeting the `x-name` header (headline)', functions: [{ name: 'hello', files: greet }], path: '/fn/hello', byName: true },
  {
    name: 'ferry-string', label: "Ferry `node`: `() => 'Hello, World!'`", path: '/fn/hello', body: HELLO,
    functions: [{ name: 'hello', files: nodePackage(`export default () => ${JSON.stringify(HELLO)};\n`) }],
  },
  {
    name: 'ferry-json', label: 'Ferry `node`: an object, sent as JSON', path: '/fn/hello', body: JSON.stringify(json),
    functions: [{ name: 'hello', files: nodePackage(`export default () => (${JSON.stringify(json)});\n`) }],
  },
  {
    name: 'ferry-stream', label: `Ferry \`node\`: a \`ReadableStream\` of ${streamChunks.length} chunks`, path: '/fn/hello', body: streamChunks.join(''),
    functions: [{
      name: 'hello',
      files: nodePackage(
        `const chunks = ${JSON.stringify(streamChunks)}.map((s) => new TextEncoder().encode(s));\n` +
          'export default () => {\n  let i = 0;\n' +
          '  return new Response(new ReadableStream({ pull(c) { if (i < chunks.length) c.enqueue(chunks[i++]); else c.close(); } }));\n};\n',
      ),
    }],
  },
  {
    name: 'ferry-64k', label: 'Ferry `node`: a 64 KiB string', path: '/fn/hello', body: big,
    functions: [{ name: 'hello', files: nodePackage(`const body = ${JSON.stringify('0123456789abcdef')}.repeat(4096);\nexport default () => body;\n`) }],
  },
  {
    name: 'ferry-python', label: "Ferry `python`: `def handler(request): return 'Hello, World!'`", path: '/fn/hello', body: HELLO,
    functions: [{ name: 'hello', files: { 'ferry.json': JSON.stringify({ runtime: 'python', handler: 'main.py' }), 'main.py': `def handler(request):\n    return ${JSON.stringify(HELLO)}\n` } }],
  },
  {
    name: 'ferry-many', label: `Ferry \`node\`: ${MANY} functions (the headline handler), the load spread over them`, path: '/fn/f0', byName: true,
    spread: { prefix: '/fn/f', count: MANY }, reference: 'ferry-hello',
    functions: Array.from({ length: MANY }, (_, i) => ({ name: `f${i}`, files: greet })),
  },
  // The headline handler in the stronger tiers, where they can run here. A microvm run starts a
  // fresh server, so each is a VM boot (minutes under emulation): that row runs only by name.
  ...(canGvisor ? [tierRow('gvisor', 'the gvisor tier')] : []),
  ...(canMicrovm ? [tierRow('microvm', `the microvm tier (${accel})`, { byNameOnly: true, firstCallMs: 600_000 })] : []),
];

/** The headline function with `"tier"` set, on a server that enables that tier. */
function tierRow(tier, what, more = {}) {
  const files = { ...greet, 'ferry.json': JSON.stringify({ runtime: 'node', handler: 'index.js', tier }) };
  return {
    name: `ferry-${tier}`, label: `Ferry \`node\`: the headline handler in ${what}`, functions: [{ name: 'hello', files }], path: '/fn/hello', byName: true,
    serverArgs: ['--sandbox-tiers', tier], tier, ...more,
  };
}

/** Every row name, in table order (the baseline first). */
export const rowNames = ['node-http', 'workerd', 'knative', ...ferryRows.map((r) => r.name)];

/** Waits until the server's pre-booted pool is full (or off), so no refill runs while it is measured. */
export async function poolFull(port, dataDir) {
  const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
  for (let i = 0; i < 600; i++) {
    const r = await httpGet(port, '/v1/pool', { authorization: `Bearer ${token}` });
    if (r.status === 200) {
      const pool = JSON.parse(r.body);
      if (!pool.enabled || pool.runtimes.every((rt) => rt.active === false || rt.ready >= pool.size)) return;
    }
    await sleep(50);
  }
  throw new Error('the pre-booted pool did not fill in 30 s');
}

/** Calls every path once, a few at a time, so each function has a running instance; each must answer `body`. */
async function callEach(port, paths, body, timeoutMs = 60_000) {
  const queue = [...paths];
  const one = async () => {
    for (let p = queue.shift(); p; p = queue.shift()) {
      const r = await httpGet(port, p, {}, timeoutMs);
      if (r.status !== 200 || r.body !== body) throw new Error(`${p} answered ${r.status ?? r.error}: ${String(r.body).slice(0, 100)}`);
    }
  };
  await Promise.all(Array.from({ length: 4 }, one));
}

function ferryRow(def) {
  const dataDir = (ctx) => join(ctx.tmp, `ferry-warm-data-${def.name}`);
  const paths = def.spread ? Array.from({ length: def.spread.count }, (_, i) => `${def.spread.prefix}${i}`) : [def.path];
  const ready = def.byName ? HELLO : def.body;
  const serverArgs = def.serverArgs ?? [];
  return {
    ...def,
    ready,
    version: () => `ferry ${version} (${def.functions.length} function${def.functions.length > 1 ? 's' : ''}, default settings${def.tier ? `, ${def.tier} tier` : ''})`,
    setup: async (ctx, fresh) => {
      fresh(dataDir(ctx));
      // The microvm tier's guest root, built from this host's runtimes (node only: the row needs no more).
      if (def.tier === 'microvm') {
        const r = spawnSync(ctx.node, [cli, 'rootfs', 'build', '--data-dir', dataDir(ctx), '--without-python'], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`ferry rootfs build failed: ${r.stderr.trim().slice(-500)}`);
      }
      await deployFunctions({ cli, node: ctx.node, dataDir: dataDir(ctx), args: serverArgs, functions: def.functions, parallel: 8 });
    },
    spawn: (ctx) => ({
      cmd: ctx.node,
      args: [cli, 'server', '--port', String(ctx.port), '--host', '127.0.0.1', '--data-dir', dataDir(ctx), '--log-level', 'warn', ...serverArgs],
      env: { NODE_ENV: 'production' },
    }),
    // The readiness probe is the first call: a tier that boots a VM under emulation takes minutes.
    readyTimeoutMs: def.firstCallMs,
    // A fresh server: every function gets its instance, and the pool is full again, before load.
    prepare: async (ctx) => {
      await callEach(ctx.port, paths, ready, def.firstCallMs);
      await poolFull(ctx.port, dataDir(ctx));
    },
    stopGraceMs: 15_000,
  };
}

/** The anchors harness's target `file` (e.g. `20-workerd.mjs`) as a row answering `Hello, World!`. */
async function anchorsRow(anchors, file, extra = {}) {
  const t = (await import(pathToFileURL(join(anchors, 'targets', file)).href)).default;
  return { name: t.name, label: t.label, spawn: t.spawn, version: t.version, path: '/', body: HELLO, ready: HELLO, stopGraceMs: 2000, ...extra };
}

/** All rows, the baseline (the harness's bare node:http) first. */
export async function loadRows(anchors) {
  return [
    await anchorsRow(anchors, '10-node-http.mjs', { baseline: true }),
    await anchorsRow(anchors, '20-workerd.mjs'),
    await anchorsRow(anchors, '40-knative.mjs'),
    ...ferryRows.map(ferryRow),
  ];
}
