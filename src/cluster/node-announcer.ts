/**
 * A node's heartbeat: every interval it writes what it is and what it runs into the node
 * directory (warm versions, load, its instances and pre-booted pool), and on a clean stop it
 * leaves at once instead of waiting to expire.
 */
import type { InstancePool, NodeDirectory, NodeRecord, NodeRole } from '../core/index.js';

export interface NodeAnnouncerOptions {
  directory: NodeDirectory;
  identity: { node: string; boot: string };
  roles: NodeRole[];
  /** Where gateways reach this worker's cluster listener (workers only). */
  address?: string;
  release: string;
  /** The deploy folder this gateway would watch; the live gateway with the lowest id does. */
  deployDir?: string;
  capacity: NodeRecord['capacity'];
  /** The node's own pool (workers): what it runs. */
  pool?: InstancePool;
  /** Async executions this node holds now. */
  executions?(): number;
  intervalMs: number;
  warn(message: string, err: unknown): void;
}

export class NodeAnnouncer {
  private timer: NodeJS.Timeout | undefined;
  private readonly startedAt = Date.now();
  private last: Promise<void> = Promise.resolve();

  constructor(private readonly o: NodeAnnouncerOptions) {}

  /** Announces at once (resolves when the first heartbeat is written), then every interval. */
  async start(): Promise<void> {
    await this.beat();
    const tick = (): void => {
      this.last = this.beat().catch((err) => this.o.warn('could not write this node\'s heartbeat', err));
      void this.last.finally(() => {
        if (this.timer !== undefined) this.timer = setTimeout(tick, this.o.intervalMs).unref();
      });
    };
    this.timer = setTimeout(tick, this.o.intervalMs).unref();
  }

  /** This node's record as it would be written now. */
  record(): NodeRecord {
    const instances = this.o.pool?.list() ?? [];
    const warm = new Set<string>();
    let inFlight = 0;
    for (const i of instances) {
      inFlight += i.inFlight;
      if (i.state === 'ready') warm.add(`${i.function}@${i.version}`);
    }
    return {
      id: this.o.identity.node,
      boot: this.o.identity.boot,
      roles: this.o.roles,
      ...(this.o.address ? { address: this.o.address } : {}),
      release: this.o.release,
      ...(this.o.deployDir ? { deployDir: this.o.deployDir } : {}),
      startedAt: this.startedAt,
      at: Date.now(),
      load: { inFlight, instances: instances.length, executions: this.o.executions?.() ?? 0 },
      capacity: this.o.capacity,
      warm: [...warm],
      ...(this.o.pool ? { instances, pool: this.o.pool.poolStatus() } : {}),
    };
  }

  private async beat(): Promise<void> {
    const rec = this.record();
    // Each instance's memory, read now: a gateway's instance list shows it.
    if (rec.instances && this.o.pool) {
      const pool = this.o.pool;
      rec.instances = await Promise.all(rec.instances.map(async (i) => {
        const bytes = await pool.memoryOf(i.id).catch(() => undefined);
        return bytes === undefined ? i : { ...i, memoryBytes: bytes };
      }));
    }
    await this.o.directory.announce(rec);
  }

  /** Stops the heartbeat and leaves the directory. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.last.catch(() => {});
    await this.o.directory.leave(this.o.identity.node).catch((err) => this.o.warn('could not leave the node directory', err));
  }
}
