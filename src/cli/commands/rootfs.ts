/** `ferry rootfs build`: the kernel, initramfs and root of the microvm sandbox tier. */
import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import type { IO } from '../output.js';

export function register(program: Command, io: IO): void {
  const rootfs = program.command('rootfs').description('the root file system of the microvm sandbox (its guests)');
  rootfs
    .command('build')
    .description("build the microvm guests' kernel, initramfs and root from this host's runtimes (host mode) into <data-dir>/microvm")
    .option('--data-dir <dir>', 'the data dir the server uses (FERRY_DATA_DIR, default ./.ferry)')
    .option('--kernel-dir <dir>', "where Debian's kernel was extracted (default /var/cache/ferry/microvm-kernel, see scripts/install-system-deps.sh)")
    .option('--without-python', 'leave python3 and its stdlib out (python functions then cannot run in the guest)')
    .action(async (opts: { dataDir?: string; kernelDir?: string; withoutPython?: boolean }) => {
      // Loaded on demand: the other commands never load the builder.
      const { buildRootfs } = await import('../../rootfs/index.js');
      const dataDir = resolve(opts.dataDir ?? process.env.FERRY_DATA_DIR ?? './.ferry');
      const outDir = join(dataDir, 'microvm');
      const m = buildRootfs({ outDir, ...(opts.kernelDir && { kernelDir: resolve(opts.kernelDir) }), withoutPython: opts.withoutPython === true, log: (line) => io.stdout.write(`${line}\n`) });
      io.stdout.write(`built ${outDir} (${m.mode} mode, kernel ${m.kernel})\n`);
    });
}
