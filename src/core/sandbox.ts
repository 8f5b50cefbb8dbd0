import type { ChildProcess } from 'node:child_process';
import type { Duplex } from 'node:stream';
import type { ChannelAddresses, ChannelProtocol, InstanceStreamHandler } from './channel.js';
import type { Limits, RuntimeName, SandboxSettings } from './manifest.js';
import type { RootfsNeed, RootfsView } from './rootfs.js';

/**
 * What a sandbox's `/` is: the host's system directories with the package at the view's
 * `packageDir` (`host`, every runtime), or the package itself (`package`: a container image
 * version, whose package is the image's root file system).
 */
export type SandboxRoot = 'host' | 'package';

/** Where the package, the run dir and the channel appear to the code inside the sandbox. */
export interface SandboxView {
  packageDir: string;
  runDir: string;
  /** The driver's channel as the instance names it: where it listens, where it reaches Ferry. */
  channel: ChannelAddresses;
  /** Where what the runtime needs from the root file system (interpreters, Ferry's shims) appears inside. */
  rootfs: RootfsView;
}

/** The user a process runs as inside the sandbox's user namespace (an image's `User`). */
export interface SandboxUser {
  uid: number;
  gid: number;
}

/** Everything a driver needs to start one instance's process. */
export interface SandboxSpec {
  instanceId: string;
  /** argv as seen inside the sandbox (argv[0] as the view's `rootfs` or the image names it). */
  argv: string[];
  env: Record<string, string>;
  /** Host path of the content-addressed package (bound read-only). */
  packageDir: string;
  /** Host path of this instance's own run dir (sockets). */
  runDir: string;
  /** Working directory, as seen inside the sandbox. */
  cwd: string;
  /** What `/` is (absent: `host`). */
  root?: SandboxRoot;
  /** Uid/gid inside the sandbox (absent: the driver's default); the host uid stays the instance's. */
  user?: SandboxUser;
  limits: Limits;
  /** Network, seccomp, binds and mount switches of the version. */
  sandbox: SandboxSettings;
  /** What the process needs from the root file system (its interpreter, Ferry's shims); the driver provides each. */
  rootfs: RootfsNeed[];
  /** Extra fds for the child beyond stdio (e.g. a control pipe). */
  extraStdio?: Array<'pipe' | 'ignore'>;
  /** A pipe on the child's stdin (one-off runs feed their payload there); absent: no stdin. */
  stdin?: boolean;
  /** The protocol the instance speaks on its channel (absent: it serves nothing, e.g. a check or a build). */
  channel?: ChannelProtocol;
  /**
   * The instance's calls to Ferry: each stream it opens on its channel (absent: it has no way to
   * Ferry). Served before any of its code runs, until it exits.
   */
  onInstanceStream?: InstanceStreamHandler;
  /**
   * The version's runtime. Drivers otherwise know none; the bwrap driver needs it where no
   * memory cgroup exists, to pick a memory bound the runtime survives.
   */
  runtime?: RuntimeName;
}

/**
 * A pooled sandbox before it has a function (the pre-booted pool): everything but the package,
 * which arrives at hand-off. Its settings and `limits.tmpMb` are fixed when it starts.
 */
export type PrestartSpec = Omit<SandboxSpec, 'packageDir' | 'root' | 'user' | 'onInstanceStream'>;

/** What a pooled sandbox is given at hand-off. */
export interface HandOffSpec {
  instanceId: string;
  /** Host path of the function's content-addressed package (appears read-only at the package path). */
  packageDir: string;
  /** The function's limits, applied before any of its code runs. */
  limits: Limits;
  /** Must equal what the sandbox was started with: a driver refuses a mismatch. */
  sandbox: SandboxSettings;
  /** The function's calls to Ferry (see `SandboxSpec.onInstanceStream`), served from the hand-off on. */
  onInstanceStream?: InstanceStreamHandler;
}

/** A running sandboxed process. */
export interface SandboxProcess {
  readonly child: ChildProcess;
  /**
   * A new stream to the instance over its channel (to its shim or server). Rejects with an error
   * whose code is `NOT_LISTENING` while nothing listens yet (a start retries), with any other
   * error when the driver refuses what it found (never retried), and always when the spec named
   * no `channel`.
   */
  dial(): Promise<Duplex>;
  /**
   * A new stream to TCP `port` of the instance, where the driver can reach its network (the
   * host's); absent where it cannot (a network of its own): then only `dial` reaches it.
   */
  dialPort?(port: number): Promise<Duplex>;
  /** Stops the process tree: SIGTERM, then SIGKILL after `graceMs`. Resolves once it exited. */
  stop(graceMs: number): Promise<void>;
  /** After exit: why, when the driver knows better than the exit status (`oom`: over memoryMb). */
  exitReason?(): Promise<'oom' | undefined>;
  /**
   * Where the driver's own lines about the instance go, for its function's logs (e.g. which
   * syscall its seccomp filter refused). Lines from before a listener was set are handed over.
   */
  onNotice?(listener: (line: string) => void): void;
  /** After a death by SIGSYS: the syscall the seccomp filter killed it for (`ptrace (101)`), when the driver saw it. */
  seccompKill?(): Promise<string | undefined>;
  /** Bytes of memory the instance uses now (its memory cgroup, or the resident memory of its processes); undefined once it exited. */
  memoryBytes?(): Promise<number | undefined>;
}

/**
 * A sandbox driver: where instances run. One folder per driver under `sandbox/`, one line in
 * `sandbox/registry.ts`.
 */
export interface SandboxDriver {
  readonly name: string;
  /** False only for the development `process` driver. */
  readonly isolated: boolean;
  /**
   * The host uid instances run as, owner of their run dir and of the sockets they make in it
   * (absent: Ferry's own uid). The driver's channel dials only sockets this uid owns; builds hand it their tree.
   */
  readonly instanceUid?: number;
  /** How the package and run dir are seen from inside (`sandbox`: the version's settings, which name its tier). */
  view(spec: Pick<SandboxSpec, 'packageDir' | 'runDir' | 'root'> & { sandbox?: SandboxSettings }): SandboxView;
  /** Starts the instance's process; rejects (FerryError) when a requested limit cannot be applied. */
  spawn(spec: SandboxSpec): SandboxProcess | Promise<SandboxProcess>;
  /**
   * Checks a version's sandbox settings when it is uploaded or patched (e.g. roBinds sources,
   * network 'host' allowed, syscall names known); throws `invalid-manifest`.
   */
  validate?(settings: SandboxSettings): Promise<void>;
  /** Limits this driver cannot enforce on this host (reported at start and by `ferry doctor`). */
  unenforced(): string[];
  /**
   * Readies a new, empty host run dir before anything is put in it (e.g. a size-capped file
   * system of its own); rejects (FerryError) when it cannot, and the instance does not start.
   */
  prepareRunDir?(runDir: string): Promise<void>;
  /** Undoes `prepareRunDir` once nothing runs in the run dir, before it is deleted; idempotent. */
  releaseRunDir?(runDir: string): Promise<void>;
  /**
   * The pre-booted pool. Why this driver cannot keep pooled sandboxes on this host (undefined:
   * it can). Drivers without `prestart` have no pool.
   */
  poolUnavailable?(): string | undefined;
  /** Starts a generic sandbox with no package yet (an empty package dir); the runtime waits for LOAD. */
  prestart?(spec: PrestartSpec): Promise<SandboxProcess>;
  /**
   * Gives a pooled sandbox its function's package and limits. Once per sandbox: a pooled sandbox
   * is never handed to a second function. Rejects (FerryError) when it cannot; the caller then
   * stops that sandbox and starts the instance cold.
   */
  handOff?(sandbox: SandboxProcess, spec: HandOffSpec): Promise<void>;
}
