import { execFile } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readdirSync, readFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { detectCgroups, type CgroupController } from '../bwrap/cgroups.js';
import { helperAvailable, helperBuildFix, helperPath, helperVersion } from '../bwrap/helper.js';
import { mountdAvailable, mountdPath } from '../bwrap/mounter.js';
import { checkSeccompLog } from '../bwrap/seccomp-log.js';
import { systemBindArgs } from '../bwrap/system-binds.js';
import { dataDirUnreachable } from '../bwrap/data-dir-reach.js';
import { usableKvm } from './kvm.js';
import { egressMissing } from '../microvm/egress.js';
import { defaultKernelDir } from '../microvm/guest-layout.js';

/**
 * What this host offers the sandbox, for `ferry doctor` and the server's start-up line. Only
 * looks (runs version commands and one throwaway bwrap); changes nothing. Pure data: callers
 * format it.
 */

/** One check: what was found and, when something is missing, the command that fixes it. */
export interface HostCheck {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
  /** Whether the default (bwrap) sandbox needs it; the others only add options. */
  required: boolean;
}

/** Every check, plus what each sandbox feature will use on this host. */
export interface HostReport {
  checks: HostCheck[];
  /** Feature -> mechanism, e.g. `{ isolation: 'bwrap 0.8.0', memory: 'cgroup v1', network: 'pasta' }`. */
  uses: Record<'isolation' | 'seccomp' | 'memory' | 'cpu' | 'pids' | 'network' | 'firewall' | 'pool', string>;
}

// Root's PATH may lack the sbin directories where nft lives.
const searchPath = (): string[] => [...(process.env['PATH'] ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'].filter(Boolean);

/** The first executable `name` on PATH (or an sbin directory), else undefined. */
export function findExecutable(name: string): string | undefined {
  for (const dir of searchPath()) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      /* next */
    }
  }
  return undefined;
}

function run(file: string, args: string[], timeoutMs = 5000): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ ok: !err, out: `${stdout}${stderr}`.trim() });
    });
  });
}

const readText = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
};

async function tool(name: string, args: string[], fix: string, required: boolean, label = name): Promise<HostCheck & { path?: string; version?: string }> {
  const path = findExecutable(name);
  if (!path) return { name: label, ok: false, required, detail: `${name} not found`, fix };
  const v = await run(path, args);
  const version = v.out.split('\n')[0] || 'unknown version';
  return { name: label, ok: true, required, detail: `${path} (${version})`, path, version };
}

async function bwrapCheck(): Promise<HostCheck & { version?: string }> {
  const found = await tool('bwrap', ['--version'], 'apt-get install -y bubblewrap', true);
  if (!found.path) return found;
  // The question is not whether bwrap exists but whether it can make namespaces here.
  const r = await run(found.path, ['--unshare-user', '--unshare-pid', '--die-with-parent', ...systemBindArgs(), 'true']);
  if (r.ok) return { ...found, detail: `${found.detail}; makes user and PID namespaces` };
  return {
    ...found,
    ok: false,
    detail: `${found.detail} but cannot create a sandbox: ${r.out.split('\n')[0] || 'failed'}`,
    fix: 'enable unprivileged user namespaces (see the user-namespaces check)',
  };
}

function userns(): HostCheck {
  const max = Number(readText('/proc/sys/user/max_user_namespaces') ?? '0');
  const clone = readText('/proc/sys/kernel/unprivileged_userns_clone'); // Debian/Ubuntu kernels only
  const apparmor = readText('/proc/sys/kernel/apparmor_restrict_unprivileged_userns'); // Ubuntu 23.10+
  const parts = [`max_user_namespaces=${max}`];
  if (clone !== undefined) parts.push(`unprivileged_userns_clone=${clone}`);
  if (apparmor !== undefined) parts.push(`apparmor_restrict_unprivileged_userns=${apparmor}`);
  const detail = parts.join(', ');
  if (!(max > 0)) return { name: 'user-namespaces', ok: false, required: true, detail, fix: 'sysctl -w user.max_user_namespaces=15000' };
  if (clone === '0') return { name: 'user-namespaces', ok: false, required: true, detail, fix: 'sysctl -w kernel.unprivileged_userns_clone=1' };
  if (apparmor === '1') {
    return { name: 'user-namespaces', ok: false, required: true, detail, fix: 'sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (or an AppArmor profile allowing userns for bwrap)' };
  }
  return { name: 'user-namespaces', ok: true, required: true, detail };
}

function kernelSeccomp(): HostCheck {
  const status = readText('/proc/self/status') ?? '';
  const m = /^Seccomp:\s*(\d)/m.exec(status);
  if (!m) return { name: 'seccomp', ok: false, required: true, detail: 'kernel without seccomp (no Seccomp field in /proc/self/status)', fix: 'use a kernel built with CONFIG_SECCOMP_FILTER' };
  return { name: 'seccomp', ok: true, required: true, detail: `kernel supports seccomp filters (this process: mode ${m[1]})` };
}

async function helperCheck(): Promise<HostCheck & { libseccomp?: string }> {
  const fix = helperBuildFix();
  if (!helperAvailable()) return { name: 'sandbox-helper', ok: false, required: true, detail: `${helperPath()} not built`, fix };
  try {
    const v = await helperVersion();
    return { name: 'sandbox-helper', ok: true, required: true, detail: `${helperPath()} (libseccomp ${v.libseccomp}, ${v.arch})`, libseccomp: v.libseccomp };
  } catch (err) {
    return { name: 'sandbox-helper', ok: false, required: true, detail: `${helperPath()} does not run: ${(err as Error).message}`, fix };
  }
}

function cgroupChecks(): HostCheck[] {
  let host;
  try {
    host = detectCgroups({ prepare: false });
  } catch (err) {
    return [{ name: 'cgroups', ok: false, required: true, detail: `cannot read cgroups: ${(err as Error).message}`, fix: 'mount cgroupfs at /sys/fs/cgroup' }];
  }
  return (['memory', 'cpu', 'pids'] as CgroupController[]).map((c) => {
    const s = host.controllers[c];
    const check: HostCheck = { name: `cgroup-${c}`, ok: s.enforceable, required: true, detail: s.detail };
    if (!s.enforceable) {
      check.fix = s.version === 2
        ? 'run Ferry in a cgroup with delegated controllers, e.g. a systemd service with Delegate=yes (or systemd-run -p Delegate=yes)'
        : s.version === 1
          ? 'run Ferry as root, or make its cgroup writable by its user'
          : `mount a cgroup hierarchy with the ${c} controller (cgroup v2 at /sys/fs/cgroup)`;
    }
    return check;
  });
}

/** Whether a function's logs can name the syscalls its seccomp filter refused (the kernel's audit records). */
async function seccompLog(): Promise<HostCheck> {
  const c = await checkSeccompLog();
  return { name: 'seccomp-log', required: false, ...c, detail: c.ok ? c.detail : `${c.detail}: function logs will not name refused syscalls` };
}

function kvm(): HostCheck {
  // What the microvm tier and gVisor will do with it: the same check their drivers make at start.
  const usable = usableKvm();
  const microvm = usable.ok ? 'microvm guests and gVisor run on KVM' : `microvm guests run emulated (TCG), many times slower, and gVisor on ptrace: ${usable.why}`;
  try {
    closeSync(openSync('/dev/kvm', 'r+'));
    return { name: 'kvm', ok: usable.ok, required: false, detail: `/dev/kvm can be opened; ${microvm}`, ...(usable.ok ? {} : { fix: 'a host whose KVM runs ordinary guests (not PVM): enable nested virtualisation' }) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const fix = code === 'ENOENT' ? 'enable virtualisation and load the module: modprobe kvm_intel (or kvm_amd)' : 'add Ferry\'s user to the kvm group';
    return { name: 'kvm', ok: false, required: false, detail: `/dev/kvm cannot be opened (${code}); ${microvm}`, fix };
  }
}

/**
 * Whether microvm guests can have `network: "egress"` here: the shared router's tools, root, the
 * native helper, and the guest NIC's modules from the extracted kernel. Optional: without it the
 * tier refuses `egress` and runs `none`.
 */
function microvmEgressCheck(): HostCheck {
  let versions: string[] = [];
  try {
    versions = readdirSync(join(defaultKernelDir, 'lib', 'modules'));
  } catch {
    /* not extracted */
  }
  const fix = 'sudo bash scripts/install-system-deps.sh';
  if (!versions.length) return { name: 'microvm-egress', ok: false, required: false, detail: `no guest kernel extracted in ${defaultKernelDir}: the microvm tier cannot run`, fix };
  const why = egressMissing(defaultKernelDir, versions.sort().at(-1)!);
  return why ? { name: 'microvm-egress', ok: false, required: false, detail: `${why}; microvm instances can use network "none" only`, fix } : { name: 'microvm-egress', ok: true, required: false, detail: `microvm guests can have network "egress" (kernel ${versions.sort().at(-1)}, virtio-net, the shared egress router)` };
}

/** Whether the sandbox user can pass through to the data dir (as root, instances run as it). */
function dataDirCheck(where: { dataDir: string; sandboxUid: number }): HostCheck {
  const why = process.getuid?.() === 0 ? dataDirUnreachable(where.dataDir, where.sandboxUid, where.sandboxUid) : undefined;
  if (!why) return { name: 'data-dir', ok: true, required: true, detail: `${resolve(where.dataDir)} can be reached by the sandbox user` };
  const fix = why.slice(why.indexOf('Choose'));
  return { name: 'data-dir', ok: false, required: true, detail: why.slice(0, why.indexOf(': every')), fix };
}

/**
 * Probes everything at once (a few seconds at most: every command has a 5 s timeout). `where`:
 * the data dir and sandbox uid a server would use, to check the sandbox user reaches it.
 */
export async function probeHost(where?: { dataDir: string; sandboxUid: number }): Promise<HostReport> {
  const uid = process.getuid?.() ?? -1;
  const root: HostCheck = {
    name: 'root',
    ok: true,
    required: false,
    detail: uid === 0 ? 'running as root: instances drop to an unprivileged uid' : `running as uid ${uid}: instances run as that uid; cgroups must be delegated to it`,
  };
  const [bwrap, helper, refusals, pasta, slirp, nft, ip, nsenter] = await Promise.all([
    bwrapCheck(),
    helperCheck(),
    seccompLog(),
    tool('pasta', ['--version'], 'apt-get install -y passt', false),
    tool('slirp4netns', ['--version'], 'apt-get install -y slirp4netns', false),
    tool('nft', ['--version'], 'apt-get install -y nftables', false),
    // The egress filters follow the host's addresses (ip monitor, nsenter + nft); the shared
    // router (root) also links instances with them.
    tool('ip', ['-V'], 'apt-get install -y iproute2', false),
    tool('nsenter', ['--version'], 'apt-get install -y util-linux', false),
  ]);
  const seccomp = kernelSeccomp();
  const cgroups = cgroupChecks();
  // Alternatives: one network stack and one firewall suffice; the other is then not missing.
  const alt = (c: HostCheck, other: HostCheck): HostCheck => (c.ok || !other.ok ? c : { ...c, ok: true, detail: `${c.detail}; not needed (${other.name} is used)`, fix: undefined });
  // The default network policy, egress, needs a user-mode stack (either) and nft for its filter.
  const stackMissing = !pasta.ok && !slirp.ok;
  const required = (c: HostCheck, yes: boolean): HostCheck => ({ ...c, required: yes });
  const checks: HostCheck[] = [root, bwrap, userns(), seccomp, helper, refusals, ...cgroups, alt(pasta, slirp), required(alt(slirp, pasta), stackMissing), required(nft, true), required(ip, true), required(nsenter, true), kvm(), microvmEgressCheck(), ...(where ? [dataDirCheck(where)] : [])];
  const strip = ({ name, ok, detail, fix, required }: HostCheck): HostCheck => (fix ? { name, ok, detail, fix, required } : { name, ok, detail, required });
  const cg = (c: CgroupController): string => {
    const check = cgroups.find((x) => x.name === `cgroup-${c}`);
    if (check?.ok) return /^cgroup v\d/.exec(check.detail)?.[0] ?? 'cgroup';
    // The memory fallback differs per runtime (see bwrap/memory-fallback.ts).
    return c === 'memory' ? 'not enforced by cgroups (fallback: RLIMIT_AS of 4 x memoryMb for python, exec and http; node gets no RLIMIT_AS, only --max-old-space-size)' : 'not enforced';
  };
  return {
    checks: checks.map(strip),
    uses: {
      isolation: bwrap.ok ? `bwrap ${bwrap.version?.replace(/^bubblewrap\s*/, '') ?? ''}`.trim() : 'unavailable (only the unisolated process driver works)',
      seccomp: seccomp.ok && helper.ok ? `libseccomp ${helper.libseccomp} through the sandbox helper` : 'unavailable',
      memory: cg('memory'),
      cpu: cg('cpu'),
      pids: cg('pids'),
      network:
        uid === 0 && slirp.ok && nft.ok && ip.ok && nsenter.ok ? 'one slirp4netns shared by every egress instance, through a router (--egress-stack shared)'
        : slirp.ok ? 'slirp4netns, one per egress instance'
        : pasta.ok ? 'pasta, one per egress instance'
        : 'none (egress unavailable: install slirp4netns or passt)',
      firewall: nft.ok ? 'nft' : 'none (egress unavailable: install nftables)',
      // The pre-booted pool mounts packages into waiting sandboxes: root, its mount service and
      // all three cgroup controllers (limits are written at hand-off).
      pool:
        uid !== 0 ? 'off (needs root to mount packages into pre-booted sandboxes)'
        : !mountdAvailable() ? `off (no mount service at ${mountdPath()}: npm run build)`
        : cgroups.some((c) => !c.ok) ? 'off (needs writable memory, cpu and pids cgroups)'
        : 'pre-booted sandboxes per runtime (--pool-size)',
    },
  };
}
