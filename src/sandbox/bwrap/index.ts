import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { FerryError } from '../../errors/index.js';
import type { Limits, RuntimeName, SandboxDriver } from '../../core/index.js';
import { createBwrapDriver, type InstanceLimits } from './bwrap-driver.js';
import { detectCgroups } from './cgroups.js';
import { writeEtcFiles } from './etc-files.js';
import { helperAvailable, helperExecArgv, helperPath, helperBuildFix } from './helper.js';
import { assertAllowed, createNetwork, findTool, findTools, routerTools, SLIRP_DNS, type EgressEngine } from './network.js';
import { SharedEgress } from './shared-egress.js';
import { HostAddressWatch } from './host-addresses.js';
import { InstanceFilters } from './instance-filters.js';
import type { CgroupHost } from './cgroups.js';

/** The shared egress router's cgroup limits (it has no manifest: these are the operator's). */
const ROUTER_LIMITS = { memoryMb: 256, cpu: 1, pids: 64 };
import { bridgeRoot, Bridges } from './bridge.js';
import { SeccompCompiler, validateSyscallNames } from './seccomp.js';
import { SeccompLog } from './seccomp-log.js';
import { parseEgressAllow } from './network-rules.js';
import { Mounter, mountdAvailable, mountdPath } from './mounter.js';
import { slotRoot, Slots } from './slots.js';
import { RunDirs } from './run-dirs.js';
import { instanceLimits, memoryFallbackNotice } from './memory-fallback.js';
import { dataDirUnreachable } from './data-dir-reach.js';

export { createBwrapDriver, checkBindSource, SANDBOX_PACKAGE_DIR, SANDBOX_RUN_DIR } from './bwrap-driver.js';
export { validateSyscallNames } from './seccomp.js';
export { dataDirUnreachable } from './data-dir-reach.js';
export { assertAllowed as assertNetworkAllowed } from './network.js';

/** What the server tells the driver about itself and the operator's choices. */
export interface BwrapDriverOptions {
  dataDir: string;
  /** This server process's run dir root; default `<dataDir>/run`. */
  runRoot?: string;
  /** This server process's slot on the data dir (server-slot.ts); default 0. Scopes its cgroups and pool. */
  slot?: number;
  bindable: string[];
  allowHostNetwork: boolean;
  egressAllow: string[];
  /** Host uid/gid of instances when Ferry runs as root. */
  sandboxUid: number;
  /** `--egress-stack`: which user-mode stack `egress` uses (auto: shared as root, else slirp4netns). */
  egressStack?: 'auto' | EgressEngine;
  /** Where the driver reports what happens outside any one instance (the shared router's exit). */
  log?(level: 'info' | 'warn' | 'error', message: string): void;
}

/**
 * Builds the bwrap driver for this host: finds bwrap and the native helper, detects cgroups,
 * prepares seccomp compilation and the network stack. Throws a FerryError naming the fix when
 * a required piece is missing: the server then refuses to start rather than run unsandboxed.
 */
export async function makeBwrapDriver(o: BwrapDriverOptions): Promise<SandboxDriver & { cleanup(): Promise<string[]>; close(): Promise<void> }> {
  const bwrap = findTool('bwrap');
  if (!bwrap) throw new FerryError('internal', 'the bwrap driver needs bubblewrap: apt-get install -y bubblewrap (or run with --driver process --unsandboxed for development)');
  if (!helperAvailable()) throw new FerryError('internal', `the bwrap driver needs its native helper at ${helperPath()}, built with a C compiler and the libseccomp headers: ${helperBuildFix()} (or run without a sandbox, for development only: --driver process --unsandboxed)`);
  const root = process.getuid?.() === 0;
  const sandboxUser = root ? { uid: o.sandboxUid, gid: o.sandboxUid } : undefined;
  const unreachable = sandboxUser && dataDirUnreachable(o.dataDir, sandboxUser.uid, sandboxUser.gid);
  if (unreachable) throw new FerryError('internal', `the data dir cannot be reached by the sandbox: ${unreachable}`);
  // One cgroup subtree per data dir and server slot, so two servers on a host (or on one data
  // dir) never clean up each other's. Slot 0 keeps the scope of a data dir from before slots.
  const scope = createHash('sha256').update(o.slot ? `${o.dataDir}\0${o.slot}` : o.dataDir).digest('hex').slice(0, 12);
  const cgroups = detectCgroups({ scope });
  const seccomp = new SeccompCompiler(join(o.dataDir, 'cache', 'seccomp'));
  const etcFiles = writeEtcFiles(join(o.dataDir, 'sandbox', 'etc'));
  const wanted = o.egressStack && o.egressStack !== 'auto' ? o.egressStack : undefined;
  // The host's addresses, which every egress filter refuses: watched from the first egress instance on.
  const tools = findTools();
  const log = (level: 'info' | 'warn' | 'error', message: string): void => o.log?.(level, message);
  const setpriv = findTool('setpriv');
  const hosts = tools.ip ? new HostAddressWatch([tools.ip], log, setpriv ? [setpriv, '--pdeathsig', 'KILL', '--'] : []) : undefined;
  const filters = hosts && tools.nsenter && tools.nft ? new InstanceFilters({ nsenter: tools.nsenter, nft: tools.nft, hosts, log }) : undefined;
  const router = sandboxUser && hosts && (wanted ?? 'shared') === 'shared' ? sharedRouter(o, sandboxUser, cgroups, hosts) : undefined;
  if (wanted === 'shared' && !router) {
    throw new FerryError('internal', sandboxUser ? '--egress-stack shared needs slirp4netns, nftables, iproute2 (ip) and nsenter: apt-get install -y slirp4netns nftables iproute2 util-linux' : '--egress-stack shared needs Ferry to run as root');
  }
  const network = createNetwork({ egressAllow: o.egressAllow, allowHostNetwork: o.allowHostNetwork, uid: sandboxUser?.uid, hosts, filters, ...(wanted && { engine: wanted }), ...(router && { shared: router }) });
  const bridgeDir = bridgeRoot(scope);
  Bridges.cleanup(bridgeDir);
  const bridges = sandboxUser ? new Bridges(bridgeDir, sandboxUser.uid, sandboxUser.gid) : undefined;
  // A bad --egress-allow entry is an operator error: refuse to start, not every instance later.
  parseEgressAllow(o.egressAllow);
  const unenforced = cgroups.unenforced().map((c) => (c === 'memory' ? memoryFallbackNotice : `${c} (no writable cgroup controller)`));
  // Refused syscalls are still refused without it; the function's logs just do not name them.
  const seccompLog = await SeccompLog.start();
  if (seccompLog.unavailable) unenforced.push(`seccomp refusals are not named in function logs: ${seccompLog.unavailable}`);

  // Without a memory cgroup, rlimits per runtime stand in for it (see memory-fallback.ts).
  const limits = (instanceId: string, l: Limits, runtime?: RuntimeName): Promise<InstanceLimits> => instanceLimits(cgroups, instanceId, l, runtime);

  // The pre-booted pool binds packages into running sandboxes (root only) and sets their limits
  // at hand-off, which only a cgroup can do for a process already running.
  const poolUnavailable = !root
    ? 'Ferry does not run as root: handing a package to a running sandbox needs mounts'
    : cgroups.unenforced().length > 0
      ? `limits (${cgroups.unenforced().join(', ')}) cannot be set on a running sandbox without their cgroup controllers`
      : !mountdAvailable()
        ? `the mount service ${mountdPath()} is missing: ${helperBuildFix()}`
        : undefined;
  // Mounts (the pool's slots, the run dirs' file systems) are made by the mount service, as root.
  const mounter = root && mountdAvailable() ? new Mounter() : undefined;
  const slots = mounter && !poolUnavailable ? new Slots(slotRoot(scope), mounter) : undefined;
  const runRoot = o.runRoot ?? join(o.dataDir, 'run');
  const runDirs = mounter && sandboxUser ? new RunDirs(mounter, sandboxUser.uid) : undefined;
  if (!runDirs) unenforced.push(`size of /run/ferry (${root ? `the mount service ${mountdPath()} is missing` : 'Ferry does not run as root'}: each instance's run dir is a plain directory on the data dir's disk)`);

  const driver = createBwrapDriver({
    bwrap,
    helper: helperPath(),
    seccomp: (policy) => seccomp.compile(policy),
    refusals: (id, pid) => seccompLog.watch(id, pid),
    limits,
    network,
    sandboxUser,
    bindable: o.bindable,
    dataDir: o.dataDir,
    etcFiles,
    unenforced,
    bindSource: (p) => (bridges ? bridges.source(p) : p),
    ...(runDirs && { runDirs }),
    ...(slots ? { slots } : { poolUnavailable }),
    validate: async (settings) => {
      assertAllowed(settings.network, o, 'invalid-manifest');
      if (settings.seccomp) await validateSyscallNames(settings.seccomp.syscalls);
    },
  });
  return {
    ...driver,
    // Slots and run dirs a killed server left mounted go too; their sandboxes died with it (or
    // are reaped).
    cleanup: async () => [...(await cgroups.cleanupStale()), ...((await slots?.cleanup()) ?? []), ...((await runDirs?.cleanup(runRoot)) ?? [])],
    close: async () => {
      router?.close();
      filters?.close();
      hosts?.close();
      seccompLog.close();
      Bridges.cleanup(bridgeDir);
      // Every pooled sandbox is stopped by now, so this finds only what a failed stop left.
      await slots?.cleanup().catch(() => {});
      await runDirs?.cleanup(runRoot).catch(() => {});
      await mounter?.close();
    },
  };
}

/** The shared egress router of this server (started on the first `egress` instance). */
export function sharedRouter(o: BwrapDriverOptions, user: { uid: number; gid: number }, cgroups: CgroupHost, hosts: HostAddressWatch): SharedEgress | undefined {
  const tools = routerTools(findTools());
  if (!tools) return undefined;
  let started = 0;
  return new SharedEgress(
    {
      tools,
      // As the sandbox user, never root (with the server's descriptor limit), in its own cgroup.
      asUser: (argv, dirs) => helperExecArgv({ uid: user.uid, gid: user.gid, cgroups: dirs }, argv),
      // Bounded like an instance: a flood of connections through it must not take the host.
      cgroup: () => cgroups.create(`egress-router-${++started}`, ROUTER_LIMITS, { allowFallback: true }),
      egressAllow: o.egressAllow,
      hostAddresses: () => hosts.current(),
      watchHosts: (onChange) => hosts.onChange(onChange),
      dnsAddress: SLIRP_DNS,
    },
    (level, message) => o.log?.(level, message),
  );
}
