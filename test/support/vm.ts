/**
 * A small throwaway VM for tests that need a kernel set up differently from this host's (e.g. a
 * cgroup v2 only hierarchy where the host is v1/v2 hybrid). Its root filesystem is the host's own
 * `/`, exported read-only with qemu's built-in 9p server, so it runs the host's node, python3 and
 * the already built dist/. Nothing is mocked: a real kernel boots, and the script given to
 * `runInVm` runs as PID 1 of that kernel's world.
 *
 * The pieces (installed by scripts/install-system-deps.sh):
 * - qemu-system-x86_64 (Debian's qemu-system-x86);
 * - a statically linked busybox (busybox-static) for the initramfs;
 * - Debian's generic amd64 kernel, extracted (not installed) into `vmCacheDir`/kernel: vmlinuz,
 *   modules.builtin and the virtio, 9p, netfs and fscache modules.
 *
 * Boot: the kernel starts an initramfs built here on each run (busybox, the modules 9p needs,
 * an init script) that mounts the host's / read-only at /newroot, puts tmpfs on /tmp and /run
 * (keeping the working directory visible when it is under them),
 * proc, sysfs, devtmpfs and a cgroup2 hierarchy (the only one: the kernel gets
 * `cgroup_no_v1=all`) in it, mounts a writable share of a host temp directory at /run/ferry-vm,
 * and switch_roots into /newroot (switch_root, not chroot: a chrooted process may not create
 * user namespaces, which bwrap needs). There /bin/sh runs the script with its output in
 * /run/ferry-vm/output.txt and its exit status in /run/ferry-vm/status, then powers off. What the
 * guest wrote into /run/ferry-vm is handed back in `files`.
 *
 * Acceleration: KVM when /dev/kvm can run a stock kernel; else TCG (qemu's emulator, some
 * 10-30x slower). A host whose /dev/kvm is PVM (`kvm_pvm` loaded: nested PVM under Firecracker,
 * as on some cloud VMs) can only boot PVM-enabled guest kernels, which Debian
 * does not ship, so TCG is used there. `FERRY_TEST_VM_ACCEL` (kvm, tcg, or a list such as
 * kvm,tcg: tried in order) overrides the choice.
 *
 * FERRY_TEST_VM_DEBUG=1 streams the console to stderr with the kernel's messages;
 * FERRY_TEST_VM_KEEP=1 leaves the initramfs and the shared directory in the OS temp dir.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { cpioArchive, findGuestKernel, isStaticElf, moduleName, uncompressedKernel, type CpioEntry, type GuestKernel } from '../../src/rootfs/index.js';
import { usableKvm } from '../../src/sandbox/host/kvm.js';

/** Where install-system-deps.sh extracts the kernel (`FERRY_TEST_VM_CACHE` overrides). */
export const vmCacheDir = process.env['FERRY_TEST_VM_CACHE'] || '/var/cache/ferry-test-vm';

const installFix = 'run `sudo bash scripts/install-system-deps.sh`, which installs qemu-system-x86 and busybox-static and extracts the kernel';

export type VmAccel = 'kvm' | 'tcg';

/** Everything a boot needs, as found on this host. */
export interface VmPieces {
  qemu: string;
  busybox: string;
  kernel: string;
  kernelVersion: string;
  /** Module files, in load order (dependencies first). */
  modules: string[];
  /** Accelerators to try, in order (a later one when the earlier never reaches the initramfs). */
  accels: VmAccel[];
  /** Why these accelerators. */
  accelNote: string;
}

/** The modules the guest loads (with what they depend on): the virtio PCI bus and 9p over it. */
const wantedModules = ['virtio_pci', '9pnet_virtio', '9p'];

function which(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

function chooseAccels(): { accels: VmAccel[]; note: string } {
  const forced = process.env['FERRY_TEST_VM_ACCEL'];
  if (forced) {
    const accels = forced.split(',').filter((a): a is VmAccel => a === 'kvm' || a === 'tcg');
    if (accels.length > 0) return { accels, note: `FERRY_TEST_VM_ACCEL=${forced}` };
  }
  const kvm = usableKvm();
  if (!kvm.ok) return { accels: ['tcg'], note: `TCG: ${kvm.why}` };
  return { accels: ['kvm', 'tcg'], note: 'KVM (TCG if the kernel does not reach its initramfs under KVM)' };
}

/** Finds the pieces; `missing` names each absent one with the fix. */
export function findVmPieces(): { ok: true; pieces: VmPieces } | { ok: false; missing: string[] } {
  const missing: string[] = [];
  if (process.platform !== 'linux' || process.arch !== 'x64') return { ok: false, missing: [`the test VM runs on x86_64 Linux only (this is ${process.platform}/${process.arch})`] };
  const qemu = which('qemu-system-x86_64');
  if (!qemu) missing.push(`qemu-system-x86_64 is not installed (apt-get install --no-install-recommends qemu-system-x86, or ${installFix})`);
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));
  if (!busybox) missing.push(`busybox is not installed (apt-get install busybox-static, or ${installFix})`);
  else if (!isStaticElf(busybox)) missing.push(`${busybox} is dynamically linked; the initramfs needs busybox-static (apt-get install busybox-static)`);
  let kernel: GuestKernel | undefined;
  try {
    kernel = findGuestKernel(join(vmCacheDir, 'kernel'), wantedModules);
  } catch (err) {
    missing.push(`${(err as Error).message}; remove ${join(vmCacheDir, 'kernel')} and ${installFix}`);
  }
  if (missing.length > 0) return { ok: false, missing };
  const { accels, note } = chooseAccels();
  return { ok: true, pieces: { qemu: qemu!, busybox: busybox!, kernel: kernel!.vmlinuz, kernelVersion: kernel!.version, modules: kernel!.modules, accels, accelNote: note } };
}

// ---- initramfs (src/rootfs's cpio writer, uncompressed: the kernel unpacks it as it is) ----

const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
/** A path made safe to print inside a double-quoted shell string. */
const said = (s: string): string => s.replace(/[^\w/.,:+-]/g, '?');

/** The directories the guest gets fresh tmpfs on (the host's are not writable there). */
const tmpfsDirs = ['/tmp', '/run'];

function initScript(modules: string[], controllers: string[], keep: string[]): string {
  const names = modules.map((m) => moduleName(m)).join(' ');
  // Host paths under a tmpfs dir (a checkout in /tmp) are bound aside and moved back on top.
  const kept = keep.filter((k) => tmpfsDirs.some((d) => k.startsWith(`${d}/`)));
  const hold = kept.map((k, i) => `mkdir -p /keep/${i} && mount --bind ${shq(`/newroot${k}`)} /keep/${i} || fail "binding ${said(k)} aside"`).join('\n');
  const restore = kept.map((k, i) => `mkdir -p ${shq(`/newroot${k}`)} && mount --move /keep/${i} ${shq(`/newroot${k}`)} || fail "putting ${said(k)} back"`).join('\n');
  return `#!/bin/busybox sh
# The initramfs of test/support/vm.ts: mount the host's / and a cgroup2 hierarchy, switch into it.
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
fail() { echo "ferry-vm: FAILED: $*"; poweroff -f; sleep 30; }
mount -t proc proc /proc && mount -t sysfs sysfs /sys && mount -t devtmpfs devtmpfs /dev || fail "mounting proc, sysfs and devtmpfs"
echo "ferry-vm: init (kernel $(uname -r))"
for m in ${names}; do insmod /lib/modules/$m.ko || fail "insmod $m"; done
mkdir -p /newroot
i=0
until mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=512000,cache=loose hostroot /newroot; do
  i=$((i + 1)); [ $i -lt 50 ] || fail "mounting the host's / (9p tag hostroot)"; sleep 0.1
done
${hold}
mount -t tmpfs -o mode=1777 tmpfs /newroot/tmp || fail "tmpfs on /tmp"
mount -t tmpfs -o mode=755 tmpfs /newroot/run || fail "tmpfs on /run"
${restore}
mount -t proc proc /newroot/proc || fail "proc"
mount -t sysfs sysfs /newroot/sys || fail "sysfs"
mount -t devtmpfs devtmpfs /newroot/dev || fail "devtmpfs"
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /newroot/dev/pts || fail "devpts"
mount -t tmpfs -o mode=1777 tmpfs /newroot/dev/shm || fail "tmpfs on /dev/shm"
mount -t cgroup2 cgroup2 /newroot/sys/fs/cgroup || fail "mounting cgroup2"
${controllers.length > 0 ? `echo ${shq(controllers.map((c) => `+${c}`).join(' '))} > /newroot/sys/fs/cgroup/cgroup.subtree_control || fail "enabling ${controllers.join(', ')} in the root cgroup"` : ''}
mkdir /newroot/run/ferry-vm && mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 out /newroot/run/ferry-vm || fail "mounting the output share"
echo "ferry-vm: switching root"
exec switch_root /newroot /bin/sh /run/ferry-vm/stage2.sh
fail "switch_root"
`;
}

function stage2Script(cwd: string, env: Record<string, string>): string {
  return `# PID 1 after switch_root (the host's /bin/sh): runs script.sh, records its status, powers off.
${Object.entries(env)
  .map(([k, v]) => `export ${k}=${shq(v)}`)
  .join('\n')}
cd ${shq(cwd)} || echo "ferry-vm: cannot cd to ${said(cwd)}"
echo "ferry-vm: running script"
/bin/sh /run/ferry-vm/script.sh > /run/ferry-vm/output.txt 2>&1 < /dev/null
echo $? > /run/ferry-vm/status
echo "ferry-vm: script done, status $(cat /run/ferry-vm/status)"
sync
echo o > /proc/sysrq-trigger
sleep 60
`;
}

// ---- running ----

/** What `runInVm` is asked. */
export interface VmRunOptions {
  /** Shell script (the host's /bin/sh) run in the guest, in `cwd`, as root, as the only job. */
  script: string;
  /** Working directory in the guest (a host path: the guest's / is the host's). Default /. */
  cwd?: string;
  /** Environment of the script; PATH and HOME default to this process's. */
  env?: Record<string, string>;
  /**
   * Host paths under /tmp or /run (which get fresh tmpfs in the guest) to keep visible there,
   * read-only; `cwd` always is (e.g. a checkout in /tmp).
   */
  keep?: string[];
  /** Files placed in /run/ferry-vm before boot (name -> content). */
  files?: Record<string, string>;
  /** cgroup v2 controllers enabled in the root's cgroup.subtree_control. Default memory, cpu, pids. */
  enableControllers?: string[];
  /** Whole run, boot to power-off; the VM is killed after it. Default 120 s. */
  timeoutMs?: number;
  /** Until the initramfs says it started; past it the next accelerator is tried. Default 30 s. */
  bootTimeoutMs?: number;
  /** Default 1024. */
  memoryMb?: number;
  /**
   * Default 2 with KVM, 1 with TCG: a second emulated CPU bought nothing there and, on a busy
   * host, cost a third more time (its vCPU threads stall each other).
   */
  cpus?: number;
  pieces?: VmPieces;
}

/** What one VM run left. */
export interface VmRun {
  accel: VmAccel;
  /** The serial console (kernel messages and the init's progress lines), and qemu's stderr. */
  console: string;
  /** The script's exit status; undefined when it never finished. */
  status: number | undefined;
  /** The script's stdout and stderr. */
  output: string;
  /** Everything in /run/ferry-vm at power-off (name -> content), the given files included. */
  files: Map<string, string>;
  timedOut: boolean;
  durationMs: number;
  /** Earlier accelerators that did not boot, and why. */
  notes: string[];
}

function boot(p: VmPieces, accel: VmAccel, kernel: string, initrd: string, outDir: string, opts: VmRunOptions): Promise<{ console: string; timedOut: boolean; booted: boolean }> {
  const escape = (s: string): string => s.replace(/,/g, ',,');
  const args = [
    ...(accel === 'kvm' ? ['-enable-kvm', '-cpu', 'host'] : ['-accel', 'tcg,thread=multi', '-cpu', 'max']),
    '-m', String(opts.memoryMb ?? 1024),
    '-smp', String(opts.cpus ?? (accel === 'kvm' ? 2 : 1)),
    '-nodefaults', '-no-user-config', '-display', 'none', '-serial', 'stdio', '-no-reboot',
    '-kernel', kernel,
    '-initrd', initrd,
    '-append', `console=ttyS0 panic=-1 quiet loglevel=${process.env['FERRY_TEST_VM_DEBUG'] ? 7 : 3} cgroup_no_v1=all cryptomgr.notests`,
    '-fsdev', 'local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap',
    '-device', 'virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot',
    '-fsdev', `local,id=out,path=${escape(outDir)},security_model=none`,
    '-device', 'virtio-9p-pci,fsdev=out,mount_tag=out',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(p.qemu, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    // A test process that dies (or is cancelled) takes its VM along.
    const reap = (): void => void child.kill('SIGKILL');
    process.once('exit', reap);
    let text = '';
    let booted = false;
    let timedOut = false;
    const onData = (s: string): void => {
      text += s;
      if (process.env['FERRY_TEST_VM_DEBUG']) process.stderr.write(s);
      if (!booted && text.includes('ferry-vm: init')) {
        booted = true;
        clearTimeout(bootTimer);
      }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    const kill = (): void => {
      timedOut = true;
      child.kill('SIGKILL');
    };
    const bootTimer = setTimeout(kill, opts.bootTimeoutMs ?? 30_000);
    const timer = setTimeout(kill, opts.timeoutMs ?? 120_000);
    const done = (): void => {
      clearTimeout(bootTimer);
      clearTimeout(timer);
      process.removeListener('exit', reap);
    };
    child.once('error', (err) => {
      done();
      reject(new Error(`cannot start ${p.qemu}: ${err.message}`));
    });
    child.once('close', () => {
      done();
      resolve({ console: text, timedOut, booted });
    });
  });
}

/** Boots the VM, runs `opts.script` in it and answers what it left. Rejects only when qemu cannot start. */
export async function runInVm(opts: VmRunOptions): Promise<VmRun> {
  let pieces = opts.pieces;
  if (!pieces) {
    const found = findVmPieces();
    if (!found.ok) throw new Error(`the test VM cannot run here: ${found.missing.join('; ')}`);
    pieces = found.pieces;
  }
  const work = mkdtempSync(join(tmpdir(), 'ferry-vm-'));
  const started = Date.now();
  try {
    const entries: CpioEntry[] = [];
    for (const d of ['bin', 'sbin', 'usr', 'usr/bin', 'usr/sbin', 'dev', 'proc', 'sys', 'newroot', 'lib', 'lib/modules']) entries.push({ name: d, mode: 0o040755 });
    entries.push({ name: 'dev/console', mode: 0o020600, rdev: [5, 1] });
    entries.push({ name: 'bin/busybox', mode: 0o100755, data: readFileSync(pieces.busybox) });
    for (const m of pieces.modules) entries.push({ name: `lib/modules/${moduleName(m)}.ko`, mode: 0o100644, data: readFileSync(m) });
    const keep = [opts.cwd ?? '/', ...(opts.keep ?? [])];
    entries.push({ name: 'init', mode: 0o100755, data: Buffer.from(initScript(pieces.modules, opts.enableControllers ?? ['memory', 'cpu', 'pids'], keep)) });
    const initrd = join(work, 'initrd.cpio');
    writeFileSync(initrd, cpioArchive(entries));
    // The kernel uncompressed (QEMU enters it directly): decompressing itself is the slowest part
    // of an emulated boot (~5 s here), xz on the host a fraction of a second.
    const vmlinux = uncompressedKernel(pieces.kernel);
    let kernel = pieces.kernel;
    if (vmlinux) writeFileSync((kernel = join(work, 'vmlinux')), vmlinux);

    const notes: string[] = [];
    for (const accel of pieces.accels) {
      const outDir = join(work, `out-${accel}`);
      mkdirSync(outDir);
      const env = { PATH: process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin', HOME: process.env['HOME'] ?? '/root', LANG: 'C.UTF-8', ...opts.env };
      writeFileSync(join(outDir, 'stage2.sh'), stage2Script(opts.cwd ?? '/', env));
      writeFileSync(join(outDir, 'script.sh'), opts.script);
      for (const [name, content] of Object.entries(opts.files ?? {})) writeFileSync(join(outDir, name), content);
      const r = await boot(pieces, accel, kernel, initrd, outDir, opts);
      if (!r.booted && accel !== pieces.accels[pieces.accels.length - 1]) {
        const when = r.timedOut ? `within ${(opts.bootTimeoutMs ?? 30_000) / 1000} s` : 'before qemu exited';
        notes.push(`${accel}: the kernel did not reach its initramfs ${when}; console: ${r.console.slice(-500).trim()}`);
        continue;
      }
      const files = new Map<string, string>();
      for (const name of readdirSync(outDir)) {
        const p = join(outDir, name);
        if (statSync(p).isFile()) files.set(name, readFileSync(p, 'utf8'));
      }
      const status = files.has('status') ? Number(files.get('status')!.trim()) : undefined;
      return { accel, console: r.console, status, output: files.get('output.txt') ?? '', files, timedOut: r.timedOut, durationMs: Date.now() - started, notes };
    }
    throw new Error('unreachable: no accelerator to try');
  } finally {
    if (!process.env['FERRY_TEST_VM_KEEP']) rmSync(work, { recursive: true, force: true });
  }
}

