import type { DeployTarget } from '../core/index.js';

/**
 * What the layers above add to every instance without the scheduler knowing them: its secrets
 * and its API socket and token go into `prepare`'s environment; `release` undoes what `prepare`
 * made once the instance is gone (it may be called more than once, and after a failed start).
 * A `prepare` that throws keeps the instance from starting (fail closed).
 */
export interface InstanceHooks {
  prepare(target: DeployTarget, instance: { id: string; runDir: string }): Promise<Record<string, string>>;
  release(instanceId: string): void;
}
