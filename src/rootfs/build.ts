import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FerryError } from '../errors/index.js';
import { pythonInterpreter } from '../sandbox/rootfs/index.js';
import { initramfs, type CpioEntry } from './cpio.js';
import { findGuestKernel, moduleName, uncompressedKernel } from './kernel.js';
import { initScript, inittab, passwd } from './guest-files.js';
import { agentPath, ferryInGuest, GUEST_FERRY, guestPaths, rootfsFiles, ROOTFS_LAYOUT, type RootfsManifest } from '../sandbox/microvm/guest-layout.js';
import { HostTree } from './host-tree.js';
import { isStaticElf } from './static-elf.js';

/** Parts of the Python stdlib no function needs in a sandbox (its own tests, GUIs, installers), and the host's installed packages (not the stdlib: `hostLibraries` is not honoured). */
const stdlibSkip = /^(site-packages|dist-packages|test|tests|idlelib|tkinter|turtledemo|ensurepip|lib2to3|pydoc_data|config-3[.\d]*-x86_64-linux-gnu)$/;
/** Ferry's dist: source maps and tests stay out. */
const distSkip = /\.(map|test\.js)$/;

/** Ferry's runtime directory (shims), in this installation's dist/. */
const runtimeDir = fileURLToPath(new URL('../runtime/', import.meta.url));

function staticBusybox(): string {
  const found = ['/usr/bin/busybox', '/bin/busybox'].find((p) => existsSync(p));
  if (!found || !isStaticElf(found)) throw new FerryError('internal', 'the microvm root needs a statically linked busybox: apt-get install busybox-static');
  return found;
}

/** What `buildRootfs` is asked. */
export interface RootfsBuildOptions {
  /** The directory the root is built into (replaced as a whole once built). */
  outDir: string;
  /** Where the kernel was extracted (default kernel.ts's `defaultKernelDir`). */
  kernelDir?: string;
  /** Leave Python out (the python runtime then cannot run in the guest). */
  withoutPython?: boolean;
  log?(line: string): void;
}

/**
 * `ferry rootfs build`, host mode: the guest's root is the host's own runtimes at their host
 * paths (node and its libraries, python3, its stdlib and theirs), Ferry's shims and agent,
 * busybox and an /etc of its own; the initramfs holds busybox, the virtio and 9p modules and the
 * init script. Built beside `outDir` and swapped in whole: a failed build leaves the old one.
 */
export function buildRootfs(o: RootfsBuildOptions): RootfsManifest {
  const log = o.log ?? (() => {});
  const kernel = findGuestKernel(o.kernelDir);
  const busybox = staticBusybox();
  if (!existsSync(agentPath)) throw new FerryError('internal', `the guest agent is not built (${agentPath}): npm run build`);
  const work = `${o.outDir}.building-${randomUUID().slice(0, 8)}`;
  mkdirSync(dirname(o.outDir), { recursive: true });
  try {
    const files = rootfsFiles(work);
    mkdirSync(files.root, { recursive: true, mode: 0o755 });
    const tree = new HostTree(files.root);
    tree.add(busybox);
    tree.add(process.execPath);
    log(`node: ${process.execPath}`);
    let python: string | undefined;
    if (!o.withoutPython) {
      // The interpreter the python runtime launches, and Debian's /usr/bin/python3 beside it
      // (what a program started by path expects), each with its own stdlib.
      python = pythonInterpreter().executable;
      for (const exe of new Set([python, ...(existsSync('/usr/bin/python3') ? ['/usr/bin/python3'] : [])])) {
        tree.add(exe);
        const stdlib = execFileSync(exe, ['-S', '-c', 'import sysconfig; p = sysconfig.get_paths(); print(p["stdlib"]); print(p["platstdlib"])'], { encoding: 'utf8' }).trim().split('\n');
        for (const dir of new Set(stdlib)) tree.add(dir, stdlibSkip);
        log(`python: ${exe}, stdlib ${[...new Set(stdlib)].join(', ')}`);
      }
    }
    // Ferry's own files under a prefix of their own (guest-layout.ts says why).
    const ferryTree = new HostTree(join(files.root, GUEST_FERRY));
    ferryTree.add(runtimeDir, distSkip);
    // The python shim's own modules compiled in place (the guest cannot write its .pyc files and
    // would compile them at every start): valid there, as the copies keep their mtimes.
    if (python) execFileSync(python, ['-m', 'compileall', '-q', join(files.root, ferryInGuest(runtimeDir), 'python')], { stdio: ['ignore', 'ignore', 'inherit'] });
    ferryTree.add(dirname(agentPath), distSkip);
    for (const d of ['proc', 'sys', 'dev', 'tmp', 'run', 'etc', 'root', guestPaths.packageDir.slice(1)]) mkdirSync(join(files.root, d), { recursive: true, mode: 0o755 });
    // busybox init runs inittab's lines with /bin/sh: busybox's own.
    if (!existsSync(join(files.root, 'bin', 'sh'))) symlinkSync(busybox, join(files.root, 'bin', 'sh'));
    const etc = passwd();
    writeFileSync(join(files.root, 'etc', 'passwd'), etc.passwd, { mode: 0o644 });
    writeFileSync(join(files.root, 'etc', 'group'), etc.group, { mode: 0o644 });
    writeFileSync(join(files.root, 'etc', 'inittab'), inittab(process.execPath, ferryInGuest(agentPath)), { mode: 0o644 });

    const entries: CpioEntry[] = ['bin', 'dev', 'proc', 'sys', 'newroot', 'lib', 'lib/modules'].map((name) => ({ name, mode: 0o040755 }));
    entries.push({ name: 'dev/console', mode: 0o020600, rdev: [5, 1] });
    entries.push({ name: 'bin/busybox', mode: 0o100755, data: readFileSync(busybox) });
    for (const m of kernel.modules) entries.push({ name: `lib/modules/${moduleName(m)}.ko`, mode: 0o100644, data: readFileSync(m) });
    entries.push({ name: 'init', mode: 0o100755, data: Buffer.from(initScript(kernel.modules, guestPaths.packageDir)) });
    const initrd = initramfs(entries);
    writeFileSync(files.initrd, initrd, { mode: 0o644 });
    copyFileSync(kernel.vmlinuz, files.vmlinuz);
    const vmlinux = uncompressedKernel(kernel.vmlinuz);
    if (vmlinux) writeFileSync(files.vmlinux, vmlinux, { mode: 0o644 });
    log(vmlinux ? 'kernel: uncompressed beside vmlinuz (QEMU enters it directly: no decompression in the guest)' : 'kernel: vmlinuz only (the guest decompresses it at each boot)');

    const manifest: RootfsManifest = {
      mode: 'host',
      builtAt: new Date().toISOString(),
      kernel: kernel.version,
      layout: ROOTFS_LAYOUT,
      node: process.execPath,
      python,
      agent: agentPath,
      rootBytes: tree.bytes + ferryTree.bytes,
      rootFiles: tree.files + ferryTree.files,
      initrdBytes: initrd.length,
    };
    writeFileSync(files.manifest, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o644 });
    // The swap: the old root aside, the new one in place, the old one gone.
    const old = `${o.outDir}.old-${randomUUID().slice(0, 8)}`;
    if (existsSync(o.outDir)) renameSync(o.outDir, old);
    renameSync(work, o.outDir);
    rmSync(old, { recursive: true, force: true });
    log(`root: ${tree.files} files, ${(tree.bytes / 1e6).toFixed(1)} MB; initramfs ${(initrd.length / 1e6).toFixed(1)} MB; kernel ${kernel.version}`);
    return manifest;
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    throw err;
  }
}
