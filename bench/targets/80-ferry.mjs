// Ferry as an anchors target: the same hello-world handler served warm through Ferry (gateway +
// one node instance, both pinned to the server CPU by the runner), measured side by side with
// the bare node:http baseline in one run.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deployHello } from '../deploy-hello.mjs';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(repo, 'dist/src/cli/main.js');
const version = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).version;

function target(name, label, runtime) {
  const dataDir = (ctx) => join(ctx.tmp, `ferry-data-${name}`);
  return {
    name,
    label,
    phases: ['throughput', 'rss'],
    path: '/fn/hello',
    expect: 'Hello, World!',
    version: () => `ferry ${version} (${runtime} runtime, process driver)`,
    setup: async (ctx) => {
      const dir = dataDir(ctx);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      await deployHello({ cli, node: ctx.node, dataDir: dir, runtime });
    },
    spawn: (ctx) => ({
      cmd: ctx.node,
      args: [cli, 'server', '--port', String(ctx.port), '--host', '127.0.0.1', '--data-dir', dataDir(ctx), '--log-level', 'warn'],
      env: { NODE_ENV: 'production' },
    }),
  };
}

export default [target('ferry-node', 'Ferry: node handler, warm', 'node'), target('ferry-python', 'Ferry: python handler, warm', 'python')];
