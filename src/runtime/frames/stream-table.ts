/**
 * The calls open on one frame connection, by stream id: an array slot per call, indexed by the
 * id's low bits, cleared when the call ends.
 *
 * Why not a `Map`: stream ids only grow, so a Map of open calls keeps rehashing into a new table,
 * and the table it leaves still holds the calls that were open then. Once the collector has
 * moved such a table to the old generation, it is garbage nobody collects until the next full
 * collection, and every call in it, with its request and response, is kept alive and promoted
 * too. Under load a fifth of each call's objects went that way and the young-generation
 * collections that copied them were the gateway's largest single cost (docs/performance.md).
 * A slot is overwritten in place, so no stale reference survives a call.
 */
export class StreamTable<T> {
  private ids: Int32Array;
  private values: Array<T | undefined>;
  private mask: number;
  private count = 0;
  /** Ids whose slot was taken when they arrived (the peer numbers streams its own way): rare. */
  private overflow: Map<number, T> | undefined;
  private next = 1;

  constructor(capacity = 64) {
    this.ids = new Int32Array(capacity);
    this.values = new Array<T | undefined>(capacity).fill(undefined);
    this.mask = capacity - 1;
  }

  get size(): number {
    return this.count + (this.overflow?.size ?? 0);
  }

  get(id: number): T | undefined {
    const i = id & this.mask;
    if (this.ids[i] === id && this.values[i] !== undefined) return this.values[i];
    return this.overflow?.get(id);
  }

  /**
   * A new stream id, increasing (a late frame of an ended call never reaches a newer one) and
   * wrapping before 2^31, whose slot is free.
   */
  newId(): number {
    if (this.count * 2 >= this.values.length) this.grow();
    for (;;) {
      const id = this.next;
      this.next = id >= 0x7fffffff ? 1 : id + 1;
      if (this.values[id & this.mask] === undefined && !this.overflow?.has(id)) return id;
    }
  }

  set(id: number, value: T): void {
    if (this.overflow?.has(id)) {
      this.overflow.set(id, value);
      return;
    }
    if (this.count * 2 >= this.values.length) this.grow();
    const i = id & this.mask;
    if (this.values[i] === undefined) {
      this.ids[i] = id;
      this.values[i] = value;
      this.count++;
    } else if (this.ids[i] === id) {
      this.values[i] = value;
    } else {
      (this.overflow ??= new Map()).set(id, value);
    }
  }

  /** Whether `id` was open. */
  delete(id: number): boolean {
    const i = id & this.mask;
    if (this.ids[i] === id && this.values[i] !== undefined) {
      this.values[i] = undefined;
      this.count--;
      return true;
    }
    return this.overflow?.delete(id) ?? false;
  }

  /** A copy of the open entries: safe to end calls while walking it. */
  entries(): Array<[number, T]> {
    const out: Array<[number, T]> = [];
    for (let i = 0; i < this.values.length; i++) {
      const v = this.values[i];
      if (v !== undefined) out.push([this.ids[i]!, v]);
    }
    if (this.overflow) for (const e of this.overflow) out.push(e);
    return out;
  }

  /** Twice the slots; the old array is emptied so that, wherever it lives, it holds no call. */
  private grow(): void {
    const open = this.entries();
    const old = this.values;
    this.ids = new Int32Array(old.length * 2);
    this.values = new Array<T | undefined>(old.length * 2).fill(undefined);
    this.mask = old.length * 2 - 1;
    old.fill(undefined);
    this.count = 0;
    this.overflow = undefined;
    for (const [id, v] of open) this.set(id, v);
  }
}
