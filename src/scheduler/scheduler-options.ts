import type { Readable } from 'node:stream';
import type { DeployTarget, InstanceInfo, PackageCache, Runtime, SandboxDriver } from '../core/index.js';
import type { InstanceHooks } from './instance-hooks.js';
import type { PrestartPool } from './prestart-pool.js';

/** What the scheduler reports as it works (metrics, logs); every member optional to implement. */
export interface SchedulerObserver {
  coldStart(target: DeployTarget, ms: number): void;
  instances(fn: string, version: string, count: number): void;
  queueDepth(fn: string, version: string, depth: number): void;
  output(inst: InstanceInfo, stream: 'stdout' | 'stderr', source: Readable): void;
  event(inst: InstanceInfo, level: 'info' | 'warn' | 'error', message: string): void;
}

export interface SchedulerOptions {
  driver: SandboxDriver;
  /** The runtimes by name: a target names its own. */
  runtimes: ReadonlyMap<string, Runtime>;
  /** Where a target's package is had by its sha, in this host's cache. */
  packages: PackageCache;
  /** Instances get `<runRoot>/<instance-id>/` as their run dir. */
  runRoot: string;
  /** The server's own directory of pid records, out of every instance's reach (see orphans.ts). */
  pidDir: string;
  observer: SchedulerObserver;
  /** Longest an instance may take from spawn to accepting calls. */
  startTimeoutMs?: number;
  /** How often idle instances are looked for. */
  sweepIntervalMs?: number;
  /** SIGTERM-to-SIGKILL grace when stopping an instance. */
  stopGraceMs?: number;
  /** The pre-booted pool; a version without a warm instance takes one of its sandboxes first. */
  prestart?: PrestartPool;
  /** Why there is no pre-booted pool (for `poolStatus`), when `prestart` is absent. */
  prestartOff?: string;
  /** Secrets and the instance API: environment in, cleanup out. */
  hooks?: InstanceHooks;
}
