/**
 * Everything the microvm driver reads of a SandboxSpec, in one place: what it honours, what it
 * refuses (never run weaker than asked), and the agent's SpawnRequest it becomes.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FerryError } from '../../errors/index.js';
import { defaultSandbox, type RootfsView, type SandboxSettings, type SandboxSpec } from '../../core/index.js';
import { hostRootfsView } from '../rootfs/index.js';
import { runDirAddresses } from '../socket-channel/index.js';
import type { SpawnRequest } from './agent/wire.js';
import { ferryInGuest, GUEST_UID, guestPaths } from './guest-layout.js';

/**
 * Sandbox settings this tier cannot honour, each with why (empty: it runs them as asked). The
 * guest has its own kernel, /proc, /dev and /tmp; `none` is a VM without a NIC, `egress` one whose
 * NIC leaves through the egress router (egress.ts), where the driver could set that up.
 */
export function unhonoured(s: SandboxSettings): string[] {
  const out: string[] = [];
  if (s.network === 'host') out.push("network 'host': a guest has a kernel and a network stack of its own; the host's is never shared into it (use 'egress')");
  if (s.seccomp !== undefined) out.push('seccomp: the guest kernel is the boundary; per-function syscall lists are not applied inside the VM');
  if (Object.keys(s.roBinds).length > 0) out.push('roBinds: host paths are not shared into the VM');
  if (s.mountProc !== defaultSandbox.mountProc || s.mountDev !== defaultSandbox.mountDev || s.mountTmp !== defaultSandbox.mountTmp) out.push('mountProc/mountDev/mountTmp: the guest always has its own /proc, /dev and /tmp');
  if (s.hostLibraries) out.push("hostLibraries: the host's language libraries are not in the microvm root");
  if (s.packageAlias) out.push('packageAlias: the package has one mount point in the guest');
  return out;
}

/** Refuses a spec this tier cannot run as asked (FerryError `invalid-manifest`). */
export function checkSpec(spec: SandboxSpec, root: string): void {
  if (spec.root === 'package') throw new FerryError('invalid-manifest', 'container image versions do not run in the microvm tier yet: its root is built by `ferry rootfs build`');
  if (spec.extraStdio?.length) throw new FerryError('invalid-manifest', 'the microvm tier carries stdin, stdout and stderr only');
  const refused = unhonoured(spec.sandbox);
  if (refused.length) throw new FerryError('invalid-manifest', `the microvm sandbox cannot honour: ${refused.join('; ')}`);
  // The root holds node, python3 and Ferry's runtime at their host paths (microvmRootfsView), nothing else.
  const other = spec.rootfs.filter((n) => n.kind !== 'node' && n.kind !== 'python3' && n.kind !== 'ferry-runtime');
  if (other.length) throw new FerryError('invalid-manifest', `the microvm root holds node, python3 and Ferry's runtime only, not: ${other.map((n) => ('name' in n ? `${n.kind} ${n.name}` : n.kind)).join(', ')}`);
  const program = spec.argv[0] ?? '';
  if (!program.startsWith('/') || !existsSync(join(root, program))) throw new FerryError('instance-start-failed', `${program || 'the program'} is not in the microvm root (${root}): run \`ferry rootfs build\` again`);
}

/**
 * Where a runtime's needs are in a microvm guest: `ferry rootfs build` (host mode) put node and
 * python3 at their host paths, Ferry's runtime files under `/.ferry`; no host libraries, no other
 * program.
 */
export const microvmRootfsView: RootfsView = {
  command: (need, args) => {
    if (need.kind === 'program') throw new FerryError('invalid-manifest', `the microvm root has no program ${need.name}: it holds node and python3 only`);
    return hostRootfsView.command(need, args);
  },
  runtimeFile: (hostPath) => ferryInGuest(hostPath),
  libraries: () => [],
};

/** The agent's request for `spec`: the same argv, the instance's env on a minimal base, the guest's paths. */
export function spawnRequest(spec: SandboxSpec): SpawnRequest {
  const addresses = runDirAddresses(guestPaths.runDir);
  return {
    argv: spec.argv,
    env: { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8', HOME: '/tmp', ...spec.env },
    cwd: spec.cwd,
    uid: GUEST_UID,
    gid: GUEST_UID,
    memoryMb: spec.limits.memoryMb,
    pids: spec.limits.pids,
    tmpMb: spec.limits.tmpMb,
    ...(spec.channel && { listen: addresses[spec.channel] }),
    ...(spec.onInstanceStream && { api: addresses.api }),
    runDir: guestPaths.runDir,
    stdin: spec.stdin === true,
  };
}
