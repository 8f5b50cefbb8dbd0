import type { Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import type { EffectiveConfig, Manifest, RuntimeName } from './manifest.js';
import type { SandboxUser, SandboxView } from './sandbox.js';
import type { RootfsNeed } from './rootfs.js';
import type { ChannelProtocol, Dialer } from './channel.js';
import type { CallMeta, InvocationRequest, ResponseWriter } from './invocation.js';

/** Build step input: the staged package on the host, before it is content-addressed. */
export interface BuildContext {
  dir: string;
  manifest: Manifest;
  log(line: string): void;
}

/** Launch input: what the runtime needs to plan one instance's process. */
export interface LaunchContext {
  instanceId: string;
  view: SandboxView;
  /** Host path of the version's package (an image version's root file system is read through it). */
  packageDir?: string;
  config: EffectiveConfig;
  /** Environment already built in order: manifest env, PATCH env, (secrets), FERRY_*. */
  env: Record<string, string>;
  /** A free TCP port for runtimes whose code listens on `PORT`. */
  port: number;
  /**
   * The instance has a network namespace of its own (sandboxed, network not `host`): a TCP port
   * it listens on is out of the gateway's reach, so it must be reached through its run dir.
   */
  networkIsolated: boolean;
}

/** Check input: what the runtime needs to plan the deploy-time check of a version. */
export interface CheckContext {
  view: SandboxView;
  /** Host path of the version's package (an image version's root file system is read through it). */
  packageDir?: string;
  config: EffectiveConfig;
  /** The version's own environment and FERRY_FUNCTION / FERRY_VERSION (no secrets). */
  env: Record<string, string>;
}

/** Launch input of a pooled instance: a runtime process with no function yet. */
export interface PooledLaunchContext {
  instanceId: string;
  view: SandboxView;
}

/**
 * What a pooled instance is told at hand-off (the LOAD frame): the function `launch` would have
 * started, as the shim's own variables would name it.
 */
export interface LoadSpec {
  /** The handler, as FERRY_HANDLER names it for a cold start. */
  handler: string;
  /** Environment variables set before the handler is imported (those of a cold start). */
  env: Record<string, string>;
  /** The working directory, entered again: the package was mounted over it after the start. */
  cwd: string;
}

/**
 * How a connector reaches its instance: streams from the driver's channel, never a path.
 */
export interface InstanceLink {
  /** A new stream to the instance's shim or server (see `SandboxProcess.dial`). */
  dial: Dialer;
  /** An `http` server on a TCP port the driver can reach (the host's network); absent: `dial` only. */
  dialPort?: Dialer;
}

export interface LaunchPlan {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  /**
   * What the process needs from the root file system (its interpreter, Ferry's shims, a program
   * of `command`): the driver binds or provides each. argv names them as the view's `rootfs` said.
   */
  rootfs: RootfsNeed[];
  /** What the process speaks on its channel (absent: it serves nothing, e.g. a deploy-time check). */
  channel?: ChannelProtocol;
  /** An `http` server's TCP port (`PORT`), dialled where the driver can reach it. */
  port?: number;
  /** Uid/gid inside the sandbox (an image's `User`); absent: the driver's default. */
  user?: SandboxUser;
}

/**
 * The gateway's side of a running instance: one long-lived channel, many calls over it.
 */
export interface Connector {
  /** True once the channel to the instance is gone (it crashed or was stopped): no new calls. */
  readonly lost: boolean;
  /**
   * Resolves once the instance said it accepts calls (the shim's HELLO; an HTTP server: a stream
   * through the channel opened); rejects (FerryError) if it cannot.
   */
  ready(signal: AbortSignal): Promise<void>;
  /**
   * Forwards one call (its body, if any, for every method) and streams the answer into `res`.
   * Resolves when the response is complete; rejects with a FerryError (`instance-crashed`,
   * `function-error`, ...) when it could not be completed. Never leaves `res` hanging.
   */
  dispatch(req: InvocationRequest, res: ResponseWriter, meta: CallMeta): Promise<void>;
  /**
   * Pooled instances: hands the already-connected runtime its function; resolves once the
   * handler is loaded, rejects (`instance-start-failed`, with the runtime's reason) if it is not.
   */
  load?(spec: LoadSpec, signal: AbortSignal): Promise<void>;
  /**
   * WebSocket / HTTP upgrade, for runtimes that serve HTTP themselves: `meta.path` is the path
   * and query the function sees.
   */
  upgrade?(req: IncomingMessage, socket: Duplex, head: Buffer, meta: { requestId: string; path: string; onClose(): void }): void;
  close(): void;
}

/**
 * A runtime: how a function's code is built, started and spoken to. One folder per runtime under
 * `runtime/`, one line in `runtime/registry.ts`.
 */
export interface Runtime {
  readonly name: RuntimeName;
  /** Checks the manifest fields this runtime needs (handler, command); throws `invalid-manifest`. */
  validate(manifest: Manifest): void;
  /** Runs at version creation (e.g. TypeScript compile); throws `build-failed` with the error. */
  build(ctx: BuildContext): Promise<void>;
  launch(ctx: LaunchContext): LaunchPlan;
  connect(link: InstanceLink): Connector;
  /** The pre-booted pool: the runtime's process started without a function (absent: never pooled). */
  pooledLaunch?(ctx: PooledLaunchContext): LaunchPlan;
  /** The LOAD of a pooled instance for the function `launch(ctx)` would start. */
  load?(ctx: LaunchContext): LoadSpec;
  /**
   * Whether a pooled instance would run this function exactly as a cold start does: false when
   * its environment sets variables the interpreter reads only while starting (e.g. NODE_OPTIONS,
   * PYTHONPATH), which a LOAD would set too late.
   */
  poolable?(config: EffectiveConfig): boolean;
  /**
   * The deploy-time check (absent: none): a process that loads the handler (or looks for the
   * command) once, prints one report line (core/handler-check.ts) and exits, serving nothing.
   * Its `channel` is unused. Throws `instance-start-failed` when the version could not start.
   */
  check?(ctx: CheckContext): LaunchPlan;
  /**
   * Its check runs none of the function's code (it looks for the command in the tree): any tier
   * gives the same answer, so it may run in the server's default tier (scheduler/version-check.ts).
   */
  readonly checkRunsNoCode?: boolean;
  /**
   * Part of the deploy-time check, after the build: type errors of the built package (`dir`),
   * each a line for `warn` (they refuse the version only under --strict-types). Absent: none.
   */
  checkTypes?(dir: string, warn: (line: string) => void): Promise<void>;
}
