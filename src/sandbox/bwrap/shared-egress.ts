import { FerryError } from '../../errors/index.js';
import { EgressRouter, type RouterOptions } from './egress-router.js';
import { NetnsHandle } from './netns-handle.js';

/** An instance's namespace linked to the router, and the release of its current link. */
interface LinkedInstance {
  netns: NetnsHandle;
  router?: EgressRouter;
  release?: () => void;
}

/**
 * The shared router of a server: started on the first `egress` instance (a server without one
 * never runs it), and started again at once should it stop, every instance still running then
 * linked to the new one (their open connections are lost; their network comes back).
 */
export class SharedEgress {
  private current: Promise<EgressRouter> | undefined;
  private live: EgressRouter | undefined;
  private closed = false;
  /** Every linked instance's namespace, with the release of its current link. */
  private readonly linked = new Set<LinkedInstance>();

  constructor(
    private readonly opts: RouterOptions,
    private readonly log: (level: 'info' | 'warn' | 'error', message: string) => void = () => {},
  ) {}

  /** The running router (started when there is none). */
  router(): Promise<EgressRouter> {
    if (this.closed) return Promise.reject(new FerryError('instance-start-failed', 'the server is shutting down'));
    this.current ??= EgressRouter.start(this.opts).then(
      (r) => {
        this.live = r;
        this.log('info', `shared egress router started (slirp4netns pid ${r.pids()[1]})`);
        r.onExit((why) => this.lost(r, why));
        void this.relink(r);
        return r;
      },
      (err: unknown) => {
        this.current = undefined;
        throw err;
      },
    );
    return this.current;
  }

  /**
   * Links the namespace of live process `pid` (opened at once: the pid is not used again);
   * answers the release to call when it is gone.
   */
  async link(pid: number): Promise<() => void> {
    const entry: LinkedInstance = { netns: NetnsHandle.open(pid) };
    this.linked.add(entry);
    let unlinked = false;
    const unlink = (): void => {
      if (unlinked) return;
      unlinked = true;
      this.linked.delete(entry);
      entry.release?.();
      entry.netns.close();
    };
    for (let attempt = 1; ; attempt++) {
      let r: EgressRouter | undefined;
      try {
        r = await this.router();
        if (entry.router !== r) {
          entry.release = await r.connect(entry.netns);
          entry.router = r;
          if (unlinked) entry.release(); // the instance ended while it was being linked
        }
        return unlink;
      } catch (err) {
        // The router stopped under this link: once more, with the one that replaces it.
        if (attempt === 1 && r?.ended && !this.closed) continue;
        unlink();
        throw err;
      }
    }
  }

  close(): void {
    this.closed = true;
    void this.current?.then((r) => r.close(), () => {});
  }

  private lost(r: EgressRouter, why: string): void {
    if (this.closed) return;
    if (this.live === r) {
      this.live = undefined;
      this.current = undefined;
    }
    this.log('warn', `the shared egress router stopped (${why}); ${this.linked.size} instances lose outbound network until a new one is linked`);
    if (this.linked.size > 0) this.router().catch((err: Error) => this.log('error', `the shared egress router could not be started again: ${err.message}`));
  }

  /** Links every instance not linked to `r` (they were linked to a router that stopped). */
  private async relink(r: EgressRouter): Promise<void> {
    let n = 0;
    for (const entry of this.linked) {
      if (!entry.router || entry.router === r) continue;
      entry.release?.();
      try {
        entry.release = await r.connect(entry.netns, true);
        entry.router = r;
        if (!this.linked.has(entry)) entry.release(); // it ended meanwhile
        n++;
      } catch (err) {
        // Its namespace is gone (the instance ended meanwhile), or the new router failed too.
        this.log('warn', `an instance's namespace could not be linked to the new egress router: ${(err as Error).message}`);
      }
    }
    if (n) this.log('info', `linked ${n} running instances to the new shared egress router`);
  }
}
