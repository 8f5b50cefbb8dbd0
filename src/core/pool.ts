import type { Connector, Runtime } from './runtime.js';
import type { EffectiveConfig } from './manifest.js';
import type { CallSignal } from './call-signal.js';

/**
 * One version, configured and ready to be instantiated: a plain value (it survives
 * `JSON.stringify`), so any node can be told what to run. The node that starts it resolves the
 * names to things of its own host (`ResolvedTarget`).
 */
export interface DeployTarget {
  function: string;
  version: string;
  /** Changes whenever something an instance was started with changes (config, secrets). */
  revision: string;
  config: EffectiveConfig;
  /** The runtime by name, as `runtime/registry.ts` lists it. */
  runtime: string;
  /** The package by its sha256 (its tree hash), as the blob store holds it. */
  packageSha: string;
}

/** What a node resolved a `DeployTarget`'s names to: its runtime, and its package on this host. */
export interface ResolvedTarget {
  runtime: Runtime;
  /** Host path of the package's read-only tree in this host's cache. */
  packageDir: string;
}

export interface InstanceInfo {
  id: string;
  function: string;
  version: string;
  state: 'starting' | 'ready' | 'draining';
  startedAt: number;
  inFlight: number;
  served: number;
  pid: number | undefined;
  /** `pool`: a pre-booted sandbox took the function; `cold`: started for it. */
  origin: 'pool' | 'cold';
  /** The node it runs on, in a cluster (absent on one node). */
  node?: string;
  /** Its memory as its node last reported it, in a cluster's heartbeat (`memoryOf` on one node). */
  memoryBytes?: number;
}

/** The pre-booted pool as `GET /v1/pool` shows it. */
export interface PoolStatus {
  enabled: boolean;
  /** Why it is off, when it is. */
  reason?: string;
  /** Target count of idle pooled sandboxes per runtime. */
  size: number;
  /**
   * Per runtime: pooled sandboxes ready to take a function (and their host pids), ones starting,
   * and whether the runtime's pool is kept full (`active`: once a version its sandboxes can serve
   * is deployed; before that none is started for it).
   */
  runtimes: Array<{ runtime: string; active: boolean; ready: number; starting: number; pids: number[] }>;
}

/** What the gateway holds while a call runs on an instance. */
export interface Lease {
  readonly instanceId: string;
  readonly connector: Connector;
  /** `recycle`: the instance takes no new calls and stops once its other calls end. */
  release(opts?: { recycle?: boolean }): void;
  /** After the instance died under a call: why, if the sandbox knows (`oom`). */
  exitReason(): Promise<'oom' | undefined>;
}

/** How a call waits for an instance. */
export interface AcquireOptions {
  /**
   * An asynchronous run: it waits behind every synchronous call (a freed instance serves those
   * first) and does not count against `maxQueue` (the execution workers bound it).
   */
  background?: boolean;
}

/**
 * The instance pool: the one question the gateway asks (`acquire`), plus deploy/kill.
 */
export interface InstancePool {
  /** A lease on a warm instance, starting one or waiting in the bounded queue as needed. */
  acquire(target: DeployTarget, signal: CallSignal, opts?: AcquireOptions): Promise<Lease>;
  /**
   * A lease on a warm instance with room for the call now, or undefined (then `acquire`): the
   * warm path's common case, with no promise to wait on before the call is sent.
   */
  leaseNow?(target: DeployTarget): Lease | undefined;
  /** Starts instances up to `minInstances` (at least one if `atLeastOne`). */
  deploy(target: DeployTarget, atLeastOne: boolean): Promise<void>;
  /**
   * A version like this exists or is on its way (a deploy read its manifest): the pre-booted pool
   * of its runtime is kept full from now on, if its sandboxes can serve it.
   */
  expect?(target: Pick<DeployTarget, 'runtime' | 'config'>): void;
  /** Replaces running instances of the version with ones of this target, with no failed call. */
  roll(target: DeployTarget): Promise<void>;
  /** Stops instances of the function (or one version). */
  stop(fn: string, version?: string): Promise<void>;
  list(fn?: string): InstanceInfo[];
  /** Bytes of memory the instance uses now; undefined when it is gone or its driver cannot tell. */
  memoryOf(instanceId: string): Promise<number | undefined>;
  /** The pre-booted pool's state. */
  poolStatus(): PoolStatus;
  shutdown(graceMs: number): Promise<void>;
}
