/**
 * Everything the microvm driver reads of a SandboxSpec, in one place: what it honours, what it
 * refuses (never run weaker than asked), and the agent's SpawnRequest it becomes.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FerryError } from '../../errors/index.js';
import { defaultSandbox, type RootfsNeed, type RootfsView, type SandboxSettings, type SandboxSpec } from '../../core/index.js';
import { ferryRuntimeDir, hostRootfsView } from '../rootfs/index.js';
import { FERRY_LIB_DIR, hostLibraries } from '../bwrap/host-libraries.js';
import { runDirAddresses } from '../socket-channel/index.js';
import type { SpawnRequest } from './agent/wire.js';
import { ferryInGuest, GUEST_UID, guestPaths, type RootfsManifest } from './guest-layout.js';

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

/**
 * A command whose program is a bare `node` or `python3` (an ad-hoc run's `python3 -c ...`) with
 * the root's own, as a function's `command` gets it: the guest has no search of the host's PATH.
 * Any other bare name is left for `checkSpec` to refuse (the root holds node and python3 only).
 */
export function withRootPrograms(spec: SandboxSpec, view: RootfsView): SandboxSpec {
  const [program, ...args] = spec.argv;
  if (spec.root === 'package' || !program || program.includes('/')) return spec;
  const need = program === 'node' || program === 'nodejs' ? ({ kind: 'node' } as const) : program === 'python3' || program === 'python' ? ({ kind: 'python3' } as const) : undefined;
  return need ? { ...spec, argv: view.command(need, args) } : spec;
}

/** Refuses a spec this tier cannot run as asked (FerryError `invalid-manifest`). */
export function checkSpec(spec: SandboxSpec, root: string): void {
  if (spec.extraStdio?.length) throw new FerryError('invalid-manifest', 'the microvm tier carries stdin, stdout and stderr only');
  const refused = unhonoured(spec.sandbox);
  if (refused.length) throw new FerryError('invalid-manifest', `the microvm sandbox cannot honour: ${refused.join('; ')}`);
  if (spec.root === 'package') {
    // An image's own root: Ferry's Node and runtime are bound into it (imageBinds), nothing else of the guest's.
    const foreign = spec.rootfs.filter((n) => n.kind !== 'node' && n.kind !== 'ferry-runtime');
    if (foreign.length) throw new FerryError('invalid-manifest', `an image's root in the microvm tier gets Ferry's Node and runtime only, not: ${foreign.map((n) => n.kind).join(', ')}`);
    return;
  }
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
const hostModeView: RootfsView = {
  command: (need, args) => {
    if (need.kind === 'program') throw new FerryError('invalid-manifest', `the microvm root has no program ${need.name}: it holds node and python3 only`);
    return hostRootfsView.command(need, args);
  },
  runtimeFile: (hostPath) => ferryInGuest(hostPath),
  libraries: () => [],
};

/**
 * The view of the root `manifest` describes: a host-mode root's, or that of a root made from an
 * image or a Debian minbase, where Ferry's Node is under /.ferry (started as the manifest says)
 * and python3 is the root's own, if it has one.
 */
export function microvmRootfsView(manifest: RootfsManifest): RootfsView {
  if (manifest.mode === 'host') return hostModeView;
  return {
    command: (need, args) => {
      if (need.kind === 'node') return [...(manifest.nodeCommand ?? [manifest.node]), ...args];
      if (need.kind === 'python3' && manifest.python) return [manifest.python, ...args];
      throw new FerryError('invalid-manifest', `the microvm root (made from ${manifest.source ?? manifest.mode}) has no ${need.kind === 'program' ? `program ${need.name}` : need.kind}`);
    },
    runtimeFile: (hostPath) => ferryInGuest(hostPath),
    libraries: () => [],
  };
}

/**
 * Where a runtime's needs are in an image's root in a microvm guest: as in bwrap's image roots
 * (sandbox/bwrap/image-root.ts), Ferry's Node at /.ferry/<host path> started through the host's
 * loader at /.ferry/lib, its runtime files at /.ferry/<host path>. The agent binds them there
 * from the guest's root (`imageBinds`), where `ferry rootfs build` put them.
 */
export const microvmImageRootfsView: RootfsView = {
  command: (need, args) => {
    if (need.kind !== 'node') throw new FerryError('instance-start-failed', `an image's root has no ${need.kind === 'program' ? `'${need.name}'` : need.kind} of the host's`);
    return [...launcherOf(process.execPath), ferryInGuest(process.execPath), ...args];
  },
  runtimeFile: (hostPath) => ferryInGuest(hostPath),
  libraries: () => [],
};

/** The loader that starts a host program inside an image root (none for a static one). */
function launcherOf(program: string): string[] {
  const loader = hostLibraries(program)[0];
  return loader ? [`${FERRY_LIB_DIR}/${loader.name}`, '--library-path', FERRY_LIB_DIR] : [];
}

/**
 * What the agent binds into an image's root for `needs`: guest paths to paths inside. A host-mode
 * root has Node and its libraries at their host paths; a root made from elsewhere has them at the
 * very paths they are bound to (foreign-root.ts in rootfs/).
 */
export function imageBinds(needs: RootfsNeed[], manifest: RootfsManifest): Array<{ from: string; to: string }> {
  const out = new Map<string, string>();
  const host = manifest.mode === 'host';
  for (const need of needs) {
    if (need.kind === 'node') {
      out.set(ferryInGuest(process.execPath), host ? process.execPath : ferryInGuest(process.execPath));
      for (const lib of hostLibraries(process.execPath)) out.set(`${FERRY_LIB_DIR}/${lib.name}`, host ? lib.path : `${FERRY_LIB_DIR}/${lib.name}`);
    } else if (need.kind === 'ferry-runtime') {
      out.set(ferryInGuest(ferryRuntimeDir), ferryInGuest(ferryRuntimeDir));
    }
  }
  return [...out].map(([to, from]) => ({ from, to }));
}

/** The agent's request for `spec`: the same argv, the instance's env on a minimal base, the guest's paths. */
export function spawnRequest(spec: SandboxSpec, manifest: RootfsManifest): SpawnRequest {
  const addresses = runDirAddresses(guestPaths.runDir);
  // An image's user, but never the guest's root (the agent's): an image run as root runs as Ferry's guest user.
  const user = spec.root === 'package' && spec.user && spec.user.uid !== 0 && spec.user.gid !== 0 ? spec.user : { uid: GUEST_UID, gid: GUEST_UID };
  return {
    argv: spec.argv,
    env: { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8', HOME: '/tmp', ...spec.env },
    cwd: spec.cwd,
    uid: user.uid,
    gid: user.gid,
    memoryMb: spec.limits.memoryMb,
    pids: spec.limits.pids,
    tmpMb: spec.limits.tmpMb,
    ...(spec.channel && { listen: addresses[spec.channel] }),
    ...(spec.onInstanceStream && { api: addresses.api }),
    runDir: guestPaths.runDir,
    packageDir: guestPaths.packageDir,
    stdin: spec.stdin === true,
    ...(spec.root === 'package' && { root: { tree: guestPaths.packageDir, binds: imageBinds(spec.rootfs, manifest) } }),
  };
}
