import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FerryError } from '../errors/index.js';
import { pythonInterpreter } from '../sandbox/rootfs/index.js';
import { findGuestKernel } from './kernel.js';
import { inittab, passwd } from './guest-files.js';
import { assembleRootfs, buildBeside, staticBusybox } from './assemble.js';
import { agentPath, distSkip, ferryInGuest, GUEST_FERRY, guestPaths, rootfsFiles, runtimeDir, type RootfsManifest } from '../sandbox/microvm/guest-layout.js';
import { HostTree } from './host-tree.js';

/** Parts of the Python stdlib no function needs in a sandbox (its own tests, GUIs, installers), and the host's installed packages (not the stdlib: `hostLibraries` is not honoured). */
const stdlibSkip = /^(site-packages|dist-packages|test|tests|idlelib|tkinter|turtledemo|ensurepip|lib2to3|pydoc_data|config-3[.\d]*-x86_64-linux-gnu)$/;

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
export async function buildRootfs(o: RootfsBuildOptions): Promise<RootfsManifest> {
  const log = o.log ?? (() => {});
  const kernel = findGuestKernel(o.kernelDir);
  const busybox = staticBusybox();
  if (!existsSync(agentPath)) throw new FerryError('internal', `the guest agent is not built (${agentPath}): npm run build`);
  return buildBeside(o.outDir, (work) => {
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
    return assembleRootfs(work, kernel, busybox, '/usr/bin/busybox', {
      mode: 'host',
      node: process.execPath,
      python,
      agent: agentPath,
      rootBytes: tree.bytes + ferryTree.bytes,
      rootFiles: tree.files + ferryTree.files,
    }, log);
  });
}
