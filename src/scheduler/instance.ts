import type { Connector, DeployTarget, InstanceInfo, SandboxProcess } from '../core/index.js';

/** One running instance as the scheduler tracks it. */
export class Instance {
  state: InstanceInfo['state'] = 'starting';
  inFlight = 0;
  served = 0;
  /** When `inFlight` last dropped to zero; the idle sweep compares against it. */
  idleSince = Date.now();
  proc: SandboxProcess | undefined;
  connector: Connector | undefined;
  stopping: Promise<void> | undefined;

  constructor(
    readonly id: string,
    readonly target: DeployTarget,
    readonly runDir: string,
    readonly startedAt = Date.now(),
    /** `pool`: a pre-booted sandbox that took this function at its first call. */
    readonly origin: InstanceInfo['origin'] = 'cold',
  ) {}

  get pid(): number | undefined {
    return this.proc?.child.pid;
  }

  /** Ready, not draining, and below its concurrency. */
  hasCapacity(): boolean {
    return this.state === 'ready' && this.inFlight < this.target.config.scaling.concurrency && !this.connector!.lost;
  }

  info(): InstanceInfo {
    return {
      id: this.id,
      function: this.target.function,
      version: this.target.version,
      state: this.state,
      startedAt: this.startedAt,
      inFlight: this.inFlight,
      served: this.served,
      pid: this.pid,
      origin: this.origin,
    };
  }
}
