// Two commits of Ferry as anchors targets, side by side in one run: the warm path of a `node`
// function answering a string and one answering `new Response(...)`, each served by the commit
// before a change (FERRY_AB_BEFORE) and the commit after it (FERRY_AB_AFTER, default HEAD). Each
// commit is exported with `git archive` and built once under $ANCHORS_TMP/ferry-ab/<sha>/ (the
// repository's node_modules linked in), so uncommitted edits never reach either side. The process
// driver: the sandbox costs nothing warm, and the change under test is the server's own path.
// Run through bench/ab.sh, which also prints the after/before paired ratios.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deployHello } from '../deploy-hello.mjs';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const git = (...args) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).trim();

function commit(envName, fallback) {
  const ref = process.env[envName] ?? fallback;
  if (!ref) throw new Error(`${envName} is not set: name the commit to measure (see bench/ab.sh)`);
  return git('rev-parse', '--verify', `${ref}^{commit}`);
}

/** Exports and builds `sha` once; answers its CLI. */
function built(ctx, sha) {
  const dir = join(ctx.tmp, 'ferry-ab', sha);
  const cli = join(dir, 'dist/src/cli/main.js');
  if (existsSync(cli)) return cli;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync('sh', ['-c', `git -C "${repo}" archive ${sha} | tar -x -C "${dir}"`], { stdio: 'inherit' });
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
  execFileSync('npm', ['run', '-s', 'build'], { cwd: dir, stdio: 'inherit' });
  return cli;
}

const unsandboxed = ['--driver', 'process', '--unsandboxed'];

function target(side, sha, handler) {
  const name = `ferry-${side}-${handler}`;
  const dataDir = (ctx) => join(ctx.tmp, `ferry-data-${name}`);
  const cli = (ctx) => join(ctx.tmp, 'ferry-ab', sha, 'dist/src/cli/main.js');
  return {
    name,
    label: `Ferry ${side} (${sha.slice(0, 7)}): node ${handler === 'string' ? 'string' : '`new Response`'} handler, process driver`,
    phases: ['throughput'],
    path: '/fn/hello',
    expect: 'Hello, World!',
    version: () => `ferry ${sha.slice(0, 12)} (${side})`,
    setup: async (ctx) => {
      const dir = dataDir(ctx);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      await deployHello({ cli: built(ctx, sha), node: ctx.node, dataDir: dir, runtime: handler === 'string' ? 'node' : 'node-response', args: unsandboxed });
    },
    spawn: (ctx) => ({
      cmd: ctx.node,
      args: [cli(ctx), 'server', '--port', String(ctx.port), '--host', '127.0.0.1', '--data-dir', dataDir(ctx), '--log-level', 'warn', ...unsandboxed],
      env: { NODE_ENV: 'production' },
    }),
  };
}

const before = commit('FERRY_AB_BEFORE');
const after = commit('FERRY_AB_AFTER', 'HEAD');
export default [
  target('before', before, 'string'),
  target('after', after, 'string'),
  target('before', before, 'response'),
  target('after', after, 'response'),
];
