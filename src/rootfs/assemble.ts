import { randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { FerryError } from '../errors/index.js';
import { initramfs, type CpioEntry } from './cpio.js';
import { moduleName, uncompressedKernel, type GuestKernel } from './kernel.js';
import { initScript } from './guest-files.js';
import { isStaticElf } from './static-elf.js';
import { writeRootImage } from './root-image.js';
import { rootfsFiles, ROOTFS_LAYOUT, type RootfsManifest } from '../sandbox/microvm/guest-layout.js';

/** The host's static busybox: the initramfs's shell, and the init of every root. */
export function staticBusybox(): string {
  const found = ['/usr/bin/busybox', '/bin/busybox'].find((p) => existsSync(p));
  if (!found || !isStaticElf(found)) throw new FerryError('internal', 'the microvm root needs a statically linked busybox: apt-get install busybox-static');
  return found;
}

/**
 * Runs `make` on a fresh work directory beside `outDir` and swaps it in whole once made: the old
 * root aside, the new one in place, the old one gone. A failed build leaves the old root.
 */
export async function buildBeside<T>(outDir: string, make: (work: string) => Promise<T> | T): Promise<T> {
  const work = `${outDir}.building-${randomUUID().slice(0, 8)}`;
  mkdirSync(dirname(outDir), { recursive: true });
  try {
    const out = await make(work);
    const old = `${outDir}.old-${randomUUID().slice(0, 8)}`;
    if (existsSync(outDir)) renameSync(outDir, old);
    renameSync(work, outDir);
    rmSync(old, { recursive: true, force: true });
    return out;
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    throw err;
  }
}

/** What a mode says about its root for the manifest (the rest is filled in here). */
export type RootDescription = Omit<RootfsManifest, 'builtAt' | 'kernel' | 'layout' | 'initrdBytes'>;

/**
 * The parts every mode shares once its root tree is in `work`: the initramfs (busybox, the
 * kernel's modules, the init script that hands over to `rootBusybox`'s init in the root), the
 * tree as a disk image (what the guest mounts; the tree stays, to be checked against), the kernel
 * (uncompressed beside it where it can be) and the manifest.
 */
export function assembleRootfs(work: string, kernel: GuestKernel, busybox: string, rootBusybox: string, root: RootDescription, log: (line: string) => void): RootfsManifest {
  const files = rootfsFiles(work);
  const entries: CpioEntry[] = ['bin', 'dev', 'proc', 'sys', 'newroot', 'lib', 'lib/modules'].map((name) => ({ name, mode: 0o040755 }));
  entries.push({ name: 'dev/console', mode: 0o020600, rdev: [5, 1] });
  entries.push({ name: 'bin/busybox', mode: 0o100755, data: readFileSync(busybox) });
  for (const m of kernel.modules) entries.push({ name: `lib/modules/${moduleName(m)}.ko`, mode: 0o100644, data: readFileSync(m) });
  entries.push({ name: 'init', mode: 0o100755, data: Buffer.from(initScript(kernel.modules, rootBusybox)) });
  const initrd = initramfs(entries);
  writeFileSync(files.initrd, initrd, { mode: 0o644 });
  copyFileSync(kernel.vmlinuz, files.vmlinuz);
  const vmlinux = uncompressedKernel(kernel.vmlinuz);
  if (vmlinux) writeFileSync(files.vmlinux, vmlinux, { mode: 0o644 });
  log(vmlinux ? 'kernel: uncompressed beside vmlinuz (QEMU enters it directly: no decompression in the guest)' : 'kernel: vmlinuz only (the guest decompresses it at each boot)');
  const imageMib = writeRootImage(files.root, files.rootImage, root.rootBytes, root.rootFiles);
  log(`root image: ${files.rootImage} (ext4, ${imageMib} MiB, read-only in the guest)`);
  const manifest: RootfsManifest = { ...root, builtAt: new Date().toISOString(), kernel: kernel.version, layout: ROOTFS_LAYOUT, initrdBytes: initrd.length };
  writeFileSync(files.manifest, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o644 });
  log(`root: ${root.rootFiles} files, ${(root.rootBytes / 1e6).toFixed(1)} MB; initramfs ${(initrd.length / 1e6).toFixed(1)} MB; kernel ${kernel.version}`);
  return manifest;
}
