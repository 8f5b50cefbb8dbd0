/**
 * Network policy of a sandboxed instance: how the bwrap command line is wrapped for `none`,
 * `egress` and `host`. The driver builds
 *
 *   [helper ... --, ...plan.prefix, bwrap, ...plan.bwrapArgs, ...its own args, '--', ...argv]
 *
 * The prefix goes AFTER the native helper (cgroups joined, privileges dropped): pasta refuses to
 * run as root, and its user namespace must belong to the sandbox uid, not to root. slirp4netns
 * attaches to a namespace instead of starting one: the server starts it beside the instance
 * (`plan.stack`, see slirp.ts), through the helper too.
 *
 * `egress` = a user-mode network stack (pasta, or slirp4netns) gives the instance its own network
 * namespace with outbound connectivity, and an nftables filter loaded in that namespace keeps the
 * host's own services, link-local and private ranges out (`network-rules.ts`). The filter is
 * loaded by the namespace's owner before bwrap starts; the instance cannot change it: bwrap runs it
 * in a nested user namespace without capabilities, and CAP_NET_ADMIN over the network namespace
 * exists only in the outer one (seccomp also denies unshare/setns).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { FerryError, type ErrorCode } from '../../errors/index.js';
import type { NetworkPolicy } from '../../core/index.js';
import { DNS_FORWARD_ADDRESS, networkRules } from './network-rules.js';
import { loadAndExec, routedPrefix, slirpPrefix, slirpStack, withStackFd, type AttachedStack } from './slirp.js';
import { EgressRouter, type RouterTools } from './egress-router.js';
import { SharedEgress } from './shared-egress.js';
import { readHostAddresses, type HostAddressWatch } from './host-addresses.js';
import type { InstanceFilters } from './instance-filters.js';
import { systemBindArgs } from './system-binds.js';

/**
 * The user-mode stacks `egress` can use: one slirp4netns shared by every instance through a
 * router (`shared`, see egress-router.ts), or one stack per instance.
 */
export type EgressEngine = 'shared' | 'pasta' | 'slirp4netns';

/** Absolute paths of the programs the plans run (undefined: not installed). */
export interface NetworkTools {
  sh: string | undefined;
  nft: string | undefined;
  pasta: string | undefined;
  slirp4netns: string | undefined;
  unshare: string | undefined;
  bwrap: string | undefined;
  ip: string | undefined;
  nsenter: string | undefined;
}

export interface NetworkContext {
  /**
   * Addresses and blocks that are the host or lead to it (`readHostAddresses`: every local route
   * of the kernel, every interface's address, the default gateways).
   */
  hostAddresses: string[];
  /** The operator's `--egress-allow` CIDRs (private ranges the instances may reach). */
  egressAllow: string[];
  /** The instance's host run dir; receives the files of the plan. */
  runDir: string;
  /** The operator's `--allow-host-network`. */
  allowHostNetwork: boolean;
  /** The host uid the prefix runs as (the sandbox user; default: this process's uid). */
  uid?: number;
  /** Which stack (default: the shared router when given, else slirp4netns, else pasta). */
  engine?: EgressEngine;
  /** The shared router (started on first use); only where Ferry runs as root. */
  shared?: SharedEgress;
  tools?: NetworkTools;
}

export interface NetworkPlan {
  policy: NetworkPolicy;
  engine: EgressEngine | undefined;
  /** argv before bwrap (after the helper); empty for `none` and `host`. */
  prefix: string[];
  /** A stack the server starts beside the instance once it runs (slirp4netns); see slirp.ts. */
  stack?: AttachedStack;
  /** bwrap flags of the policy: `--unshare-net` for `none`, nothing else. */
  bwrapArgs: string[];
  /** Files to write before the spawn (`writePlanFiles`), host paths. */
  files: Array<{ path: string; content: string }>;
  /** Read-only binds to add AFTER the system binds (they replace e.g. the host's resolv.conf). */
  binds: Array<{ source: string; dest: string }>;
  /** One line for logs and `ferry doctor`. */
  summary: string;
  /** Called with the instance's first process once spawned: its filter is kept current (createNetwork). */
  track?(child: ChildProcess): void;
}

const systemDirs = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Looks `name` up in PATH and the system dirs (nft lives in /usr/sbin, often not on PATH). */
export function findTool(name: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), ...systemDirs]) {
    if (!dir.startsWith('/')) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

let toolCache: NetworkTools | undefined;

/** The tools of this host, looked up once. */
export function findTools(): NetworkTools {
  toolCache ??= {
    sh: findTool('sh'),
    nft: findTool('nft'),
    pasta: findTool('pasta'),
    slirp4netns: findTool('slirp4netns'),
    unshare: findTool('unshare'),
    bwrap: findTool('bwrap'),
    ip: findTool('ip'),
    nsenter: findTool('nsenter'),
  };
  return toolCache;
}

/**
 * Refuses `host` unless the operator allowed it. `code`: `invalid-manifest` at deploy time,
 * `instance-start-failed` (default) at start time, should the flag have been removed since.
 */
export function assertAllowed(policy: NetworkPolicy, opts: { allowHostNetwork: boolean }, code: ErrorCode = 'instance-start-failed'): void {
  if (policy === 'host' && !opts.allowHostNetwork) {
    throw new FerryError(code, "network 'host' shares the host's network (its loopback services included) and is off on this server; the operator enables it with --allow-host-network");
  }
}

/** slirp4netns' built-in DNS forwarder in its default 10.0.2.0/24 network. */
export const SLIRP_DNS = '10.0.2.3';

function failEgress(why: string): never {
  throw new FerryError('instance-start-failed', `network 'egress' cannot be set up: ${why} (see \`ferry doctor\`)`);
}

/** Which stack `egress` uses with these tools (undefined: none is usable). */
export function chooseEngine(tools: NetworkTools, wanted?: EgressEngine, hasRouter = false): EgressEngine | undefined {
  const usable = (e: EgressEngine): boolean =>
    e === 'pasta' ? !!tools.pasta : !!tools.slirp4netns && !!tools.unshare && (e === 'slirp4netns' || (hasRouter && !!tools.ip && !!tools.nsenter));
  if (wanted) return usable(wanted) ? wanted : undefined;
  // The shared router first: no process per instance. Then slirp4netns: ~5 MB and ~25 ms per
  // instance against pasta's ~30 MB and ~60 ms (measured), and it needs no default route.
  return (['shared', 'slirp4netns', 'pasta'] as const).find(usable);
}

/**
 * The plan of one instance. Pure (files are returned, not written); throws `instance-start-failed`
 * when the policy cannot be applied here: an instance never starts with less isolation than asked.
 */
export function networkPlan(policy: NetworkPolicy, ctx: NetworkContext): NetworkPlan {
  assertAllowed(policy, ctx);
  const base = { policy, engine: undefined, prefix: [], files: [], binds: [] };
  // The host's network namespace: its loopback, interfaces and everything they reach.
  if (policy === 'host') return { ...base, bwrapArgs: [], summary: 'host network (shared with the server)' };
  // A new, empty network namespace: only its own `lo`, nothing can be reached or reach in.
  if (policy === 'none') return { ...base, bwrapArgs: ['--unshare-net'], summary: 'no network (own namespace, loopback only)' };

  const tools = ctx.tools ?? findTools();
  const engine = chooseEngine(tools, ctx.engine, !!ctx.shared);
  if (!engine) {
    if (ctx.engine === 'shared') failEgress(ctx.shared ? 'the shared router needs slirp4netns, unshare, ip (iproute2) and nsenter' : 'the shared router needs Ferry to run as root');
    failEgress(ctx.engine ? `${ctx.engine} is not installed` : 'neither pasta (package passt) nor slirp4netns is installed');
  }
  if (!tools.nft) failEgress('nft (package nftables) is not installed, so the host could not be filtered out');
  if (!tools.sh) failEgress('no /bin/sh');
  const uid = ctx.uid ?? process.getuid?.() ?? 0;
  // A stack running as root would own its namespace as root; pasta refuses outright (and hangs).
  if (uid === 0) failEgress('the network stack must run as an unprivileged uid (the sandbox user), not root');

  const dns = engine === 'pasta' ? DNS_FORWARD_ADDRESS : SLIRP_DNS;
  let rules: string;
  try {
    rules = networkRules(ctx.hostAddresses, ctx.egressAllow, dns);
  } catch (err) {
    failEgress((err as Error).message);
  }
  const resolv = join(ctx.runDir, 'resolv.conf');
  const files = [{ path: resolv, content: `# Ferry egress: the network stack forwards these queries to the host's resolver.\nnameserver ${dns}\n` }];
  const binds = [{ source: resolv, dest: '/etc/resolv.conf' }];
  const summary = `egress through ${engine === 'shared' ? 'the shared router (one slirp4netns)' : engine}, host and private ranges filtered by nftables`;
  if (engine === 'shared') {
    // The router filters; the rules were checked above so that a bad list fails here too.
    return { policy, engine, prefix: routedPrefix({ unshare: tools.unshare!, sh: tools.sh }), stack: EgressRouter.stack(ctx.shared!), bwrapArgs: [], files, binds, summary };
  }
  if (engine === 'slirp4netns') {
    const prefix = slirpPrefix({ unshare: tools.unshare!, sh: tools.sh, nft: tools.nft }, rules);
    return { policy, engine, prefix, stack: slirpStack(tools.slirp4netns!), bwrapArgs: [], files, binds, summary };
  }
  const prefix = [
    tools.pasta!,
    // Set up addresses and routes in the namespace (copied from the host's default interface).
    '--config-net',
    // Stay the parent of the instance: the driver's stop, exit status and process group reach it.
    '--foreground',
    '--quiet',
    // The gateway address must not lead to the host's loopback (the default maps it there).
    '--no-map-gw',
    // No inbound forwards from the host into the namespace: the instance's ports are not
    // exposed on the host, past the gateway's authentication.
    '-t', 'none', '-u', 'none',
    // No forwards from the namespace's loopback to the host's ("auto" mirrors every port the
    // host listens on, i.e. all of its loopback services).
    '-T', 'none', '-U', 'none',
    // No DHCP or router advertisements to parse from the sandbox: --config-net set everything.
    '--no-dhcp', '--no-dhcpv6', '--no-ra',
    // DNS to this address goes to the host's resolver (see network-rules.ts).
    '--dns-forward', DNS_FORWARD_ADDRESS,
    '--',
    tools.sh, '-c', loadAndExec, 'ferry-net', tools.nft, rules,
  ];
  return { policy, engine, prefix, bwrapArgs: [], files, binds, summary };
}

/**
 * Writes the plan's files (0644: bwrap reads them as the sandbox user). They go into the run dir,
 * which the sandbox user owns: whatever holds the name is unlinked (never followed) and the file
 * is created exclusively (O_EXCL), so a link put there cannot redirect the write.
 */
export function writePlanFiles(plan: NetworkPlan): void {
  for (const f of plan.files) {
    rmSync(f.path, { force: true });
    writeFileSync(f.path, f.content, { mode: 0o644, flag: 'wx' });
  }
}

/**
 * What `BwrapDeps.network` wants: the plan of a policy for a run dir, files written. The host's
 * addresses come from `hosts`, kept current; a per-instance stack's filter follows them
 * (`filters`), the shared router's its own. Unknown addresses: `egress` does not start.
 */
export function createNetwork(
  opts: Omit<NetworkContext, 'runDir' | 'hostAddresses'> & { hosts: HostAddressWatch | undefined; filters: InstanceFilters | undefined },
): (policy: NetworkPolicy, runDir: string) => Promise<NetworkPlan> {
  const { hosts, filters, ...rest } = opts;
  return async (policy, runDir) => {
    let hostAddresses: string[] = [];
    let generation = 0;
    if (policy === 'egress') {
      if (!hosts) failEgress("ip (package iproute2) is not installed, so the host's addresses cannot be read");
      await hosts.ready();
      generation = hosts.generation;
      try {
        hostAddresses = hosts.current();
      } catch (err) {
        failEgress((err as Error).message);
      }
    }
    const plan = networkPlan(policy, { ...rest, runDir, hostAddresses });
    if (plan.engine === 'slirp4netns' || plan.engine === 'pasta') {
      // A filter that could not follow the host's addresses would let a new one through.
      if (!filters) failEgress("nsenter (util-linux) is not installed, so the instance's filter could not follow the host's addresses");
      plan.track = (child) => filters.track(child, generation);
    }
    writePlanFiles(plan);
    return plan;
  };
}

export interface ProbeResult {
  ok: boolean;
  detail: string;
  /** How to make it work, when it does not. */
  fix?: string;
}

export interface NetworkProbe {
  none: ProbeResult;
  /** What `egress` will use: the first engine that works. */
  egress: ProbeResult & { engine: EgressEngine | undefined };
  engines: Record<EgressEngine, ProbeResult>;
  tools: NetworkTools;
}

/**
 * Runs argv in its own process group, with the plan's stack beside it (run through `asUser`);
 * resolves with its exit code (null: timeout) and stderr.
 */
function run(argv: string[], timeoutMs: number, stack?: AttachedStack, asUser: string[] = []): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: withStackFd(['ignore', 'ignore', 'pipe'], stack), detached: true, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
    stack?.attach(child, (a) => [...asUser, ...a]);
    let stderr = '';
    const killGroup = (): void => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    };
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(killGroup, timeoutMs);
    const done = (code: number | null): void => {
      clearTimeout(timer);
      // A failed pasta leaves its half-started namespace child behind, in the group.
      killGroup();
      setImmediate(() => resolve({ code, stderr: stderr.replace(/^Failed to send \d+ bytes to syslog\n/gm, '').trim() }));
    };
    child.on('error', (err) => {
      stderr += err.message;
      done(null);
    });
    child.on('exit', (code) => done(code));
  });
}

/** The tools the shared router needs, when all are installed. */
export function routerTools(tools: NetworkTools): RouterTools | undefined {
  const { unshare, sh, slirp4netns, nft, ip, nsenter } = tools;
  return unshare && sh && slirp4netns && nft && ip && nsenter ? { unshare, sh, slirp4netns, nft, ip, nsenter } : undefined;
}

/** Advice for /dev/net/tun, which both stacks open as the sandbox user inside its namespace. */
function tunFix(): string | undefined {
  if (!existsSync('/dev/net/tun')) return 'load the tun module: modprobe tun';
  if ((statSync('/dev/net/tun').mode & 0o006) !== 0o006) return 'make /dev/net/tun usable by unprivileged users: chmod 0666 /dev/net/tun (the udev default)';
  return undefined;
}

/**
 * What works on this host, by trying it: an empty namespace for `none`, and for each egress
 * stack the real plan (filter loaded) around a nested bwrap. `asUser` is the argv that runs a
 * command as the sandbox user (the driver's helper); as root without it, `setpriv` to nobody.
 */
export async function probeNetwork(opts: { asUser?: string[]; uid?: number; timeoutMs?: number; tools?: NetworkTools } = {}): Promise<NetworkProbe> {
  const tools = opts.tools ?? findTools();
  const timeoutMs = opts.timeoutMs ?? 5000;
  const setpriv = findTool('setpriv');
  const root = process.getuid?.() === 0;
  const asUser = opts.asUser ?? (root && setpriv ? [setpriv, '--reuid=65534', '--regid=65534', '--clear-groups'] : []);
  const probeUid = opts.uid ?? (asUser.length ? 65534 : process.getuid?.());
  const missing = (what: string, pkg: string): ProbeResult => ({ ok: false, detail: `${what} is not installed`, fix: `apt-get install ${pkg}` });

  let none: ProbeResult;
  if (!tools.bwrap) none = missing('bwrap', 'bubblewrap');
  else {
    const r = await run([...asUser, tools.bwrap, '--unshare-user', '--unshare-net', ...systemBindArgs(), '--', '/bin/true'], timeoutMs);
    none = r.code === 0 ? { ok: true, detail: 'bwrap --unshare-net' } : { ok: false, detail: `bwrap --unshare-net failed: ${r.stderr}`, fix: 'enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0)' };
  }

  const engines = {} as Record<EgressEngine, ProbeResult>;
  for (const engine of ['shared', 'slirp4netns', 'pasta'] as const) {
    if (engine === 'shared' && !root) {
      engines.shared = { ok: false, detail: 'the shared router needs Ferry to run as root; each instance gets a stack of its own' };
      continue;
    }
    if (!chooseEngine(tools, engine, true)) {
      engines[engine] = engine === 'shared' ? missing('slirp4netns, ip or nsenter', 'slirp4netns iproute2 util-linux') : missing(engine, engine === 'pasta' ? 'passt' : 'slirp4netns');
      continue;
    }
    let shared: SharedEgress | undefined;
    try {
      if (!tools.ip) throw new Error("ip (package iproute2) is not installed, so the host's addresses cannot be read");
      const hosts = await readHostAddresses([tools.ip]);
      if (engine === 'shared') shared = new SharedEgress({ tools: routerTools(tools)!, asUser: (a) => [...asUser, ...a], egressAllow: [], hostAddresses: () => hosts, dnsAddress: SLIRP_DNS, stepMs: timeoutMs });
      const plan = networkPlan('egress', { hostAddresses: hosts, egressAllow: [], runDir: '/nonexistent', allowHostNetwork: false, engine, tools, ...(shared && { shared }), ...(probeUid === undefined ? {} : { uid: probeUid }) });
      if (!none.ok) throw new Error('bwrap does not work (see none)');
      const r = await run([...asUser, ...plan.prefix, tools.bwrap!, '--unshare-user', ...systemBindArgs(), '--', '/bin/true'], timeoutMs, plan.stack, asUser);
      // pasta copies the host's default route; slirp4netns has a network of its own.
      const noRoute = /No external routable interface/.test(r.stderr) ? 'pasta needs a default route on the host; slirp4netns works without one (apt-get install slirp4netns)' : undefined;
      const fix = r.code === 0 ? undefined : (tunFix() ?? noRoute);
      engines[engine] = r.code === 0 ? { ok: true, detail: plan.summary } : { ok: false, detail: `${engine} failed: ${r.stderr || `exit ${r.code}`}`, ...(fix ? { fix } : {}) };
    } catch (err) {
      engines[engine] = { ok: false, detail: (err as Error).message, ...(tools.nft ? {} : { fix: 'apt-get install nftables' }) };
    } finally {
      shared?.close();
    }
  }
  const engine = (['shared', 'slirp4netns', 'pasta'] as const).find((e) => engines[e].ok);
  const egress = engine
    ? { ...engines[engine], engine }
    : { ok: false, engine: undefined, detail: `no egress stack works: shared: ${engines.shared.detail}; slirp4netns: ${engines.slirp4netns.detail}; pasta: ${engines.pasta.detail}`, fix: engines.slirp4netns.fix ?? engines.pasta.fix ?? 'apt-get install slirp4netns nftables' };
  return { none, egress, engines, tools };
}
