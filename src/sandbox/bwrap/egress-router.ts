/**
 * The shared egress router: one user-mode network stack for every `egress` instance of a server,
 * where a stack per instance would cost more than the instance (slirp4netns is ~3 MB resident;
 * a Python hello handler ~23 MB). Needs Ferry to run as root (the pool's condition too).
 *
 *   instance netns          router netns (one)                     host
 *   eth0 198.18.x.y/32 ──veth── fvN ─ nftables (filter, NAT) ─ tap0 ── slirp4netns ── sockets
 *
 * - The router's namespace belongs to a user namespace of the sandbox user, held open by a shell
 *   that waits on a pipe from the server: the kernel closes the pipe when the server dies, the
 *   shell leaves and the namespace goes with it. slirp4netns attaches to it as the sandbox user,
 *   as the per-instance stack does (it parses the instances' packets: never as root).
 * - The server (root) loads the filter there (`routerRules`): an instance's link may only forward
 *   to tap0, never to another instance or to the router; the host's addresses, link-local and
 *   private ranges are refused as under a per-instance stack, and each instance may have at most
 *   `ROUTER_CONNECTIONS_PER_INSTANCE` connections open.
 * - Per instance, the server moves one end of a veth pair into the instance's namespace and
 *   configures both ends (`connect`): kernel objects, no process per instance. The pair goes when
 *   the instance's namespace goes.
 * Instances cannot change any of it: they hold no capability over their own namespace (see
 * network.ts), and the router's namespace is in no instance's reach.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { FerryError } from '../../errors/index.js';
import { EVERY_ADDRESS, hostSetUpdate, ROUTER_GATEWAY, routerRules } from './network-rules.js';
import { slirpArgv, STACK_FD, type AttachedStack } from './slirp.js';
import { childNetnsPath, NetnsHandle } from './netns-handle.js';
import type { SharedEgress } from './shared-egress.js';
import { exec, firstLine, killGroup, ready, ROUTER_ENV } from './router-processes.js';

export interface RouterTools {
  unshare: string;
  sh: string;
  slirp4netns: string;
  nft: string;
  ip: string;
  nsenter: string;
}

export interface RouterOptions {
  tools: RouterTools;
  /** argv that runs `argv` as the sandbox user (the driver's helper: uid dropped, `cgroups` joined). */
  asUser(argv: string[], cgroups: string[]): string[];
  /** The router's own cgroup (its limits: a flood through it must not take the host's memory). */
  cgroup?(): Promise<{ dirs: string[]; remove(): Promise<void> }>;
  /** The operator's `--egress-allow` list. */
  egressAllow: string[];
  /** The host's addresses and gateways now (see host-addresses.ts); throws when unknown. */
  hostAddresses(): string[];
  /** Calls `onChange` when the host's addresses change; answers the unsubscribe. */
  watchHosts?(onChange: () => void): () => void;
  /** slirp4netns' DNS forwarder, which the filter lets UDP port 53 reach. */
  dnsAddress: string;
  /** argv in front of the router's processes (tests: a mount namespace with its own resolv.conf). */
  outer?: string[];
  /** How long each start step may take. */
  stepMs?: number;
}

/** Link numbers: 198.18.0.0/15 holds 131,072 addresses; 0 and 1 (the gateway) are not used. */
const FIRST_LINK = 2;
const LAST_LINK = 131_071;
/** A link number is reused only this long after its instance ended (netns teardown is async). */
const REUSE_AFTER_MS = 10_000;

/** The address of link `n`: 198.18.0.2 ... 198.19.255.255. */
export function linkAddress(n: number): string {
  return `198.${18 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
}

export class EgressRouter {
  private readonly used = new Set<number>();
  private next = FIRST_LINK;
  private loadedHosts: string;
  private hostUpdate: Promise<void> = Promise.resolve();
  private exitReason: string | undefined;
  private readonly exitListeners: Array<(why: string) => void> = [];
  private readonly unwatch: (() => void) | undefined;

  private constructor(
    private readonly opts: RouterOptions,
    private readonly holder: ChildProcess,
    private readonly slirp: ChildProcess,
    /** The router's namespace (the holder's pid is never used again: it may be reused). */
    private readonly netns: NetnsHandle,
    hosts: string,
    private readonly cgroup: { remove(): Promise<void> } | undefined,
  ) {
    this.loadedHosts = hosts;
    const ended = (what: string) => (code: number | null, sig: NodeJS.Signals | null) => this.end(`${what} exited (${sig ?? `exit code ${code}`})`);
    holder.once('exit', ended('its namespace holder'));
    slirp.once('exit', ended('slirp4netns'));
    // The filter follows the host's addresses, for running instances too; a change since they
    // were read for the ruleset is caught by the first refresh.
    const refresh = (): void => void this.refreshHosts().catch(() => {});
    this.unwatch = opts.watchHosts?.(refresh);
    refresh();
  }

  /** Starts the router: namespace, slirp4netns on it, forwarding and the filter. */
  static async start(opts: RouterOptions): Promise<EgressRouter> {
    const stepMs = opts.stepMs ?? 10_000;
    const { tools } = opts;
    const outer = opts.outer ?? [];
    let cgroup: { dirs: string[]; remove(): Promise<void> } | undefined;
    try {
      cgroup = await opts.cgroup?.();
    } catch (err) {
      throw new FerryError('instance-start-failed', `network 'egress' cannot be set up: the shared router's cgroup: ${(err as Error).message}`);
    }
    const dirs = cgroup?.dirs ?? [];
    // The namespace holder reports its pid and waits for end-of-file from the server.
    const holderArgv = [...outer, ...opts.asUser([tools.unshare, '--user', '--map-root-user', '--net', '--', tools.sh, '-c', 'echo $$; read -r _', 'ferry-egress-router'], dirs)];
    const holder = spawn(holderArgv[0]!, holderArgv.slice(1), { env: ROUTER_ENV, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    let slirp: ChildProcess | undefined;
    let netns: NetnsHandle | undefined;
    const fail = (why: string): never => {
      netns?.close();
      killGroup(holder);
      killGroup(slirp);
      void cgroup?.remove().catch(() => {});
      throw new FerryError('instance-start-failed', `network 'egress' cannot be set up: the shared router ${why} (see \`ferry doctor\`)`);
    };
    try {
      const pid = await firstLine(holder, stepMs, 'namespace');
      if (!/^[1-9]\d*$/.test(pid)) fail(`namespace reported no pid (${pid})`);
      // The holder waits on our pipe, so the pid is its own while it is opened here.
      if (holder.exitCode !== null || holder.signalCode !== null) fail('namespace holder ended at once');
      netns = NetnsHandle.open(Number(pid));
      // tap0 10.0.2.100/24, gateway 10.0.2.2, DNS forwarder 10.0.2.3, in the router's namespace.
      const argv = [...outer, ...opts.asUser(slirpArgv(tools.slirp4netns, pid), dirs)];
      slirp = spawn(argv[0]!, argv.slice(1), { env: ROUTER_ENV, detached: true, stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
      await ready(slirp, stepMs);
      const hosts = hostKey(opts.hostAddresses());
      // Forwarding is per namespace: the host's own settings are untouched. Strict reverse-path
      // filtering: a packet from an instance's link must carry that instance's address (one
      // instance cannot pass itself off as another, nor dodge its connection count).
      const sysctls = 'echo 1 > /proc/sys/net/ipv4/conf/all/rp_filter && echo 1 > /proc/sys/net/ipv4/conf/default/rp_filter && echo 1 > /proc/sys/net/ipv4/ip_forward';
      await exec('loading the filter (nft)', [tools.nsenter, `--net=${childNetnsPath(0)}`, '--', tools.sh, '-c', `${sysctls} && exec "$0" -f -`, tools.nft], routerRules(hosts ? hosts.split(',') : [], opts.egressAllow, opts.dnsAddress), stepMs, [netns]);
      for (const p of [holder, slirp]) {
        p.unref();
        for (const s of p.stdio) (s as Socket | null)?.unref?.();
      }
      return new EgressRouter(opts, holder, slirp, netns, hosts, cgroup);
    } catch (err) {
      if (err instanceof FerryError) throw err;
      return fail(`could not start: ${(err as Error).message}`);
    }
  }

  /** The processes of the router (its namespace holder and slirp4netns). */
  pids(): number[] {
    return [this.holder.pid, this.slirp.pid].filter((p): p is number => p !== undefined);
  }

  /** Why the router stopped (undefined: it runs). */
  get ended(): string | undefined {
    return this.exitReason;
  }

  onExit(listener: (why: string) => void): void {
    this.exitListeners.push(listener);
  }

  /**
   * Links the network namespace `instance` to the router: a veth pair, the instance's end named
   * eth0 with its own address and the router as its default route. Answers a release to call
   * once the instance is gone.
   */
  async connect(instance: NetnsHandle, relink = false): Promise<() => void> {
    if (this.exitReason) throw new Error(`the shared router is gone: ${this.exitReason}`);
    await this.refreshHosts();
    const stepMs = this.opts.stepMs ?? 10_000;
    // The link of a router that died may still be being torn down.
    if (relink) await exec('removing the old link', this.nsIp(), 'link del eth0\n', stepMs, [instance]).catch(() => {});
    const n = this.allocate();
    try {
      const addr = linkAddress(n);
      const link = `fv${n}`;
      // fd 3: the router's namespace, where ip runs; fd 4: the instance's, where eth0 goes.
      await exec("linking the instance (ip, router's side)", this.nsIp(), [
        `link add ${link} mtu 65520 type veth peer name eth0 mtu 65520 netns ${childNetnsPath(1)}`,
        // No IPv6 link-local addresses: the router forwards IPv4 only.
        `link set ${link} addrgenmode none`,
        `addr add ${ROUTER_GATEWAY}/32 dev ${link}`,
        `link set ${link} up`,
        `route add ${addr}/32 dev ${link}`,
        '',
      ].join('\n'), stepMs, [this.netns, instance]);
      await exec("configuring the instance's link (ip)", this.nsIp(), [
        'link set lo up',
        'link set eth0 addrgenmode none',
        `addr add ${addr}/32 dev eth0`,
        'link set eth0 up',
        `route add ${ROUTER_GATEWAY}/32 dev eth0`,
        `route add default via ${ROUTER_GATEWAY} dev eth0`,
        '',
      ].join('\n'), stepMs, [instance]);
    } catch (err) {
      this.release(n);
      throw err;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.release(n);
    };
  }

  /** Stops the router; instances still linked lose their outbound network. */
  close(): void {
    this.end('closed');
    (this.holder.stdin as Socket | null)?.destroy();
    (this.slirp.stdio[4] as Socket | null)?.destroy();
    const procs = [this.holder, this.slirp];
    setTimeout(() => procs.forEach(killGroup), 1000).unref();
  }

  /** An `AttachedStack` that links each instance's namespace to the shared router. */
  static stack(shared: SharedEgress): AttachedStack {
    return {
      fd: STACK_FD,
      attach(child) {
        const control = (child.stdio as unknown as Array<Socket | null | undefined>)[STACK_FD];
        if (!control) return;
        control.on('error', () => {});
        let release: (() => void) | undefined;
        let ended = false;
        let text = '';
        let asked = false;
        const answer = (line: string): void => {
          if (!ended) control.end(`${line.replace(/\s+/g, ' ').trim().slice(0, 300) || 'failed'}\n`);
        };
        child.once('exit', () => {
          ended = true;
          control.destroy();
          release?.();
        });
        control.setEncoding('utf8');
        control.on('data', (chunk: string) => {
          if (asked || ended) return;
          text += chunk;
          const nl = text.indexOf('\n');
          if (nl < 0) return;
          asked = true;
          const pid = Number(text.slice(0, nl));
          if (!Number.isInteger(pid) || pid <= 0) return answer('the namespace reported no pid');
          shared.link(pid).then(
              (rel) => {
                if (ended) return rel();
                release = rel;
                answer('1');
              },
              (err: Error) => answer(err.message),
            );
        });
      },
    };
  }

  /** `ip -b -` in the namespace passed as descriptor 3. */
  private nsIp(): string[] {
    return [this.opts.tools.nsenter, `--net=${childNetnsPath(0)}`, '--', this.opts.tools.ip, '-b', '-'];
  }

  private allocate(): number {
    for (let tries = 0; tries <= LAST_LINK; tries++) {
      const n = this.next;
      this.next = n >= LAST_LINK ? FIRST_LINK : n + 1;
      if (!this.used.has(n)) {
        this.used.add(n);
        return n;
      }
    }
    throw new Error('every link address of the shared router is in use');
  }

  private release(n: number): void {
    setTimeout(() => this.used.delete(n), REUSE_AFTER_MS).unref();
  }

  /**
   * Replaces the filter's host set when the host's addresses changed since it was loaded. Unknown
   * addresses: every address is refused, and the refresh rejects (no instance is linked). A set
   * that cannot be replaced stops the router: a new one starts with the current addresses.
   */
  private refreshHosts(): Promise<void> {
    this.hostUpdate = this.hostUpdate.catch(() => {}).then(async () => {
      if (this.exitReason) return;
      let unknown: Error | undefined;
      let hosts: string;
      try {
        hosts = hostKey(this.opts.hostAddresses());
      } catch (err) {
        unknown = err as Error;
        hosts = hostKey(EVERY_ADDRESS);
      }
      if (hosts !== this.loadedHosts) {
        try {
          await exec("updating the host's addresses in the filter (nft)", [this.opts.tools.nsenter, `--net=${childNetnsPath(0)}`, '--', this.opts.tools.nft, '-f', '-'], hostSetUpdate('ip', hosts ? hosts.split(',') : []), this.opts.stepMs ?? 10_000, [this.netns]);
        } catch (err) {
          this.end((err as Error).message);
          throw err;
        }
        this.loadedHosts = hosts;
      }
      if (unknown) throw unknown;
    });
    return this.hostUpdate;
  }

  private end(why: string): void {
    if (this.exitReason) return;
    this.exitReason = why;
    this.unwatch?.();
    // After the updates queued before the end (they use the descriptor).
    void this.hostUpdate.catch(() => {}).then(() => this.netns.close());
    killGroup(this.holder);
    killGroup(this.slirp);
    void this.cgroup?.remove().catch(() => {});
    for (const l of this.exitListeners) l(why);
  }
}

/** The host's addresses as a stable key (sorted, comma-joined). */
function hostKey(addresses: string[]): string {
  return [...new Set(addresses)].sort().join(',');
}
