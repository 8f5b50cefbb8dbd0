/**
 * Group commit: items added during one turn of the event loop are written by one call of
 * `write` (one transaction), and each caller's promise settles only after that write. Under load
 * a turn collects every request parsed in one poll phase, so the cost of a commit is shared.
 */
export class GroupCommit<T, R> {
  private pending: Array<{ item: T; resolve: (r: R) => void; reject: (e: unknown) => void }> = [];
  private scheduled = false;

  constructor(
    private readonly write: (items: T[]) => Promise<R[]>,
    private readonly maxBatch = 2000,
  ) {}

  /** Items waiting for the next write. */
  get size(): number {
    return this.pending.length;
  }

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.pending.length >= this.maxBatch) void this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  /** Writes what is pending now; resolves once that write has settled (never rejects: its callers are told). */
  flush(): Promise<void> {
    this.scheduled = false;
    if (this.pending.length === 0) return Promise.resolve();
    const batch = this.pending;
    this.pending = [];
    return this.write(batch.map((b) => b.item)).then(
      (results) => batch.forEach((b, i) => b.resolve(results[i]!)),
      (err: unknown) => batch.forEach((b) => b.reject(err)),
    );
  }
}
