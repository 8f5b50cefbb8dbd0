/**
 * Which worker a gateway sends a call to: one with a ready instance of the version if any (its
 * heartbeat lists it as warm), else the least loaded; load is the worker's last heartbeat plus
 * the calls this gateway sent it since. A worker that refused a connection sits out a while.
 */
import { Agent } from 'node:http';
import type { NodeDirectory, NodeRecord } from '../../core/nodes.js';

export interface KnownWorker {
  /** Its last heartbeat. */
  rec: NodeRecord;
  /** `http://host:port` of its cluster listener. */
  readonly address: URL;
  /** Calls this gateway has running on it now. */
  inFlight: number;
  /** Not chosen before this time (it refused a connection). */
  downUntil: number;
  /** Kept-alive connections to it. */
  readonly agent: Agent;
}

export interface WorkerChoiceOptions {
  directory: NodeDirectory;
  /** How often the directory is read again. */
  refreshMs: number;
  /** How long a worker that refused a connection is passed over. */
  downMs: number;
  warn(message: string, err: unknown): void;
}

export class WorkerChoice {
  private workers = new Map<string, KnownWorker>();
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private turn = 0;

  constructor(private readonly o: WorkerChoiceOptions) {}

  start(): void {
    const tick = (): void => {
      void this.refresh().finally(() => {
        if (this.timer !== undefined) this.timer = setTimeout(tick, this.o.refreshMs).unref();
      });
    };
    this.timer = setTimeout(tick, 0).unref();
  }

  /** Reads the directory again (one read at a time; callers share it). */
  refresh(): Promise<void> {
    this.refreshing ??= this.read().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** The live workers as last read. */
  known(): KnownWorker[] {
    return [...this.workers.values()];
  }

  /**
   * The worker for a call of `key` (`function@version`), none of `tried`; undefined when no live
   * worker is left. Counts the call against it (`done` gives it back).
   */
  choose(key: string, tried: ReadonlySet<string>, now = Date.now()): KnownWorker | undefined {
    let best: KnownWorker | undefined;
    let bestScore = Number.POSITIVE_INFINITY;
    const all = [...this.workers.values()];
    // Ties go round: equal workers share the calls.
    const start = this.turn++ % Math.max(all.length, 1);
    for (let i = 0; i < all.length; i++) {
      const w = all[(start + i) % all.length]!;
      if (tried.has(w.rec.id) || w.downUntil > now) continue;
      const load = (w.rec.load.inFlight + w.inFlight) / Math.max(1, w.rec.capacity.instances);
      // Warm first: a cold start costs more than any load difference.
      const score = (w.rec.warm.includes(key) ? 0 : 1_000_000) + load;
      if (score < bestScore) {
        best = w;
        bestScore = score;
      }
    }
    if (best) best.inFlight++;
    return best;
  }

  done(w: KnownWorker): void {
    w.inFlight = Math.max(0, w.inFlight - 1);
  }

  /** It refused a connection or was lost mid-call: passed over for a while. */
  down(w: KnownWorker, now = Date.now()): void {
    w.downUntil = now + this.o.downMs;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const w of this.workers.values()) w.agent.destroy();
    this.workers.clear();
  }

  private async read(): Promise<void> {
    let list: NodeRecord[];
    try {
      list = await this.o.directory.list();
    } catch (err) {
      // Keep what was known: a store hiccup must not stop every call.
      this.o.warn('could not read the node directory', err);
      return;
    }
    const next = new Map<string, KnownWorker>();
    for (const rec of list) {
      if (!rec.roles.includes('worker') || !rec.address) continue;
      let address: URL;
      try {
        address = new URL(rec.address);
      } catch {
        continue;
      }
      const old = this.workers.get(rec.id);
      if (old && old.rec.boot === rec.boot && old.address.href === address.href) {
        // The same object: calls running on it give their count back to it.
        old.rec = rec;
        next.set(rec.id, old);
        continue;
      }
      old?.agent.destroy();
      next.set(rec.id, { rec, address, inFlight: 0, downUntil: 0, agent: new Agent({ keepAlive: true, maxSockets: 1024, maxFreeSockets: 256, scheduling: 'lifo' }) });
    }
    for (const [id, w] of this.workers) if (!next.has(id)) w.agent.destroy();
    this.workers = next;
  }
}
