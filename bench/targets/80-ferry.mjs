// Ferry as anchors targets: the same hello-world handler served through Ferry (gateway plus one
// instance, all pinned to the server CPU by the runner), under the bwrap sandbox (the default)
// and under the unsandboxed process driver, side by side with the bare node:http baseline.
// Cold = scale from zero: a running server with no instance of the function -> first 200.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deployHello } from '../deploy-hello.mjs';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(repo, 'dist/src/cli/main.js');
const version = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).version;

function target(name, label, runtime, driverArgs) {
  const dataDir = (ctx) => join(ctx.tmp, `ferry-data-${name}`);
  const t = {
    name,
    label,
    phases: ['throughput', 'cold', 'rss'],
    path: '/fn/hello',
    expect: 'Hello, World!',
    version: () => `ferry ${version} (${runtime} runtime, ${driverArgs.length ? 'process driver' : 'bwrap sandbox'})`,
    setup: async (ctx) => {
      const dir = dataDir(ctx);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      await deployHello({ cli, node: ctx.node, dataDir: dir, runtime, args: driverArgs });
    },
    spawn: (ctx) => ({
      cmd: ctx.node,
      args: [cli, 'server', '--port', String(ctx.port), '--host', '127.0.0.1', '--data-dir', dataDir(ctx), '--log-level', 'warn', ...driverArgs],
      env: { NODE_ENV: 'production' },
    }),
    // A fresh server has no instance: its first call to the function starts one.
    measureCold: async (ctx) => {
      const { child } = ctx.spawnTarget(t, ctx);
      try {
        for (let i = 0; ; i++) {
          const r = await ctx.httpGet(ctx.port, '/healthz');
          if (r.ok && r.status === 200) break;
          if (i > 5000) throw new Error('server did not start');
          await ctx.sleep(2);
        }
        const t0 = performance.now();
        const r = await ctx.httpGet(ctx.port, '/fn/hello', 10_000);
        if (!r.ok || r.status !== 200) throw new Error(`first call answered ${r.status ?? r.error}`);
        return performance.now() - t0;
      } finally {
        await ctx.stopChild(child, 3000);
      }
    },
  };
  return t;
}

const unsandboxed = ['--driver', 'process', '--unsandboxed'];
export default [
  target('ferry-node', 'Ferry: node handler, bwrap sandbox', 'node', []),
  target('ferry-node-process', 'Ferry: node handler, process driver', 'node', unsandboxed),
  target('ferry-python', 'Ferry: python handler, bwrap sandbox', 'python', []),
  target('ferry-python-process', 'Ferry: python handler, process driver', 'python', unsandboxed),
];
