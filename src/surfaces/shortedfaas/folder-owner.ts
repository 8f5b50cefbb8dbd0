import type { NodeRecord } from '../../core/index.js';
import type { Logger } from '../../observe/index.js';

/** How often a gateway looks whether it owns the deploy folder. */
const lookMs = 1000;

/**
 * Which gateway of a cluster watches a deploy folder: of the live gateways that announce the
 * same folder (its absolute path) in their heartbeat, the one with the lowest node id. This node
 * counts even before its first heartbeat is read back.
 */
export function folderOwner(nodes: NodeRecord[], self: string, dir: string): string {
  const ids = nodes.filter((n) => n.id !== self && n.roles.includes('gateway') && n.deployDir === dir).map((n) => n.id);
  return [self, ...ids].sort()[0]!;
}

/**
 * Watches `folder` while this node owns it: looks at the node directory every second, starts the
 * watch when it becomes the owner (the owner's heartbeat expired, or it is the first) and stops
 * it when a lower id joins. Two gateways may both watch for up to a heartbeat while one joins;
 * the fingerprints make that harmless (an unchanged folder is not deployed again).
 */
export class OwnedFolder {
  private timer: NodeJS.Timeout | undefined;
  private watching = false;
  private stopped = false;

  constructor(
    private readonly folder: { start(): Promise<void>; stop(): void },
    private readonly o: { nodes(): Promise<NodeRecord[]>; self: string; dir: string; log: Logger },
  ) {}

  start(): void {
    void this.look();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.watching) this.folder.stop();
  }

  private async look(): Promise<void> {
    try {
      const owner = folderOwner(await this.o.nodes(), this.o.self, this.o.dir);
      if (this.stopped) return;
      if (owner === this.o.self && !this.watching) {
        this.watching = true;
        this.o.log.info({ deployDir: this.o.dir }, 'shortedfaas: this gateway watches the deploy folder');
        await this.folder.start();
      } else if (owner !== this.o.self && this.watching) {
        this.watching = false;
        this.folder.stop();
        this.o.log.info({ deployDir: this.o.dir, owner }, `shortedfaas: gateway ${owner} watches the deploy folder now`);
      }
    } catch (err) {
      this.o.log.warn({ err }, 'shortedfaas: the node directory cannot be read; the deploy folder stays as it was');
    }
    if (!this.stopped) this.timer = setTimeout(() => void this.look(), lookMs).unref();
  }
}
