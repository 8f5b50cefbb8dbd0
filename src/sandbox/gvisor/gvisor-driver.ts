import { spawn } from 'node:child_process';
import { chownSync, existsSync, watch } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FerryError } from '../../errors/index.js';
import type { Limits, NetworkPolicy, SandboxDriver, SandboxProcess, SandboxSettings, SandboxSpec, SandboxView } from '../../core/index.js';
import { RunDirChannel, runDirAddresses } from '../socket-channel/index.js';
import { processTreeMemory } from '../host/process-memory.js';
import { childExit } from '../host/child-exit.js';
import { hostRootfsView } from '../rootfs/index.js';
import { GVISOR_PACKAGE_DIR, GVISOR_RUN_DIR, ociSpec, unhonoured } from './oci-spec.js';
import { destroyContainer } from './runsc.js';
import { ferryFileBinds, imageRoot } from './image-root.js';
import { imageRootfsView } from '../bwrap/image-root.js';

/** One instance's host cgroups (the bwrap driver's cgroup layer, see bwrap/cgroups.ts). */
export interface GvisorLimits {
  dirs: string[];
  oomKilled(): Promise<boolean>;
  remove(): Promise<void>;
  memoryBytes(): Promise<number | undefined>;
}

/** How one instance is networked. */
export interface GvisorNetwork {
  flags: string[];
  /** A namespace runsc runs in (argv `prefix` enters it), released once the instance is gone. */
  namespace?: { path: string; release(): void };
  /** argv in front of runsc (e.g. nsenter into `namespace`). */
  prefix?: string[];
  /** The DNS forwarder to name in /etc/resolv.conf. */
  dns?: string;
}

/** What the gVisor driver needs from the layers around it; every part arrives as an argument. */
export interface GvisorDeps {
  runsc: string;
  /** The native helper that joins the instance's cgroups before it execs runsc (see bwrap/helper.ts). */
  helper: string;
  /**
   * Put before runsc (`setpriv --pdeathsig KILL --`): runsc gets SIGKILL when the server dies,
   * and its sandbox and gofer, started `--attached`, go with it. Without it a killed server's
   * instances run on until the next start deletes them.
   */
  dieWithServer?: string[];
  platform: 'kvm' | 'ptrace';
  /** runsc's state root (0700, root's). */
  stateRoot: string;
  /** Where each instance's bundle (its config.json) is made, 0700. */
  bundles: string;
  /** The empty, read-only root every instance shares. */
  rootDir: string;
  /** Where the skeleton roots of container images are made (image-root.ts). */
  imageRoots: string;
  /** The host uid/gid instances run as (inside gVisor the same numbers). */
  sandboxUser: { uid: number; gid: number };
  etcFiles: { passwd: string; group: string };
  /** The instance's cgroups: the sentry, its gofer and everything inside them are charged there. */
  limits(instanceId: string, limits: Limits): Promise<GvisorLimits>;
  /** The network of a policy: runsc's flags, and for `egress` a namespace to join; throws when it cannot. */
  network(policy: NetworkPolicy): Promise<GvisorNetwork>;
  /** Throws when a `roBinds` source is not one the operator allows (checked again at each start). */
  checkBind(source: string): void;
  /** Checks settings at upload (see SandboxDriver.validate). */
  validate(settings: SandboxSettings): Promise<void>;
  unenforced: string[];
  runDirs?: { prepare(dir: string): Promise<void>; release(dir: string): Promise<void> };
}

/** Names runsc takes for a container id: Ferry's instance ids are already of this form. */
const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** The gVisor driver (see docs/security.md, "gvisor"). */
export function createGvisorDriver(deps: GvisorDeps): SandboxDriver {
  return {
    name: 'gvisor',
    isolated: true,
    instanceUid: deps.sandboxUser.uid,
    view(spec): SandboxView {
      // An image root: the image's tree is `/`, Ferry's own programs are under /.ferry (image-root.ts).
      if (spec.root === 'package') return { packageDir: '/', runDir: GVISOR_RUN_DIR, channel: runDirAddresses(GVISOR_RUN_DIR), rootfs: imageRootfsView };
      return { packageDir: GVISOR_PACKAGE_DIR, runDir: GVISOR_RUN_DIR, channel: runDirAddresses(GVISOR_RUN_DIR), rootfs: hostRootfsView };
    },
    validate: (settings) => deps.validate(settings),
    unenforced: () => [...deps.unenforced],
    ...(deps.runDirs && { prepareRunDir: (d: string) => deps.runDirs!.prepare(d), releaseRunDir: (d: string) => deps.runDirs!.release(d) }),
    poolUnavailable: () => 'a running gVisor sandbox cannot be given a package: its gofer opened every mount when it started',
    spawn: (spec) => spawnInstance(deps, spec),
  };
}

async function spawnInstance(deps: GvisorDeps, spec: SandboxSpec): Promise<SandboxProcess> {
  if (!CONTAINER_ID.test(spec.instanceId)) throw new FerryError('internal', `instance id ${spec.instanceId} is not a container name`);
  // Fail closed: never run weaker than the version asked.
  const weaker = unhonoured(spec.sandbox);
  if (weaker) throw new FerryError('instance-start-failed', weaker);
  for (const source of Object.keys(spec.sandbox.roBinds)) deps.checkBind(source);
  // The run dir belongs to the sandbox user: its sockets are made from inside, through the gofer.
  chownSync(spec.runDir, deps.sandboxUser.uid, deps.sandboxUser.gid);
  const channel = new RunDirChannel({ runDir: spec.runDir, protocol: spec.channel, owner: deps.sandboxUser, hostNetwork: spec.sandbox.network === 'host', settlingOwner: 0 });
  const bundle = join(deps.bundles, spec.instanceId);
  const config = join(bundle, 'config.json');
  const net = await deps.network(spec.sandbox.network);
  let limits: GvisorLimits;
  try {
    limits = await deps.limits(spec.instanceId, spec.limits);
  } catch (err) {
    net.namespace?.release();
    throw err;
  }
  try {
    if (spec.onInstanceStream) await channel.serve(spec.onInstanceStream);
    // The environment (secrets, the instance's token) is in config.json: root's, 0600, in a 0700
    // directory, and removed as soon as runsc has read it (below). Never on a command line.
    await mkdir(bundle, { mode: 0o700 });
    const resolvConf = join(bundle, 'resolv.conf');
    if (net.dns) await writeFile(resolvConf, `# Ferry egress: the network stack forwards these queries to the host's resolver.\nnameserver ${net.dns}\n`, { mode: 0o644 });
    // A container image: its skeleton root and binds (image-root.ts) in place of the host's system.
    const image = spec.root === 'package' ? imageRoot(deps.imageRoots, spec.packageDir, net.dns !== undefined) : undefined;
    const imageBinds = image && [...image.binds, ...ferryFileBinds(spec.rootfs)];
    // Inside gVisor a uid is the host's own number (the gofer makes the instance's files, its
    // sockets, as it): an image's `User` (root by default) would be that host uid, maybe a real
    // account's or root. Every instance runs as Ferry's sandbox user instead, an image's too.
    const { user: _imageUser, ...asSandboxUser } = spec;
    const text = JSON.stringify(ociSpec(asSandboxUser, { rootDir: image?.rootDir ?? deps.rootDir, user: deps.sandboxUser, etcFiles: deps.etcFiles, ...(net.dns && { resolvConf }), ...(imageBinds && { imageBinds }) }));
    await writeFile(config, text, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    channel.close();
    net.namespace?.release();
    await limits.remove().catch(() => {});
    await rm(bundle, { recursive: true, force: true });
    throw err;
  }

  const flags = [
    '--root', deps.stateRoot,
    // Where /dev/kvm works the sentry runs guest code in a VM; otherwise it traps it with ptrace.
    `--platform=${deps.platform}`,
    ...net.flags,
    // The channel: the instance binds its socket in the run dir (create) and connects to
    // Ferry's API socket there (open). Only through the run dir: the only host directory bound
    // writable, so these are the only host sockets it can name.
    '--host-uds=all',
    // The sentry applies the OCI seccomp filter (Ferry's deny list and the version's own).
    '--oci-seccomp',
    // Limits are the host cgroups the helper put runsc in (everything it starts inherits them).
    '--ignore-cgroups',
  ];
  const argv = [deps.helper, 'exec', ...limits.dirs.flatMap((d) => ['--cgroup', d]), '--', ...(net.prefix ?? []), ...(deps.dieWithServer ?? []), deps.runsc, ...flags, 'run', '--bundle', bundle, spec.instanceId];
  const child = spawn(argv[0]!, argv.slice(1), {
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' },
    detached: true,
    stdio: [spec.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', ...(spec.extraStdio ?? [])],
  });
  child.on('error', () => {});
  forgetConfigOnceRead(deps.stateRoot, spec.instanceId, config);

  const { done: exit, ended } = childExit(child);
  // Once runsc is gone: the container's leftovers, its cgroups (killing anything in them), the bundle.
  const cleaned = exit.then(async () => {
    channel.close();
    await destroyContainer(deps.runsc, deps.stateRoot, spec.instanceId);
    net.namespace?.release();
    await limits.remove().catch(() => {});
    await rm(bundle, { recursive: true, force: true });
    await deps.runDirs?.release(spec.runDir).catch(() => {});
  });
  let stopping: Promise<void> | undefined;
  return {
    child,
    dial: () => channel.dial(),
    ...(channel.dialPort && { dialPort: channel.dialPort }),
    stop(graceMs: number): Promise<void> {
      if (ended()) return cleaned;
      stopping ??= (async () => {
        // SIGTERM to the instance's first process (it drains), then every process killed.
        const kill = spawn(deps.runsc, ['--root', deps.stateRoot, 'kill', spec.instanceId, 'TERM'], { stdio: 'ignore' });
        kill.on('error', () => {});
        const timer = setTimeout(() => void destroyContainer(deps.runsc, deps.stateRoot, spec.instanceId).finally(() => child.pid !== undefined && signalGroup(child.pid)), graceMs);
        await exit;
        clearTimeout(timer);
        await cleaned;
      })();
      return stopping;
    },
    async exitReason() {
      await exit;
      return (await limits.oomKilled().catch(() => false)) ? 'oom' : undefined;
    },
    async memoryBytes() {
      if (ended()) return undefined;
      const charged = await limits.memoryBytes().catch(() => undefined);
      return charged ?? (child.pid === undefined ? undefined : processTreeMemory(child.pid));
    },
  };
}

function signalGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* gone already */
  }
}

/**
 * Removes the bundle's config.json (it holds the environment) once runsc has read it: its
 * state file appears only after the spec was loaded and the sandbox made.
 */
function forgetConfigOnceRead(stateRoot: string, id: string, config: string): void {
  const state = join(stateRoot, `${id}_sandbox:${id}.state`);
  const forget = (): void => {
    watcher.close();
    clearInterval(poll);
    void rm(config, { force: true });
  };
  const check = (): void => {
    if (existsSync(state)) forget();
  };
  const watcher = watch(stateRoot, check);
  watcher.on('error', () => {});
  // Backstop for a missed event, and the end of it should runsc never get that far.
  let waited = 0;
  const poll = setInterval(() => {
    check();
    if ((waited += 50) > 30_000) forget();
  }, 50);
  poll.unref();
}
