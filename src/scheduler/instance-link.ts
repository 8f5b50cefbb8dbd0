import { FerryError } from '../errors/index.js';
import type { DeployTarget, InstanceLink, InstanceStreamHandler, LaunchPlan, SandboxProcess, SandboxRoot, SandboxSpec } from '../core/index.js';

/** What a cold start asks of the driver: the runtime's plan, the version's settings, the channel. */
export function coldSpec(
  o: { id: string; runDir: string; packageDir: string; root: SandboxRoot; target: DeployTarget; onInstanceStream: InstanceStreamHandler | undefined },
  plan: LaunchPlan,
): SandboxSpec {
  const { config } = o.target;
  if (!plan.channel) throw new FerryError('internal', `the ${config.runtime} runtime planned an instance that listens for nothing`);
  return {
    instanceId: o.id, argv: plan.argv, env: plan.env, packageDir: o.packageDir, runDir: o.runDir, cwd: plan.cwd, root: o.root,
    ...(plan.user && { user: plan.user }),
    limits: config.limits, sandbox: config.sandbox, rootfs: plan.rootfs, runtime: config.runtime,
    channel: plan.channel,
    ...(o.onInstanceStream && { onInstanceStream: o.onInstanceStream }),
  };
}

/** The connector's way to its instance: the driver's channel (and a server's port, where the driver reaches it). */
export function linkOf(proc: SandboxProcess, plan: Pick<LaunchPlan, 'port'>): InstanceLink {
  const port = plan.port;
  return {
    dial: () => proc.dial(),
    ...(port !== undefined && port !== 0 && proc.dialPort && { dialPort: () => proc.dialPort!(port) }),
  };
}
