// Ferry as anchors targets: the same hello-world handler served through Ferry (gateway plus one
// instance, all pinned to the server CPU by the runner), under the bwrap sandbox (the default)
// and under the unsandboxed process driver, side by side with the bare node:http baseline.
// Cold = scale from zero: a running server with no instance of the function -> first 200. Under
// bwrap that first call is served by a pre-booted sandbox from the pool (the default); the
// `-nopool` targets measure the same call started cold (what a function whose policy no pool
// matches gets). A server at rest (no function running, with and without its pool) is measured in
// 85-ferry-idle.mjs.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deployHello } from '../deploy-hello.mjs';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(repo, 'dist/src/cli/main.js');
const version = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).version;

/** Polls GET /v1/pool until every active runtime's pool is full (or says it is off). */
async function poolFull(ctx, dataDir) {
  const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
  for (let i = 0; ; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${ctx.port}/v1/pool`, { headers: { authorization: `Bearer ${token}` } });
      const pool = await res.json();
      if (res.status === 200 && (!pool.enabled || pool.runtimes.every((r) => r.active === false || r.ready >= pool.size))) return pool;
    } catch {
      /* not listening yet */
    }
    if (i > 6000) throw new Error('the pre-booted pool did not fill in 30 s');
    await ctx.sleep(5);
  }
}

function target(name, label, runtime, serverArgs, opts = {}) {
  const dataDir = (ctx) => join(ctx.tmp, `ferry-data-${name}`);
  const driver = serverArgs.includes('process') ? 'process driver' : 'bwrap sandbox';
  const pool = serverArgs.includes('--pool-size') ? 'no pool' : driver === 'bwrap sandbox' ? 'pre-booted pool' : 'no pool';
  const t = {
    name,
    label,
    phases: opts.phases ?? ['throughput', 'cold', 'rss'],
    path: opts.path ?? '/fn/hello',
    expect: opts.expect ?? 'Hello, World!',
    version: () => `ferry ${version} (${runtime ?? 'no'} function, ${driver}, ${pool})`,
    setup: async (ctx) => {
      const dir = dataDir(ctx);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      if (runtime) await deployHello({ cli, node: ctx.node, dataDir: dir, runtime, args: serverArgs });
    },
    spawn: (ctx) => ({
      cmd: ctx.node,
      args: [cli, 'server', '--port', String(ctx.port), '--host', '127.0.0.1', '--data-dir', dataDir(ctx), '--log-level', 'warn', ...serverArgs],
      env: { NODE_ENV: 'production' },
    }),
    // A fresh server has no instance: its first call to the function starts one (or takes a
    // pooled sandbox, once the pool is full: a server that just started has not filled it yet).
    measureCold: (ctx) => firstCallMs(ctx, t, () => poolFull(ctx, dataDir(ctx))),
  };
  return t;
}

/**
 * Starts target `t`, waits for `ready` (the server's pool, a VM's boot), and answers how long its
 * first call to /fn/hello took (shared with 82-ferry-tiers.mjs).
 */
export async function firstCallMs(ctx, t, ready, timeoutMs = 10_000) {
  const { child } = ctx.spawnTarget(t, ctx);
  try {
    await ready();
    const t0 = performance.now();
    const r = await ctx.httpGet(ctx.port, '/fn/hello', timeoutMs);
    if (!r.ok || r.status !== 200) throw new Error(`first call answered ${r.status ?? r.error}`);
    return performance.now() - t0;
  } finally {
    await ctx.stopChild(child, 3000);
  }
}

const unsandboxed = ['--driver', 'process', '--unsandboxed'];
const noPool = ['--pool-size', '0'];
export default [
  target('ferry-node', 'Ferry: node handler, bwrap sandbox, pool', 'node', []),
  target('ferry-node-nopool', 'Ferry: node handler, bwrap sandbox, no pool', 'node', noPool, { phases: ['cold'] }),
  target('ferry-node-process', 'Ferry: node handler, process driver', 'node', unsandboxed),
  target('ferry-python', 'Ferry: python handler, bwrap sandbox, pool', 'python', []),
  target('ferry-python-nopool', 'Ferry: python handler, bwrap sandbox, no pool', 'python', noPool, { phases: ['cold'] }),
  target('ferry-python-process', 'Ferry: python handler, process driver', 'python', unsandboxed),
];
