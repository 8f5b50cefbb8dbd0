import { performance } from 'node:perf_hooks';

/** A pending deadline: `cancel` is idempotent, and a no-op once it fired. */
export interface Deadline {
  cancel(): void;
}

class Entry implements Deadline {
  constructor(
    readonly lane: Lane,
    readonly at: number,
    public fire: (() => void) | null,
  ) {}

  cancel(): void {
    if (this.fire === null) return;
    this.fire = null;
    this.lane.cancelled(this);
  }
}

/** The deadlines of one duration: they expire in the order they were set. */
class Lane {
  private entries: Entry[] = [];
  private head = 0;
  private live = 0;
  private timer: NodeJS.Timeout | null = null;
  /** While expired entries fire: what they cancel or add is tidied up after. */
  private expiring = false;

  /** @param gone called when the lane's timer found nothing pending: the lane may be dropped. */
  constructor(
    readonly ms: number,
    private readonly gone: (lane: Lane) => void,
  ) {}

  add(fire: () => void): Entry {
    const e = new Entry(this, performance.now() + this.ms, fire);
    this.entries.push(e);
    if (this.live++ === 0 && this.timer === null && !this.expiring) this.arm(this.ms);
    return e;
  }

  cancelled(e: Entry): void {
    if (--this.live === 0 && !this.expiring) {
      // Nothing pending: drop the list; the timer, if it fires, finds nothing and stops.
      this.entries = [];
      this.head = 0;
      return;
    }
    if (this.expiring) return;
    // The oldest call usually ends first: skip what is cancelled at the front.
    if (this.entries[this.head] === e) this.skipCancelled();
    // One call far slower than the rest keeps the front: compact, so cancelled entries behind it
    // do not pile up for a whole time limit.
    else if (this.entries.length - this.head > 4 * this.live + 1024) {
      this.entries = this.entries.slice(this.head).filter((x) => x.fire !== null);
      this.head = 0;
    }
  }

  /** Entries pending, and held (pending plus cancelled ones not dropped yet). */
  counts(): { pending: number; held: number } {
    return { pending: this.live, held: this.entries.length - this.head };
  }

  private skipCancelled(): void {
    const list = this.entries;
    let h = this.head;
    while (h < list.length && list[h]!.fire === null) h++;
    if (h > 1024 && h * 2 > list.length) {
      this.entries = list.slice(h);
      h = 0;
    }
    this.head = h;
  }

  /** Unref'd: a call in flight holds the process open by its connections, not its time limit. */
  private arm(ms: number): void {
    this.timer = setTimeout(this.expire, Math.max(1, Math.ceil(ms))).unref();
  }

  private readonly expire = (): void => {
    this.timer = null;
    this.expiring = true;
    const now = performance.now();
    try {
      while (this.head < this.entries.length) {
        const e = this.entries[this.head]!;
        if (e.fire !== null && e.at > now) break;
        this.head++;
        const fire = e.fire;
        if (fire === null) continue;
        e.fire = null;
        this.live--;
        fire();
      }
    } finally {
      this.expiring = false;
      if (this.live === 0) {
        this.entries = [];
        this.head = 0;
        this.gone(this);
      } else {
        this.skipCancelled();
        this.arm(this.entries[this.head]!.at - performance.now());
      }
    }
  };
}

/**
 * Time limits for many concurrent calls with one Node timer per distinct duration instead of one
 * per call: a timer set and cleared per call cost ~0.6 µs of the gateway's warm path. Deadlines of
 * the same duration expire in the order they were set, so each duration keeps a list and a timer
 * for its oldest pending entry; a cancel only marks its entry. Deadlines never fire early.
 */
export class Deadlines {
  private readonly lanes = new Map<number, Lane>();

  /** Calls `fire` once `ms` milliseconds have passed, unless cancelled first. */
  add(ms: number, fire: () => void): Deadline {
    let lane = this.lanes.get(ms);
    if (lane === undefined) {
      lane = new Lane(ms, this.drop);
      this.lanes.set(ms, lane);
    }
    return lane.add(fire);
  }

  /** Per duration in use: deadlines pending and entries held (what a leak would grow). */
  counts(): Map<number, { pending: number; held: number }> {
    return new Map([...this.lanes].map(([ms, lane]) => [ms, lane.counts()]));
  }

  /** Lanes come and go with their durations (a caller's own deadline makes odd ones). */
  private readonly drop = (lane: Lane): void => {
    if (this.lanes.get(lane.ms) === lane) this.lanes.delete(lane.ms);
  };
}
