import type { ChangeFeed, Store } from '../core/index.js';
import type { Catalog } from './catalog.js';

/**
 * Keeps the routing catalog in step with the store: loads it whole, then applies the store's
 * change feed, so what any process writes (this one included) reaches the catalog. Only the
 * catalog's update path goes through here; routing reads the catalog as before. A writer calls
 * `caughtUp()` after its write, so the change routes before the writer answers.
 */
export class CatalogFeed {
  /** Revision of the newest change applied to the catalog. */
  private applied = 0;
  private feed: ChangeFeed | undefined;
  private following: Promise<void> | undefined;
  private waiters: Array<{ revision: number; resolve: () => void }> = [];

  constructor(
    private readonly store: Store,
    private readonly catalog: Catalog,
    private readonly warn: (message: string, err: unknown) => void,
  ) {}

  /** Loads the catalog, then follows every change after what it loaded. */
  async start(): Promise<void> {
    // The revision first: a change made while the lists are read is applied again, harmlessly.
    const from = await this.store.revision();
    for (const fn of await this.store.listFunctions()) {
      this.catalog.putFunction(fn);
      for (const v of await this.store.listVersions(fn.name)) this.catalog.putVersion(v);
      for (const a of await this.store.listAliases(fn.name)) this.catalog.putAlias(a);
    }
    this.applied = from;
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
    this.feed?.close();
    await this.following;
  }

  private async follow(feed: ChangeFeed): Promise<void> {
    try {
      for await (const change of feed) {
        try {
          this.catalog.apply(change);
        } catch (err) {
          // One bad record (a runtime this server lacks) must not stop the others.
          this.warn(`could not route the change of '${change.function}' at revision ${change.revision}`, err);
        }
        this.applied = change.revision;
        this.release();
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
