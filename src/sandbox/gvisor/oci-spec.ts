import type { SandboxSettings, SandboxSpec, SeccompPolicy } from '../../core/index.js';
import { coveredBySystem, systemBinds } from '../bwrap/system-binds.js';
import { outermost } from '../bwrap/image-root.js';
import { hostPathsOfAll } from '../rootfs/index.js';
import { defaultDenyList, enosysSyscalls, runtimeBaseline } from '../bwrap/seccomp-defaults.js';

/** Where things appear inside a gVisor sandbox: the same places as under bwrap. */
export const GVISOR_PACKAGE_DIR = '/pkg';
export const GVISOR_RUN_DIR = '/run/ferry';

/** One OCI mount (runtime-spec `mounts[]`). */
interface OciMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

/** What the bundle is built from besides the spec. */
export interface BundleInputs {
  /** Host path of the empty, read-only root (with the merged-/usr links), shared by every instance. */
  rootDir: string;
  /** Uid/gid the process runs as: inside gVisor and, for files its gofer makes in the run dir, on the host. */
  user: { uid: number; gid: number };
  /** passwd/group naming that user, bound at /etc/passwd and /etc/group. */
  etcFiles: { passwd: string; group: string };
  /** `egress`: a resolv.conf naming the user-mode stack's DNS forwarder. */
  resolvConf?: string;
  /**
   * A container image version: `rootDir` is the image's skeleton (image-root.ts) and these are
   * its read-only binds (the image's entries, Ferry's files under /.ferry) in place of the host's.
   */
  imageBinds?: Array<{ source: string; destination: string }>;
}

/**
 * The OCI runtime spec (config.json) of one instance. Each part says which threat it closes.
 * Limits are the host cgroups the driver puts runsc in, except pids: the sentry and gofer's own
 * threads count in a host pids cgroup, so the instance's process count is the sentry's
 * RLIMIT_NPROC (one uid per sandbox kernel: per instance).
 */
export function ociSpec(spec: SandboxSpec, b: BundleInputs): Record<string, unknown> {
  const s = spec.sandbox;
  const ro = (source: string, destination: string): OciMount => ({ destination, type: 'bind', source, options: ['rbind', 'ro'] });
  const mounts: OciMount[] = [];
  if (b.imageBinds) {
    // An image root: the image's files and Ferry's own, read-only; the image keeps its accounts.
    for (const m of b.imageBinds) mounts.push(ro(m.source, m.destination));
    if (b.resolvConf) mounts.push(ro(b.resolvConf, '/etc/resolv.conf'));
  } else {
    // Only the host's system directories and a few /etc files, read-only (as under bwrap); the
    // merged-/usr links (/bin -> usr/bin) are in the shared root itself.
    for (const m of systemBinds()) if (m.kind === 'ro-bind' && !(b.resolvConf && m.dest === '/etc/resolv.conf')) mounts.push(ro(m.source, m.dest));
    if (b.resolvConf) mounts.push(ro(b.resolvConf, '/etc/resolv.conf'));
    mounts.push(ro(b.etcFiles.passwd, '/etc/passwd'), ro(b.etcFiles.group, '/etc/group'));
    // What the runtime needs (its interpreter and Ferry's shims) where it lives outside /usr
    // (Ferry's dist, a pyenv prefix).
    for (const p of outermost(hostPathsOfAll(spec.rootfs))) if (!coveredBySystem(p)) mounts.push(ro(p, p));
    // The package, read-only: a function cannot modify its own code or another's shared package.
    mounts.push(ro(spec.packageDir, GVISOR_PACKAGE_DIR));
    if (s.packageAlias) mounts.push(ro(spec.packageDir, s.packageAlias));
  }
  // The run dir, the only host directory it can write: the channel's sockets (through the gofer).
  mounts.push({ destination: GVISOR_RUN_DIR, type: 'bind', source: spec.runDir, options: ['rbind', 'rw'] });
  for (const [source, dest] of Object.entries(s.roBinds)) mounts.push(ro(source, dest));
  const size = `size=${spec.limits.tmpMb * 1024 * 1024}`;
  // Scratch space in the sandbox kernel's memory, capped: it cannot fill the host's disk.
  if (s.mountTmp) mounts.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', size] });
  // The sandbox kernel's own procfs: its processes only, never the host's.
  if (s.mountProc) mounts.push({ destination: '/proc', type: 'proc', source: 'proc' });
  if (s.mountDev) mounts.push({ destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'nodev', size] });

  const env = Object.entries(spec.env).map(([k, v]) => `${k}=${v}`);
  return {
    ociVersion: '1.0.2',
    process: {
      user: { uid: spec.user?.uid ?? b.user.uid, gid: spec.user?.gid ?? b.user.gid },
      args: spec.argv,
      env,
      cwd: spec.cwd,
      // No capabilities at all: mount, raw sockets, module loading fail even in the sandbox kernel.
      capabilities: { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] },
      // Nothing it runs can gain privileges (setuid files).
      noNewPrivileges: true,
      rlimits: [
        { type: 'RLIMIT_NPROC', hard: spec.limits.pids, soft: spec.limits.pids },
        { type: 'RLIMIT_NOFILE', hard: 4096, soft: 4096 },
      ],
    },
    // The root is an empty directory, read-only: nothing of the host but the mounts above.
    root: { path: b.rootDir, readonly: true },
    hostname: 'ferry',
    mounts,
    linux: {
      // The sandbox kernel's own namespaces. The network: `none` a new, empty one; `host` and
      // `egress` the one runsc runs in (the server's; the instance's own, linked to the router).
      namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, ...(s.network === 'none' ? [{ type: 'network' }] : [])],
      seccomp: ociSeccomp(s.seccomp),
      maskedPaths: ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/sys/firmware'],
    },
  };
}

/**
 * The seccomp filter the sentry applies to the instance's calls (`--oci-seccomp`): Ferry's default
 * deny list always, io_uring answered ENOSYS, and the version's own list on top, as under bwrap.
 */
export function ociSeccomp(policy: SeccompPolicy | undefined): Record<string, unknown> {
  const refused = policy?.action === 'kill' ? 'SCMP_ACT_KILL_PROCESS' : 'SCMP_ACT_ERRNO';
  const errno = { action: 'SCMP_ACT_ERRNO', errnoRet: 1 };
  const rules: Array<Record<string, unknown>> = [
    { names: [...enosysSyscalls], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
    { names: [...defaultDenyList], ...errno },
  ];
  if (policy?.mode === 'allow') {
    const allowed = [...new Set([...runtimeBaseline, ...policy.syscalls])].filter((n) => !defaultDenyList.includes(n) && !enosysSyscalls.includes(n));
    rules.push({ names: allowed, action: 'SCMP_ACT_ALLOW' });
    return { defaultAction: refused, ...(refused === 'SCMP_ACT_ERRNO' && { defaultErrnoRet: 1 }), architectures: ['SCMP_ARCH_X86_64'], syscalls: rules };
  }
  if (policy?.syscalls.length) rules.push({ names: policy.syscalls, action: refused, ...(refused === 'SCMP_ACT_ERRNO' && { errnoRet: 1 }) });
  return { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'], syscalls: rules };
}

/**
 * The sandbox keys a version sets that gVisor cannot honour: the sandbox kernel always mounts its
 * own /proc, /dev (and /dev/pts) and a /tmp, so asking for any of them to be absent would run
 * weaker than asked. Undefined: every key is honoured.
 */
export function unhonoured(s: SandboxSettings): string | undefined {
  const absent = (['mountProc', 'mountDev', 'mountTmp'] as const).filter((k) => !s[k]);
  if (absent.length === 0) return undefined;
  return `${absent.map((k) => `${k}: false`).join(', ')} cannot be honoured by the gvisor sandbox (its kernel always has its own /proc, /dev and /tmp); leave the key out or choose the bwrap tier`;
}
