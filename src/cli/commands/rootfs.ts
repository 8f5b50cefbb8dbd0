/** `ferry rootfs build`: the kernel, initramfs and root of the microvm sandbox tier. */
import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import type { IO } from '../output.js';

interface BuildFlags {
  dataDir?: string;
  kernelDir?: string;
  withoutPython?: boolean;
  fromImage?: string;
  debian?: string;
  mirror?: string;
  include?: string;
}

export function register(program: Command, io: IO): void {
  const rootfs = program.command('rootfs').description('the root file system of the microvm sandbox (its guests)');
  rootfs
    .command('build')
    .description("build the microvm guests' kernel, initramfs and root into <data-dir>/microvm: from this host's runtimes (the default), from a container image's layers (--from-image), or from a Debian minbase (--debian)")
    .option('--data-dir <dir>', 'the data dir the server uses (FERRY_DATA_DIR, default ./.ferry)')
    .option('--kernel-dir <dir>', "where Debian's kernel was extracted (default /var/cache/ferry/microvm-kernel, see scripts/install-system-deps.sh)")
    .option('--without-python', "host mode: leave python3 and its stdlib out (python functions then cannot run in the guest)")
    .option('--from-image <image>', "the root is this image's root file system: a `docker save` archive or OCI layout tar (a file), else a registry reference pulled under the server's registry settings (FERRY_REGISTRY_*); Ferry's Node, agent and shims go under /.ferry")
    .option('--debian <suite>', 'the root is a Debian minbase of this suite (bookworm, stable, ...) made by debootstrap; Ferry\'s files go under /.ferry')
    .option('--mirror <url>', 'with --debian: the Debian mirror (default http://deb.debian.org/debian)')
    .option('--include <packages>', 'with --debian: comma-separated packages beyond the minbase (python3 for python functions)')
    .action(async (opts: BuildFlags) => {
      // Loaded on demand: the other commands never load the builder.
      const rootfsModule = await import('../../rootfs/index.js');
      const dataDir = resolve(opts.dataDir ?? process.env.FERRY_DATA_DIR ?? './.ferry');
      const outDir = join(dataDir, 'microvm');
      const log = (line: string): boolean => io.stdout.write(`${line}\n`);
      const kernel = opts.kernelDir ? { kernelDir: resolve(opts.kernelDir) } : {};
      if (opts.fromImage && opts.debian) throw new Error('--from-image and --debian are two ways to make the root: give one');
      if ((opts.mirror || opts.include) && !opts.debian) throw new Error('--mirror and --include go with --debian');
      if (opts.withoutPython && (opts.fromImage || opts.debian)) throw new Error("--without-python is host mode's: an image or a minbase has the python3 it has");
      let m;
      if (opts.fromImage) {
        const { loadServerOptions } = await import('../../config/index.js');
        const { loadRegistrySettings } = await import('../../images/index.js');
        // The server's own limits and registry settings (flags of `ferry server` as FERRY_* variables).
        const server = loadServerOptions({}, process.env);
        m = await rootfsModule.buildImageRootfs({ outDir, image: opts.fromImage, dataDir, ...kernel, registry: loadRegistrySettings(server), maxBytes: server.imageMaxBytes, maxEntries: server.imageMaxEntries, log });
      } else if (opts.debian) {
        const include = opts.include ? opts.include.split(',').map((p) => p.trim()).filter(Boolean) : [];
        m = await rootfsModule.buildDebianRootfs({ outDir, suite: opts.debian, ...(opts.mirror && { mirror: opts.mirror }), include, ...kernel, log });
      } else {
        m = await rootfsModule.buildRootfs({ outDir, ...kernel, withoutPython: opts.withoutPython === true, log });
      }
      io.stdout.write(`built ${outDir} (${m.mode} mode${m.source ? `, from ${m.source}` : ''}, kernel ${m.kernel})\n`);
    });
}
