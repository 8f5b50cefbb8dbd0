// Ferry at rest as anchors targets (phase `rss` only), side by side with the bare node:http
// baseline: a server with no function running, with and without its pre-booted pool (which fills
// for the runtimes of the functions deployed: one node function in that row), and a server
// with 1,000 functions deployed (one version each, none running), restarted on their data dir.
// The RSS differences are what the pool and what 1,000 deployed functions cost at rest
// (docs/performance.md, "Idle cost").
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(repo, 'dist/src/cli/main.js');
const version = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).version;
const tar = createRequire(join(repo, 'package.json'))('tar');

/** A small node function's package (tar.gz), its own content so that no two are stored as one. */
async function smallFunction(name) {
  const files = {
    'ferry.json': JSON.stringify({ runtime: 'node', handler: 'index.js' }),
    'package.json': '{"type":"module"}',
    'index.js': `export default () => 'Hello from ${name}';\n`,
  };
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-fn-'));
  try {
    for (const [file, content] of Object.entries(files)) writeFileSync(join(dir, file), content);
    const chunks = [];
    for await (const c of tar.c({ gzip: true, cwd: dir, portable: true }, Object.keys(files))) chunks.push(c);
    return Buffer.concat(chunks);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A port nothing listens on now. */
async function freePort() {
  const srv = createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  srv.close();
  return port;
}

/** Starts a server on `dataDir`, deploys `count` small node functions through the API, stops it. */
export async function deployMany({ node, dataDir, count }) {
  const url = `http://127.0.0.1:${await freePort()}`;
  const args = [cli, 'server', '--port', new URL(url).port, '--host', '127.0.0.1', '--data-dir', dataDir, '--log-level', 'warn', '--pool-size', '0'];
  const child = spawn(node, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    for (let up = false; !up; ) {
      if (child.exitCode !== null) throw new Error(`ferry server exited (${child.exitCode})`);
      up = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
      if (!up) await new Promise((r) => setTimeout(r, 20));
    }
    const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    let next = 0;
    const uploader = async () => {
      for (let i = next++; i < count; i = next++) {
        const name = `fn-${String(i).padStart(4, '0')}`;
        const res = await fetch(`${url}/v1/functions/${name}/versions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/gzip' },
          body: await smallFunction(name),
        });
        if (res.status !== 201) throw new Error(`deploy ${name} answered ${res.status}: ${await res.text()}`);
      }
    };
    await Promise.all(Array.from({ length: 4 }, uploader));
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null) await once(child, 'exit');
  }
}

function idle(name, label, serverArgs, functions = 0) {
  const dataDir = (ctx) => join(ctx.tmp, `ferry-data-${name}`);
  const pool = serverArgs.includes('--pool-size') ? 'no pool' : 'pre-booted pool';
  return {
    name,
    label,
    phases: ['rss'],
    path: '/healthz',
    expect: '"ok"',
    version: () => `ferry ${version} (${functions || 'no'} function${functions === 1 ? '' : 's'} deployed, none running, bwrap sandbox, ${pool})`,
    setup: async (ctx) => {
      const dir = dataDir(ctx);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      if (functions) await deployMany({ node: ctx.node, dataDir: dir, count: functions });
    },
    spawn: (ctx) => ({
      cmd: ctx.node,
      args: [cli, 'server', '--port', String(ctx.port), '--host', '127.0.0.1', '--data-dir', dataDir(ctx), '--log-level', 'warn', ...serverArgs],
      env: { NODE_ENV: 'production' },
    }),
  };
}

const noPool = ['--pool-size', '0'];
export default [
  // A runtime's pool fills once a function of it is deployed: one node function, so one node
  // sandbox waits (and no python one).
  idle('ferry-pool-idle', 'Ferry: 1 node function deployed, none running, its pool full (1 node sandbox)', [], 1),
  idle('ferry-idle', 'Ferry: no function running, no pool', noPool),
  idle('ferry-idle-1000', 'Ferry: 1,000 functions deployed, none running, no pool', noPool, 1000),
];
