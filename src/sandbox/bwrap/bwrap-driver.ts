import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, closeSync, openSync, realpathSync } from 'node:fs';
import { isAbsolute, normalize } from 'node:path';
import { FerryError } from '../../errors/index.js';
import type { HandOffSpec, Limits, NetworkPolicy, RuntimeName, SandboxDriver, SandboxProcess, SandboxSettings, SandboxSpec, SandboxView, SeccompPolicy } from '../../core/index.js';
import { coveredBySystem, systemBinds } from './system-binds.js';
import { readChildPid, stopSandbox } from './sandbox-process.js';
import { withStackFd, type AttachedStack } from './slirp.js';
import { ENV_FD, envArgs, sendEnv, stdioWithEnv } from './env-fd.js';
import type { InstanceRefusals } from './seccomp-log.js';
import { FERRY_DIR, ferryBinds, imageRootArgs, imageRootfsView, outermost } from './image-root.js';
import { launcherFor } from './host-libraries.js';
import { RunDirChannel, runDirAddresses } from '../socket-channel/index.js';
import { hostPathsOfAll, hostRootfsView } from '../rootfs/index.js';

/** Where things appear inside every sandbox. */
export const SANDBOX_PACKAGE_DIR = '/pkg';
export const SANDBOX_RUN_DIR = '/run/ferry';

/** The cgroup of one instance, as the cgroup layer hands it out. */
export interface InstanceLimits {
  /** Directories the helper joins before exec (one per controller on cgroup v1). */
  dirs: string[];
  /** rlimits the helper applies where no cgroup enforces a limit (fallback). */
  rlimits: string[];
  oomKilled(): Promise<boolean>;
  remove(): Promise<void>;
  /** Sets the limits of a pooled sandbox's function (the cgroups it was started in). */
  update(limits: Pick<Limits, 'memoryMb' | 'cpu' | 'pids'>): Promise<void>;
  /** Bytes its memory cgroup charges now; undefined where memory has no cgroup. */
  memoryBytes(): Promise<number | undefined>;
}

/** Package slots of pooled sandboxes (see slots.ts). */
export interface SlotStore {
  create(id: string): Promise<string>;
  fill(dir: string, packageDir: string): Promise<void>;
  remove(dir: string): Promise<void>;
}

/** What the driver takes from a network plan (network.ts). */
export interface NetworkSetup {
  prefix: string[];
  stack?: AttachedStack;
  bwrapArgs: string[];
  binds: Array<{ source: string; dest: string }>;
  /** Keeps the instance's egress filter current once it runs. */
  track?(child: ChildProcess): void;
}

/** What the driver needs from the layers around it; every part arrives as an argument. */
export interface BwrapDeps {
  /** Absolute path of bwrap. */
  bwrap: string;
  /**
   * The native helper that joins cgroups, applies rlimits, drops to the sandbox uid and execs;
   * bound into the sandbox too, where it loads the logged seccomp filter.
   */
  helper: string;
  /** Compiles (cached) the seccomp filters of a policy; answers the BPF files (see seccomp.ts). */
  seccomp(policy: SeccompPolicy | undefined): Promise<{ quiet: string; logged: string }>;
  /** Follows the kernel's records of an instance's refused syscalls (absent: not named). */
  refusals?(instanceId: string, runtimePid: Promise<number | undefined>): InstanceRefusals;
  /**
   * Creates the instance's cgroups (fail closed when a limit cannot be enforced). The runtime
   * picks the memory fallback where no memory cgroup is writable (see memory-fallback.ts).
   */
  limits(instanceId: string, limits: Limits, runtime?: RuntimeName): Promise<InstanceLimits>;
  /**
   * The network plan of a policy (its files already written into the run dir): an argv prefix
   * run between the helper and bwrap (e.g. pasta), bwrap args, and binds. Throws when it cannot.
   */
  network(policy: NetworkPolicy, runDir: string): NetworkSetup | Promise<NetworkSetup>;
  /** The host uid/gid instances run as when Ferry runs as root (undefined: Ferry's own). */
  sandboxUser: { uid: number; gid: number } | undefined;
  /** Host prefixes `roBinds` sources may come from; the data dir is never allowed. */
  bindable: string[];
  dataDir: string;
  /** passwd/group files naming the sandbox user, bound at /etc/passwd and /etc/group. */
  etcFiles: { passwd: string; group: string };
  /** Limits this host cannot enforce (reported at start and by `ferry doctor`). */
  unenforced: string[];
  /** The path bwrap should bind for a host path the sandbox user may not reach (see bridge.ts). */
  bindSource(path: string): string;
  /** Size-capped run dirs (see run-dirs.ts); absent where Ferry cannot mount (not root). */
  runDirs?: { prepare(dir: string): Promise<void>; release(dir: string): Promise<void> };
  /** Slots for the pre-booted pool; absent when this host cannot have one. */
  slots?: SlotStore;
  /** Why there is no pool here (with `slots` absent). */
  poolUnavailable?: string;
}

/** Checks a `roBinds` source: absolute, normalised, under a --bindable prefix, outside the data dir. */
export function checkBindSource(source: string, deps: Pick<BwrapDeps, 'bindable' | 'dataDir'>): void {
  const src = normalize(source);
  if (!isAbsolute(src) || src !== source.replace(/\/+$/, '') || src.includes('/../')) {
    throw new FerryError('invalid-manifest', `roBinds: '${source}' must be an absolute, normalised path`);
  }
  // Both the path as written and where it really leads (a symlink under an allowed prefix must
  // not open the data dir or anything outside the prefixes).
  let real = src;
  try {
    real = realpathSync(src);
  } catch {
    /* missing: bwrap refuses it at start */
  }
  const dataDir = realOrSelf(deps.dataDir);
  for (const p of new Set([src, real])) {
    const inside = (dir: string): boolean => p === dir || p.startsWith(`${dir.replace(/\/+$/, '')}/`) || dir.startsWith(`${p}/`);
    if (inside(dataDir) || inside(deps.dataDir)) throw new FerryError('invalid-manifest', `roBinds: '${source}' would expose Ferry's data dir`);
    if (!deps.bindable.some((b) => p === b || p.startsWith(`${b.replace(/\/+$/, '')}/`))) {
      throw new FerryError('invalid-manifest', `roBinds: '${source}'${p === src ? '' : ` (really '${p}')`} is not under a prefix the operator allowed with --bindable`);
    }
  }
}

function realOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * The bubblewrap driver: every instance in its own user, PID, IPC, UTS, mount and cgroup
 * namespaces (and network, by policy), with no capabilities, no_new_privs, a seccomp filter,
 * cgroup limits, an empty root holding only read-only system binds, the package read-only at
 * /pkg, its own run dir at /run/ferry and a private size-limited /tmp. It fails closed: an
 * instance whose limits cannot all be applied does not start.
 */
export function createBwrapDriver(deps: BwrapDeps & { validate?(settings: SandboxSettings): Promise<void> }): SandboxDriver {
  // Pooled sandboxes not yet handed off: their slot, cgroups and fixed settings.
  const pooled = new Map<SandboxProcess, { slot: string; limits: InstanceLimits; channel: RunDirChannel; sandbox: SandboxSettings; tmpMb: number }>();
  return {
    name: 'bwrap',
    isolated: true,
    // Without a sandbox user (Ferry not root) instances run as Ferry's own uid: the default.
    ...(deps.sandboxUser && { instanceUid: deps.sandboxUser.uid }),
    validate: async (settings) => {
      for (const source of Object.keys(settings.roBinds)) checkBindSource(source, deps);
      await deps.validate?.(settings);
    },
    // An image root: the image's tree is `/`, Ferry's own programs are under /.ferry (image-root.ts).
    view: (spec): SandboxView =>
      spec.root === 'package'
        ? { packageDir: '/', runDir: SANDBOX_RUN_DIR, channel: runDirAddresses(SANDBOX_RUN_DIR), rootfs: imageRootfsView }
        : { packageDir: SANDBOX_PACKAGE_DIR, runDir: SANDBOX_RUN_DIR, channel: runDirAddresses(SANDBOX_RUN_DIR), rootfs: hostRootfsView },
    unenforced: () => deps.unenforced,
    ...(deps.runDirs && { prepareRunDir: (dir: string) => deps.runDirs!.prepare(dir), releaseRunDir: (dir: string) => deps.runDirs!.release(dir) }),
    spawn: async (spec) => (await spawnSandbox(deps, spec)).proc,
    poolUnavailable: () => (deps.slots ? undefined : (deps.poolUnavailable ?? 'no slots for pooled sandboxes')),
    prestart: async (spec) => {
      const slots = deps.slots;
      if (!slots) throw new FerryError('internal', `no pre-booted pool here: ${deps.poolUnavailable ?? 'no slots'}`);
      const slot = await slots.create(spec.instanceId);
      let started;
      try {
        // The empty slot stands where the package goes; it leaves with the sandbox.
        started = await spawnSandbox(deps, { ...spec, packageDir: slot }, () => slots.remove(slot));
      } catch (err) {
        await slots.remove(slot).catch(() => {});
        throw err;
      }
      const { proc, limits, channel } = started;
      pooled.set(proc, { slot, limits, channel, sandbox: spec.sandbox, tmpMb: spec.limits.tmpMb });
      proc.child.once('exit', () => pooled.delete(proc));
      return proc;
    },
    handOff: async (proc, spec) => {
      const p = pooled.get(proc);
      // Once only: a pooled sandbox that served one function never gets another.
      pooled.delete(proc);
      if (!p || !deps.slots) throw new FerryError('instance-start-failed', 'not a waiting pooled sandbox of this driver');
      // Fail closed: what was fixed at start (network, seccomp, binds, mounts, /tmp size) must be
      // what the function asks for.
      if (!sameSettings(p.sandbox, spec.sandbox) || p.tmpMb !== spec.limits.tmpMb) {
        throw new FerryError('instance-start-failed', "the pooled sandbox's settings differ from the function's");
      }
      await handOff(deps.slots, p, spec);
    },
  };
}

/**
 * The function's limits and package, together (both host-side and independent). The runtime
 * imports nothing of the function before its LOAD, which comes after both: its code never runs
 * above its limits.
 */
async function handOff(slots: SlotStore, p: { slot: string; limits: InstanceLimits; channel: RunDirChannel }, spec: HandOffSpec): Promise<void> {
  // The mount is asked for first: the mount service works while the cgroup files are written.
  const mounted = slots.fill(p.slot, spec.packageDir);
  mounted.catch(() => {}); // awaited below, unless the limits fail first
  await p.limits.update(spec.limits);
  await mounted;
  // The function's calls to Ferry are served from here on: before its LOAD, after its limits.
  if (spec.onInstanceStream) await p.channel.serve(spec.onInstanceStream);
}

/** Whether two versions' sandbox settings would start identical sandboxes. */
export function sameSettings(a: SandboxSettings, b: SandboxSettings): boolean {
  const norm = (s: SandboxSettings): string =>
    JSON.stringify([s.network, s.seccomp ?? null, Object.entries(s.roBinds).sort(), s.mountProc, s.mountDev, s.mountTmp, s.hostLibraries === true, s.packageAlias ?? null]);
  return norm(a) === norm(b);
}

async function spawnSandbox(deps: BwrapDeps, spec: SandboxSpec, cleanup?: () => Promise<void>): Promise<{ proc: SandboxProcess; limits: InstanceLimits; channel: RunDirChannel }> {
  for (const source of Object.keys(spec.sandbox.roBinds)) checkBindSource(source, deps);
  // The run dir belongs to the sandbox user: its sockets are created from inside.
  if (deps.sandboxUser) chownSync(spec.runDir, deps.sandboxUser.uid, deps.sandboxUser.gid);
  // On the host's network (policy `host`) a server's TCP port is the host's; otherwise only the run dir reaches it.
  const channel = new RunDirChannel({ runDir: spec.runDir, protocol: spec.channel, owner: deps.sandboxUser, hostNetwork: spec.sandbox.network === 'host' });
  const net = await deps.network(spec.sandbox.network, spec.runDir);
  const filters = await deps.seccomp(spec.sandbox.seccomp);
  const limits = await deps.limits(spec.instanceId, spec.limits, spec.runtime);
  if (spec.onInstanceStream) {
    try {
      await channel.serve(spec.onInstanceStream);
    } catch (err) {
      await limits.remove();
      throw err;
    }
  }

  // The seccomp filters reach bwrap and the helper inside as open fds (fd 3 is bwrap's info
  // pipe; these are 4 and 5; the environment is fd 6, ENV_FD).
  const fds: number[] = [];
  const fdArg = (path: string): string => {
    const fd = openSync(path, 'r');
    fds.push(fd);
    return String(3 + fds.length);
  };
  let args: string[];
  let logged: string;
  let env: Buffer;
  let inside: string[];
  try {
    env = envArgs(spec.env);
    args = bwrapArgs(spec, net, deps);
    // In an image root the helper is Ferry's file under /.ferry, started through the host's loader.
    inside = spec.root === 'package' ? [...launcherFor(deps.helper), `${FERRY_DIR}${deps.helper}`] : [deps.helper];
    args.push('--seccomp', fdArg(filters.quiet));
    logged = fdArg(filters.logged);
  } catch (err) {
    for (const fd of fds) closeSync(fd);
    channel.close();
    await limits.remove();
    throw err;
  }

  const helperArgs = ['exec', ...limits.dirs.flatMap((d) => ['--cgroup', d]), ...limits.rlimits.flatMap((r) => ['--rlimit', r])];
  if (deps.sandboxUser) helperArgs.push('--uid', String(deps.sandboxUser.uid), '--gid', String(deps.sandboxUser.gid));
  // A stack started beside the instance runs as it does: in its cgroups, as the sandbox user.
  const stackHelperArgs = [...helperArgs];
  const asInstance = (a: string[]): string[] => [deps.helper, ...stackHelperArgs, '--', ...a];
  // A network stack in between runs bwrap as uid 0 of its own user namespace, which needs the
  // capabilities no_new_privs would withhold; bwrap still sets no_new_privs for the sandbox.
  if (net.prefix.length) helperArgs.push('--no-new-privs', '0');
  // The helper first (cgroups joined, privileges dropped), then the network stack as the sandbox
  // user (its namespace must not belong to root), then bwrap.
  // Inside, the helper runs first: it loads the function's lists with SECCOMP_FILTER_FLAG_LOG
  // (bwrap cannot) and execs the runtime, which keeps its pid.
  const argv = [deps.helper, ...helperArgs, '--', ...net.prefix, deps.bwrap, ...args, '--', ...inside, 'seccomp-exec', '--fd', logged, '--', ...spec.argv];
  const child = spawn(argv[0]!, argv.slice(1), {
    // bwrap sets the instance's environment itself (--clearenv, then --setenv read from ENV_FD);
    // the helper and the network stack see only what they need.
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' },
    detached: true,
    stdio: withStackFd(stdioWithEnv([spec.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', 'pipe', ...fds]), net.stack),
  });
  for (const fd of fds) closeSync(fd);
  child.on('error', () => {});
  sendEnv(child, env);
  net.stack?.attach(child, asInstance);
  net.track?.(child);
  const childPid = readChildPid(child);
  // On exit the cgroups go first (killing what is left in them), then the run dir's file system
  // (nothing can write to it any more) and a pooled slot's mounts, each whatever the one before did.
  const release = async (): Promise<void> => {
    try {
      await deps.runDirs?.release(spec.runDir);
    } finally {
      await cleanup?.();
    }
  };
  const owned = { ...limits, remove: () => limits.remove().finally(release) };
  return { proc: stopSandbox(child, childPid, owned, channel, deps.refusals?.(spec.instanceId, childPid)), limits, channel };
}

/** The bwrap command line; each flag says which threat it closes. */
function bwrapArgs(spec: SandboxSpec, net: { bwrapArgs: string[]; binds: Array<{ source: string; dest: string }> }, deps: BwrapDeps): string[] {
  const src = (p: string): string => deps.bindSource(p);
  const s = spec.sandbox;
  const image = spec.root === 'package';
  const a: string[] = [
    // A user namespace: root inside is nobody outside, and host capabilities do not apply.
    '--unshare-user',
    // No further user namespaces inside: closes the kernel attack surface they open.
    '--disable-userns',
    // Own PID namespace: host processes are invisible and cannot be signalled.
    '--unshare-pid',
    // Own IPC namespace: no shared memory or message queues with the host or other instances.
    '--unshare-ipc',
    // Own UTS namespace: the host name cannot be read or changed.
    '--unshare-uts',
    '--hostname', 'ferry',
    // Own cgroup namespace: the host's cgroup tree is not visible.
    '--unshare-cgroup',
    ...net.bwrapArgs,
    // The instance dies with bwrap, and bwrap with Ferry: nothing outlives the server.
    '--die-with-parent',
    // A new session: no access to a controlling terminal (TIOCSTI injection).
    '--new-session',
    // The runtime is pid 1 of its namespace, so a graceful SIGTERM reaches it directly.
    '--as-pid-1',
    // No capabilities at all, even inside the namespace.
    '--cap-drop', 'ALL',
    // A stable identity inside, matching the generated /etc/passwd; an image's own `User` in its
    // root. Either way the one id mapped to the instance's unprivileged host uid.
    '--uid', String(spec.user?.uid ?? 1000), '--gid', String(spec.user?.gid ?? 1000),
    // Nothing of Ferry's environment leaks in: only what the runtime planned.
    '--clearenv',
    // The environment (secrets and the instance's token among it) comes through a pipe, never on
    // this command line, which every host user can read in /proc/<pid>/cmdline (see env-fd.ts).
    '--args', String(ENV_FD),
    '--info-fd', '3',
  ];
  // An image root: the image's files read-only, nothing of the host's system (image-root.ts).
  if (image) a.push(...imageRootArgs(spec.packageDir, s, net.binds.map((b) => b.dest).filter((d) => d.startsWith('/etc/'))));
  // An empty root with only read-only system paths: no host files but these.
  else for (const b of systemBinds()) {
    if (b.kind === 'symlink') a.push('--symlink', b.source, b.dest);
    else a.push('--ro-bind', b.source, b.dest);
  }
  // Mounted before the binds below, so a host path under /tmp (e.g. Ferry installed there)
  // is bound on top of the fresh tmpfs instead of being hidden by it.
  // A private /tmp with a size cap: scratch space that cannot fill the host's disk.
  if (s.mountTmp) a.push('--size', String(spec.limits.tmpMb * 1024 * 1024), '--tmpfs', '/tmp');
  // A fresh procfs of the instance's own PID namespace: host processes stay invisible.
  if (s.mountProc) a.push('--proc', '/proc');
  if (s.mountDev) {
    a.push(
      // A minimal /dev (null, zero, random, tty...): no host devices.
      '--dev', '/dev',
      // Read-only: bwrap's /dev is a tmpfs without a size cap (half the host's memory); the
      // device nodes work the same on a read-only mount.
      '--remount-ro', '/dev',
      // Shared memory (shm_open, Python's multiprocessing) gets a tmpfs of its own, capped like /tmp.
      '--size', String(spec.limits.tmpMb * 1024 * 1024), '--tmpfs', '/dev/shm',
    );
  }
  // An image keeps its own accounts (its `User` was looked up in them).
  if (!image) a.push('--ro-bind', deps.etcFiles.passwd, '/etc/passwd', '--ro-bind', deps.etcFiles.group, '/etc/group');
  // The network plan's files (e.g. a resolv.conf naming the user-mode stack's DNS forwarder).
  for (const b of net.binds) a.push('--ro-bind', b.source, b.dest);
  // What the runtime needs (its interpreter and Ferry's shims), where they live outside /usr
  // (e.g. a pyenv prefix, Ferry's dist), and the helper that loads the logged filter.
  // In an image root they and the host libraries they load appear under /.ferry only.
  const needed = [...hostPathsOfAll(spec.rootfs), deps.helper];
  if (image) a.push(...ferryBinds(needed, [process.execPath, deps.helper], src));
  else for (const p of outermost(needed)) if (!coveredBySystem(p)) a.push('--ro-bind', src(p), p);
  // The package, read-only: a function cannot modify its own code or another's shared package.
  if (!image) {
    a.push('--ro-bind', spec.packageDir, SANDBOX_PACKAGE_DIR);
    // The same package, read-only, where a compat surface's functions expect it (YFASS's contents path).
    if (s.packageAlias) a.push('--ro-bind', spec.packageDir, s.packageAlias);
  }
  // The instance's own run dir (its sockets), the only host directory it can write; as root a
  // size-capped tmpfs of its own (see run-dirs.ts).
  a.push('--bind', spec.runDir, SANDBOX_RUN_DIR);
  for (const [source, dest] of Object.entries(s.roBinds)) a.push('--ro-bind', src(source), dest);
  // Everything not mounted writable above (the root itself, /etc, the mount points) is
  // read-only: writes outside /tmp, /dev/shm and the run dir fail.
  a.push('--remount-ro', '/');
  a.push('--chdir', spec.cwd);
  return a;
}
