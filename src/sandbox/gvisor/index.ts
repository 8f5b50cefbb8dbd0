import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, symlinkSync, writeFileSync, rmSync } from 'node:fs';
import { rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FerryError } from '../../errors/index.js';
import type { SandboxDriver } from '../../core/index.js';
import { detectCgroups } from '../bwrap/cgroups.js';
import { helperAvailable, helperBuildFix, helperPath } from '../bwrap/helper.js';
import { assertAllowed, findTool, findTools, SLIRP_DNS } from '../bwrap/network.js';
import { HostAddressWatch } from '../bwrap/host-addresses.js';
import { sharedRouter } from '../bwrap/index.js';
import { egressNamespace } from './egress.js';
import { validateSyscallNames } from '../bwrap/seccomp.js';
import { systemBinds } from '../bwrap/system-binds.js';
import { checkBindSource } from '../bwrap/bwrap-driver.js';
import { Mounter, mountdAvailable } from '../bwrap/mounter.js';
import { RunDirs } from '../bwrap/run-dirs.js';
import type { BwrapDriverOptions } from '../bwrap/index.js';
import { createGvisorDriver } from './gvisor-driver.js';
import { cleanupContainers, gvisorPlatform, platformStarts } from './runsc.js';

export { gvisorPlatform } from './runsc.js';
export { ociSpec, ociSeccomp, unhonoured } from './oci-spec.js';
import { unhonoured } from './oci-spec.js';

/**
 * Host memory the sentry and its gofer need besides the instance's own (measured: ~30 MB
 * resident for a Python instance under the ptrace platform); added to the memory cgroup so that
 * memoryMb stays what the function itself may use.
 */
export const SENTRY_MEMORY_MB = 64;
/**
 * The host pids cgroup is a backstop only (the instance's count is its RLIMIT_NPROC in the
 * sentry): under the ptrace platform each task of the instance is a host thread of a stub
 * process plus traced sentry threads, and the sentry and gofer have their own threads. Measured
 * (pids.peak): ~100 host threads for an idle Python instance, ~10 more per task of a fork bomb
 * at its limit; the sentry starts more of its own under load, and a sentry that cannot start a
 * thread dies. Hence twice the measured cost: an instance reaches its own limit long before this.
 */
export const SENTRY_PIDS = 256;
/** Host threads per task of the instance (see SENTRY_PIDS). */
export const HOST_THREADS_PER_TASK = 20;

/**
 * Builds the gVisor driver: Debian's runsc, the native helper (it joins the instance's cgroups
 * before runsc starts), cgroups. Throws a FerryError naming the fix when a piece is missing.
 */
export async function makeGvisorDriver(o: BwrapDriverOptions): Promise<SandboxDriver & { cleanup(): Promise<string[]>; close(): Promise<void> }> {
  const binary = findTool('runsc');
  if (!binary) throw new FerryError('internal', 'the gvisor driver needs runsc: apt-get install -y runsc (Debian 12: from bookworm-backports or the gVisor apt repository)');
  if (process.getuid?.() !== 0) throw new FerryError('internal', 'the gvisor driver needs Ferry to run as root (runsc makes the sandbox, its gofer and their namespaces)');
  if (!helperAvailable()) throw new FerryError('internal', `the gvisor driver needs the native helper at ${helperPath()}: ${helperBuildFix()}`);
  const scope = createHash('sha256').update(`gvisor\0${o.dataDir}\0${o.slot ?? 0}`).digest('hex').slice(0, 12);
  const cgroups = detectCgroups({ scope });
  const missing = cgroups.unenforced();
  // Fail closed: without these cgroups nothing would bound the sentry's memory or CPU.
  if (missing.length) throw new FerryError('internal', `the gvisor driver needs writable cgroup controllers: ${missing.join(', ')}`);
  const base = join(o.dataDir, 'sandbox', 'gvisor');
  const stateRoot = join('/run', 'ferry-gvisor', scope);
  const bundles = join(base, 'bundles');
  for (const d of [stateRoot, bundles]) mkdirSync(d, { recursive: true, mode: 0o700 });
  const user = { uid: o.sandboxUid, gid: o.sandboxUid };
  const rootDir = writeRoot(join(base, 'root'));
  // Made again by each server: a skeleton follows the code that makes it, not an older one's.
  const imageRoots = join(base, 'image-roots');
  rmSync(imageRoots, { recursive: true, force: true });
  mkdirSync(imageRoots, { recursive: true, mode: 0o755 });
  const etcFiles = writeEtcFiles(join(base, 'etc'), user.uid);
  const mounter = mountdAvailable() ? new Mounter() : undefined;
  const runDirs = mounter ? new RunDirs(mounter, user.uid) : undefined;
  const runRoot = o.runRoot ?? join(o.dataDir, 'run');
  const unenforced = [
    'seccomp refusals are not named in function logs (the sentry applies the filter)',
    ...(runDirs ? [] : ['size of /run/ferry (the mount service is missing: each run dir is a plain directory)']),
  ];

  // egress: the shared egress router of the bwrap driver, one per driver (see egress.ts).
  const tools = findTools();
  const log = (level: 'info' | 'warn' | 'error', message: string): void => o.log?.(level, message);
  const setpriv = findTool('setpriv');
  const dieWithServer = setpriv ? [setpriv, '--pdeathsig', 'KILL', '--'] : [];
  const hosts = tools.ip ? new HostAddressWatch([tools.ip], log, dieWithServer) : undefined;
  const router = hosts ? sharedRouter(o, user, cgroups, hosts) : undefined;
  const { unshare, nsenter } = tools;
  const egressMissing = "network 'egress' in the gvisor sandbox needs the shared egress router: apt-get install -y slirp4netns nftables iproute2 util-linux";
  if (!router) unenforced.push(egressMissing);

  let { platform, why } = gvisorPlatform();
  // KVM opens and is not PVM; whether the sentry runs on it is only known by trying.
  const probe = platform === 'kvm' ? await platformStarts(binary, stateRoot, 'kvm') : { ok: true as const };
  if (!probe.ok) ({ platform, why } = { platform: 'ptrace', why: probe.why });
  log(probe.ok ? 'info' : 'warn', `gvisor: runsc on the ${platform} platform${why ? ` (no usable KVM: ${why})` : ''}`);
  const driver = createGvisorDriver({
    runsc: binary,
    helper: helperPath(),
    dieWithServer,
    platform,
    stateRoot,
    bundles,
    rootDir,
    imageRoots,
    sandboxUser: user,
    etcFiles,
    unenforced,
    ...(runDirs && { runDirs }),
    limits: async (id, l) => {
      const cg = await cgroups.create(id, { memoryMb: l.memoryMb + SENTRY_MEMORY_MB, cpu: l.cpu, pids: l.pids * HOST_THREADS_PER_TASK + SENTRY_PIDS });
      return { dirs: cg.dirs, oomKilled: () => cg.oomKilled(), remove: () => cg.remove(), memoryBytes: () => cg.memoryBytes() };
    },
    network: async (policy) => {
      assertAllowed(policy, o);
      // none: the sandbox kernel's loopback only; host: the host's network through the sentry.
      if (policy === 'none') return { flags: ['--network=none'] };
      if (policy === 'host') return { flags: ['--network=host'] };
      if (!router || !unshare || !nsenter || !hosts) throw new FerryError('instance-start-failed', egressMissing);
      await hosts.ready();
      // egress: the sentry's sockets are made in a namespace of the instance's own, linked to the
      // shared router, whose filter sees every packet. (This runsc's own network stack,
      // --network=sandbox, refuses every namespace on kernels that show net.core sysctls in all
      // of them: it takes each for the host's.)
      const namespace = await egressNamespace(router, unshare);
      return { flags: ['--network=host'], namespace, prefix: [nsenter, `--net=${namespace.path}`, '--'], dns: SLIRP_DNS };
    },
    checkBind: (source) => checkBindSource(source, o),
    validate: async (settings) => {
      const weaker = unhonoured(settings);
      if (weaker) throw new FerryError('invalid-manifest', weaker);
      assertAllowed(settings.network, o, 'invalid-manifest');
      if (settings.network === 'egress' && !router) throw new FerryError('invalid-manifest', egressMissing);
      for (const source of Object.keys(settings.roBinds)) checkBindSource(source, o);
      if (settings.seccomp) await validateSyscallNames(settings.seccomp.syscalls);
    },
  });
  return {
    ...driver,
    cleanup: async () => [...(await cleanupContainers(binary, stateRoot, bundles)), ...(await cgroups.cleanupStale()), ...((await runDirs?.cleanup(runRoot)) ?? [])],
    close: async () => {
      router?.close();
      hosts?.close();
      // Every instance stopped by now: the state root is empty unless a stop failed (kept then).
      await rmdir(stateRoot).catch(() => {});
      await runDirs?.cleanup(runRoot).catch(() => {});
      await mounter?.close();
    },
  };
}

/** The shared root: an empty directory with the host's merged-/usr links (/bin -> usr/bin). */
function writeRoot(dir: string): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (const b of systemBinds()) if (b.kind === 'symlink') symlinkSync(b.source, join(dir, b.dest));
  return dir;
}

/** passwd/group naming the instance's uid `ferry`: inside gVisor it is the host uid itself. */
function writeEtcFiles(dir: string, uid: number): { passwd: string; group: string } {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const write = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(`${path}.tmp`, text, { mode: 0o644 });
    renameSync(`${path}.tmp`, path);
    return path;
  };
  return {
    passwd: write('passwd', `root:x:0:0:root:/tmp:/usr/sbin/nologin\nferry:x:${uid}:${uid}:ferry:/tmp:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`),
    group: write('group', `root:x:0:\nferry:x:${uid}:\nnogroup:x:65534:\n`),
  };
}
