import type { DeployTarget, InstanceStreamHandler, SandboxView } from '../core/index.js';

/** What the layers above give an instance: environment, and the handler of its calls to Ferry. */
export interface InstancePreparation {
  env: Record<string, string>;
  onInstanceStream?: InstanceStreamHandler;
}

/**
 * What the layers above add to every instance without the scheduler knowing them: its secrets
 * and its API address and token go into `prepare`'s environment (its API's streams to the
 * driver); `release` undoes what `prepare`
 * made once the instance is gone (it may be called more than once, and after a failed start).
 * A `prepare` that throws keeps the instance from starting (fail closed).
 */
export interface InstanceHooks {
  prepare(target: DeployTarget, instance: { id: string; view: SandboxView }): Promise<InstancePreparation>;
  release(instanceId: string): void;
}
