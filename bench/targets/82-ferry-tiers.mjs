// Ferry's sandbox tiers as anchors targets: the node hello-world handler of 80-ferry.mjs under the
// gvisor and microvm drivers, beside the bwrap rows there and the bare node:http baseline. Cold =
// scale from zero, the first call to a server with no instance of the function:
// - gvisor has no pre-booted pool (docs/security.md): every start is cold (`ferry-node-gvisor`).
// - microvm keeps one booted VM (without a NIC) ready: `ferry-node-microvm` waits for that VM's
//   boot (FERRY_BENCH_MICROVM_BOOT_MS, default 90 s: an emulated boot on a busy host) and so
//   measures a pooled start; `ferry-node-microvm-nopool` calls as soon as the server listens, so
//   the call waits for the VM booting behind it (a boot, less the server's own start).
// Where /dev/kvm is missing, the microvm rows are QEMU's emulator (TCG): the label says which, and
// only their cold phase runs (the harness's throughput and RSS phases wait 30 s at most for the
// first answer, less than an emulated boot on a busy host).
// Only the tiers that can run here are offered (Ferry as root; runsc; QEMU and the extracted
// kernel). The gvisor row is in the default set (bench/run.sh); the microvm rows, minutes each
// under emulation (15 cold runs, each a boot), run by name:
//   npm run bench -- --only ferry-node-microvm,ferry-node-microvm-nopool --cold-runs 3
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deployHello } from '../deploy-hello.mjs';
import { firstCallMs } from './80-ferry.mjs';
import { accel, canGvisor, canMicrovm, kvm } from '../tiers-here.mjs';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(repo, 'dist/src/cli/main.js');
const version = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).version;

function tier(name, label, driver, opts = {}) {
  const dataDir = (ctx) => join(ctx.tmp, `ferry-data-${name}`);
  const args = ['--driver', driver];
  const t = {
    name,
    label,
    phases: opts.phases ?? ['throughput', 'cold', 'rss'],
    path: '/fn/hello',
    expect: 'Hello, World!',
    version: () => `ferry ${version} (node function, ${driver} sandbox${driver === 'microvm' ? `, ${accel}` : ''}, ${opts.pool ?? 'no pool'})`,
    setup: async (ctx) => {
      const dir = dataDir(ctx);
      // A server the harness killed (its stop outran the grace) may have left its run dirs mounted.
      for (const m of readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((p) => p.startsWith(`${dir}/`)).reverse()) spawnSync('umount', [m]);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      // The microvm tier's guest root, built from this host's runtimes.
      if (driver === 'microvm') {
        const r = spawnSync(ctx.node, [cli, 'rootfs', 'build', '--data-dir', dir, '--without-python'], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`ferry rootfs build failed: ${r.stderr.trim().slice(-500)}`);
      }
      await deployHello({ cli, node: ctx.node, dataDir: dir, runtime: 'node', args });
    },
    spawn: (ctx) => ({
      cmd: ctx.node,
      args: [cli, 'server', '--port', String(ctx.port), '--host', '127.0.0.1', '--data-dir', dataDir(ctx), '--log-level', 'warn', ...args],
      env: { NODE_ENV: 'production' },
    }),
    // The first call after the server listens (and, pooled microvm, after its VM booted).
    measureCold: (ctx) =>
      firstCallMs(ctx, t, async () => {
        await listening(ctx);
        if (opts.bootWaitMs) await ctx.sleep(opts.bootWaitMs);
      }, 300_000),
  };
  return t;
}

/** Resolves once the server answers its health check. */
async function listening(ctx) {
  for (let i = 0; i < 6000; i++) {
    const r = await ctx.httpGet(ctx.port, '/healthz', 1000).catch(() => undefined);
    if (r?.ok) return;
    await ctx.sleep(5);
  }
  throw new Error('the server did not listen in 30 s');
}

const bootWaitMs = Number(process.env.FERRY_BENCH_MICROVM_BOOT_MS) || 90_000;
export default [
  ...(canGvisor ? [tier('ferry-node-gvisor', 'Ferry: node handler, gvisor sandbox (no pool: always cold)', 'gvisor')] : []),
  ...(canMicrovm ? [tier('ferry-node-microvm', `Ferry: node handler, microvm sandbox (${accel}), pooled VM`, 'microvm', { pool: 'pooled VM', bootWaitMs, ...(!kvm && { phases: ['cold'] }) }),
  tier('ferry-node-microvm-nopool', `Ferry: node handler, microvm sandbox (${accel}), VM still booting`, 'microvm', { phases: ['cold'], pool: 'VM still booting' })] : []),
];
