/**
 * Keeps the egress filter of each per-instance stack (slirp4netns, pasta) current. The filter is
 * loaded in the instance's own network namespace as it starts, with the host's addresses of that
 * moment; when they change (`HostAddressWatch`), the server replaces the host sets in the
 * namespace of every running instance (`nsenter --net nft -f`), as the shared router does in its
 * own (egress-router.ts).
 *
 * The namespace is the one of the first process of the instance's tree that is not in the
 * server's: the instance's first process itself under slirp4netns (unshare execs in place), the
 * child of pasta under pasta. An update made before the instance loaded its filter is tried again
 * until it applies; an instance whose filter cannot be brought up to date within `stepMs` is
 * stopped: it does not run on with the host's old addresses.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { EVERY_ADDRESS, hostSetUpdate } from './network-rules.js';
import type { HostAddressWatch } from './host-addresses.js';

interface Tracked {
  child: ChildProcess;
  busy: boolean;
  again: boolean;
}

export interface InstanceFilterOptions {
  nsenter: string;
  nft: string;
  hosts: HostAddressWatch;
  log?(level: 'info' | 'warn' | 'error', message: string): void;
  /** How long an update may keep failing before the instance is stopped. */
  stepMs?: number;
}

const ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
const RETRY_MS = 100;

export class InstanceFilters {
  private readonly running = new Map<ChildProcess, Tracked>();
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly opts: InstanceFilterOptions) {}

  /**
   * Keeps the filter of the instance whose first process is `child` current, from now until it
   * exits. `generation`: the `HostAddressWatch` generation its filter was built from.
   */
  track(child: ChildProcess, generation: number): void {
    if (!child.pid || child.exitCode !== null || child.signalCode !== null) return;
    const entry: Tracked = { child, busy: false, again: false };
    this.running.set(child, entry);
    child.once('exit', () => this.running.delete(child));
    this.unsubscribe ??= this.opts.hosts.onChange(() => {
      for (const e of this.running.values()) this.update(e);
    });
    // The addresses changed between the plan and now.
    if (this.opts.hosts.generation !== generation) this.update(entry);
  }

  /** Stops following changes (the server is closing). */
  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.running.clear();
  }

  /** One update at a time per instance; a change meanwhile means one more. */
  private update(e: Tracked): void {
    if (e.busy) {
      e.again = true;
      return;
    }
    e.busy = true;
    void this.apply(e).finally(() => {
      e.busy = false;
      if (!e.again) return;
      e.again = false;
      this.update(e);
    });
  }

  private async apply(e: Tracked): Promise<void> {
    const deadline = Date.now() + (this.opts.stepMs ?? 10_000);
    for (;;) {
      if (this.running.get(e.child) !== e) return;
      let hosts: string[];
      try {
        hosts = this.opts.hosts.current();
      } catch {
        hosts = EVERY_ADDRESS; // unknown: refuse every address
      }
      const ns = namespaceOf(e.child.pid!);
      const why = ns === undefined ? 'its network namespace is not there yet' : await this.load(ns, hostSetUpdate('inet', hosts));
      if (why === undefined) return;
      if (this.running.get(e.child) !== e) return;
      if (Date.now() > deadline) {
        this.opts.log?.('error', `the egress filter of instance process ${e.child.pid} could not be given the host's new addresses (${why}); stopping the instance`);
        try {
          process.kill(-e.child.pid!, 'SIGKILL');
        } catch {
          /* gone */
        }
        return;
      }
      await delay(RETRY_MS); // its filter may not be loaded yet
    }
  }

  /** Runs nft in the network namespace of process `pid`; answers why it failed, if it did. */
  private load(pid: number, input: string): Promise<string | undefined> {
    // As another user than root, the namespace belongs to a user namespace of the server's uid.
    const user = process.getuid?.() === 0 ? [] : [`--user=/proc/${pid}/ns/user`, '--preserve-credentials'];
    return new Promise((resolve) => {
      const p = spawn(this.opts.nsenter, [...user, `--net=/proc/${pid}/ns/net`, '--', this.opts.nft, '-f', '-'], { env: ENV, stdio: ['pipe', 'ignore', 'pipe'] });
      let stderr = '';
      p.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      p.on('error', (err) => resolve(err.message));
      p.on('close', (code) => resolve(code === 0 ? undefined : stderr.trim().split('\n').at(-1) || `nft exited with ${code}`));
      p.stdin!.on('error', () => {});
      p.stdin!.end(input);
    });
  }
}

/** The first process of the tree under `root` that is in another network namespace than this one. */
export function namespaceOf(root: number): number | undefined {
  const own = netns('self');
  let children: Map<number, number[]> | undefined;
  const queue = [root];
  for (let seen = 0; queue.length && seen < 64; seen++) {
    const pid = queue.shift()!;
    const ns = netns(String(pid));
    if (ns === undefined) continue;
    if (ns !== own) return pid;
    children ??= childrenByParent();
    queue.push(...(children.get(pid) ?? []));
  }
  return undefined;
}

function netns(pid: string): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

/** Every process's children, from /proc/<pid>/stat (the kernel here may lack .../children). */
function childrenByParent(): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = out.get(ppid) ?? [];
      list.push(Number(name));
      out.set(ppid, list);
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}
