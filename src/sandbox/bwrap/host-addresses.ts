/**
 * The host's own addresses, as the kernel decides them: what the `egress` filter refuses.
 *
 * A user-mode stack (slirp4netns, pasta) turns an instance's connection into an ordinary socket
 * of the server's network namespace, so "the host" is every destination that namespace delivers
 * to itself: the `local` routes of its routing tables (one per address, kept while the address
 * exists, whether its link is up or down), whole local prefixes (127.0.0.0/8, an AnyIP
 * `local 10.9.0.0/24 dev lo`), and the `broadcast`, `anycast` and `multicast` routes beside them.
 * Listing interfaces instead (`os.networkInterfaces()`) skips every interface that is not
 * running, and an address on it answers all the same. Added: every address of every interface
 * (`ip addr`, for an address whose route is not there yet) and the default gateways (not the host,
 * but its network's infrastructure).
 *
 * `HostAddressWatch` keeps the list current: `ip monitor address route` reports each change, and
 * the list is read again. Whenever it cannot be read there is no list (`current()` throws): the
 * filters then refuse every address, and no `egress` instance starts.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { formatCidr, parseCidr } from './network-rules.js';

/** Route types whose destinations the kernel delivers to the host itself. */
const LOCAL_TYPES = new Set(['local', 'broadcast', 'anycast', 'multicast']);

interface Route {
  type?: string;
  dst?: string;
  gateway?: string;
  nexthops?: Array<{ gateway?: string }>;
}

/**
 * From `ip -j -4|-6 route show table all`: the destinations of every local route (all tables:
 * policy routing may consult any of them), and the gateways of every default route.
 */
export function routeBlocks(json: string, family: 4 | 6): string[] {
  const routes = JSON.parse(json) as Route[];
  if (!Array.isArray(routes)) throw new Error('ip route did not answer a list');
  const everything = family === 4 ? '0.0.0.0/0' : '::/0';
  const out: string[] = [];
  for (const r of routes) {
    const dst = r.dst === 'default' ? everything : r.dst;
    if (r.type && LOCAL_TYPES.has(r.type)) {
      if (!dst) throw new Error(`a ${r.type} route without a destination`);
      out.push(dst);
    }
    if (dst === everything) for (const gw of [r.gateway, ...(r.nexthops ?? []).map((h) => h.gateway)]) if (gw) out.push(gw);
  }
  return out;
}

/** From `ip -j addr show`: every address of every interface, whatever the state of its link. */
export function interfaceAddresses(json: string): string[] {
  const links = JSON.parse(json) as Array<{ addr_info?: Array<{ local?: string }> }>;
  if (!Array.isArray(links)) throw new Error('ip addr did not answer a list');
  return links.flatMap((l) => (l.addr_info ?? []).map((a) => a.local)).filter((a): a is string => !!a);
}

const ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };

function ipJson(ip: string[], args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(ip[0]!, [...ip.slice(1), '-j', ...args], { env: ENV, timeout: 10_000, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`ip ${args.join(' ')}: ${stderr.trim().split('\n').at(-1) || err.message}`));
      else resolve(stdout.trim() || '[]');
    });
  });
}

/**
 * The host's addresses and local blocks, canonical, sorted, without repeats. `ip`: the argv of
 * iproute2's `ip` (`['/usr/sbin/ip']`; tests add `-n <namespace>`). Throws when they cannot be
 * read: never a partial list.
 */
export async function readHostAddresses(ip: string[]): Promise<string[]> {
  const [v4, v6, addrs] = await Promise.all([
    ipJson(ip, ['-4', 'route', 'show', 'table', 'all']),
    ipJson(ip, ['-6', 'route', 'show', 'table', 'all']),
    ipJson(ip, ['addr', 'show']),
  ]);
  const all = [...routeBlocks(v4, 4), ...routeBlocks(v6, 6), ...interfaceAddresses(addrs)];
  return [...new Set(all.map((a) => formatCidr(parseCidr(a))))].sort();
}

/** Whether process `pid` has a netlink socket bound to multicast groups (`ip monitor` listens). */
function listening(pid: number): boolean {
  try {
    // sk Eth Pid Groups ...: the monitor's socket carries its pid as its port id.
    return readFileSync(`/proc/${pid}/net/netlink`, 'utf8')
      .split('\n')
      .some((line) => {
        const f = line.trim().split(/\s+/);
        return f[2] === String(pid) && /^[0-9a-f]+$/i.test(f[3] ?? '') && !/^0+$/.test(f[3]!);
      });
  } catch {
    return false;
  }
}

type Log = (level: 'info' | 'warn' | 'error', message: string) => void;

/** The host's addresses, kept current (see the top of this file). */
export class HostAddressWatch {
  private list: string[] | undefined;
  private failure = 'not read yet';
  private version = 0;
  private readonly listeners = new Set<() => void>();
  private monitor: ChildProcess | undefined;
  private started: Promise<void> | undefined;
  private reading: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private restart: NodeJS.Timeout | undefined;

  /**
   * `ip`: the argv of iproute2's `ip`. `dieWithServer`: argv in front of the monitor that ends it
   * with the server (`setpriv --pdeathsig KILL --`), so it never outlives a killed one.
   */
  constructor(
    private readonly ip: string[],
    private readonly log: Log = () => {},
    private readonly dieWithServer: string[] = [],
  ) {}

  /** Starts watching (on first use); resolves once the addresses were read, or failed to be. */
  ready(): Promise<void> {
    this.started ??= this.watch();
    return this.started;
  }

  /** The host's addresses now; throws when they are unknown (the caller must refuse). */
  current(): string[] {
    if (!this.list) throw new Error(`the host's addresses could not be read: ${this.failure}`);
    return this.list;
  }

  /** Counts the changes, so a user of `current()` can tell whether it is still current. */
  get generation(): number {
    return this.version;
  }

  /** Calls `listener` after each change (the addresses, or whether they are known); answers the unsubscribe. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.restart);
    this.monitor?.kill('SIGKILL');
    this.monitor = undefined;
  }

  private async watch(): Promise<void> {
    if (this.closed) return;
    // The monitor listens before the addresses are read: no change falls between the two.
    const argv = [...this.dieWithServer, ...this.ip, 'monitor', 'address', 'route'];
    // A process group of its own: a Ctrl-C at the server's terminal signals the server, which
    // stops it; it dies with the server either way (dieWithServer).
    const m = spawn(argv[0]!, argv.slice(1), { env: ENV, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.monitor = m;
    m.unref();
    for (const s of [m.stdout, m.stderr] as Socket[]) {
      s.unref();
      // Each event, and each error it reports (lost events: netlink overruns), means: read again.
      s.on('data', () => void this.refresh());
    }
    const stopped = new Promise<void>((resolve) => {
      m.once('error', () => resolve());
      m.once('exit', () => resolve());
    });
    void stopped.then(() => {
      if (this.closed || this.monitor !== m) return;
      this.monitor = undefined;
      this.set(undefined, 'the watch on them (ip monitor) stopped');
      this.restart = setTimeout(() => (this.started = this.watch()), 1000).unref();
    });
    for (let i = 0; i < 200 && m.pid && m.exitCode === null && !listening(m.pid); i++) await delay(10);
    await this.refresh();
  }

  /** Reads the addresses; a change reported meanwhile means one more read. */
  private refresh(): Promise<void> {
    if (this.reading) {
      this.again = true;
      return this.reading;
    }
    this.reading = (async () => {
      do {
        this.again = false;
        try {
          this.set(await readHostAddresses(this.ip));
        } catch (err) {
          this.set(undefined, (err as Error).message);
        }
      } while (this.again && !this.closed);
      this.reading = undefined;
    })();
    return this.reading;
  }

  private set(list: string[] | undefined, failure = ''): void {
    if (this.closed) return;
    if (list && this.list && list.join() === this.list.join()) return;
    if (!list && !this.list) {
      this.failure = failure;
      return;
    }
    if (!list) this.log('error', `the host's addresses could not be read (${failure}): egress instances reach no address, and none start, until they can`);
    else if (this.version > 0 && !this.list) this.log('info', "the host's addresses are read again; egress instances reach the network again");
    this.list = list;
    this.failure = failure;
    this.version++;
    for (const l of this.listeners) l();
  }
}
