import type { ChangeFeed, Store } from '../core/index.js';
import type { Catalog } from './catalog.js';

/**
 * Keeps the routing catalog in step with the store: loads it whole, then applies the store's
 * change feed, so what any process writes (this one included) reaches the catalog. Only the
 * catalog's update path goes through here; routing reads the catalog as before. A writer calls
 * `caughtUp()` after its write, so the change routes before the writer answers. A feed that fell
 * behind what the store keeps says so (a resync): the catalog is then loaded whole again.
 */
export class CatalogFeed {
  /** Revision of the newest change applied to the catalog. */
  private applied = 0;
  private feed: ChangeFeed | undefined;
  private following: Promise<void> | undefined;
  private waiters: Array<{ revision: number; resolve: () => void }> = [];
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly catalog: Catalog,
    private readonly warn: (message: string, err: unknown) => void,
  ) {}

  /** Loads the catalog, then follows every change after what it loaded. */
  async start(): Promise<void> {
    const from = await this.loadWhole();
    this.feed = this.store.watch(from);
    this.following = this.follow(this.feed);
  }

  /** Resolves once every change the store holds now is in the catalog. */
  async caughtUp(): Promise<void> {
    const head = await this.store.revision();
    if (this.applied >= head || !this.feed) return;
    await new Promise<void>((resolve) => this.waiters.push({ revision: head, resolve }));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.feed?.close();
    await this.following;
  }

  /**
   * Reads every function, version and alias into a fresh catalog and puts it in place in one
   * step (routing never sees half of it); answers the revision it was read at.
   */
  private async loadWhole(): Promise<number> {
    // The revision first: a change made while the lists are read is applied again, harmlessly.
    const from = await this.store.revision();
    const fresh = this.catalog.emptyCopy();
    for (const fn of await this.store.listFunctions()) {
      fresh.putFunction(fn);
      for (const v of await this.store.listVersions(fn.name)) fresh.putVersion(v);
      for (const a of await this.store.listAliases(fn.name)) fresh.putAlias(a);
    }
    this.catalog.replaceWith(fresh);
    this.applied = from;
    return from;
  }

  /** Applies each feed's changes; after a resync (the store pruned what this one missed), reloads whole and follows a new feed. */
  private async follow(first: ChangeFeed): Promise<void> {
    try {
      for (let feed: ChangeFeed | undefined = first; feed && !this.closed; ) {
        let resync: number | undefined;
        for await (const change of feed) {
          if (change.kind === 'resync') {
            resync = change.revision;
            break;
          }
          try {
            this.catalog.apply(change);
          } catch (err) {
            // One bad record (a runtime this server lacks) must not stop the others.
            this.warn(`could not route the change of '${change.function}' at revision ${change.revision}`, err);
          }
          this.applied = change.revision;
          this.release();
        }
        feed = undefined;
        if (resync === undefined || this.closed) break;
        this.warn(`the store no longer has the changes up to revision ${resync} that this catalog missed: loading it whole`, undefined);
        const from = await this.loadWhole();
        this.release();
        if (!this.closed) feed = this.feed = this.store.watch(from);
      }
    } catch (err) {
      this.warn('the change feed stopped', err);
    } finally {
      this.feed = undefined;
      this.release(Infinity);
    }
  }

  private release(upTo = this.applied): void {
    if (this.waiters.length === 0) return;
    const still: typeof this.waiters = [];
    for (const w of this.waiters) (w.revision <= upTo ? w.resolve() : still.push(w));
    this.waiters = still;
  }
}
