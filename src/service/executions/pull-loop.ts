/**
 * The loop a queue's consumer runs: while it has free slots it waits in the queue for work (no
 * polling: the queue answers when something arrives), hands over what it got, and pulls again;
 * with no slot free it waits for one. `poke` ends a waiting pull at once, so the next one is asked
 * with what is free (and allowed) now.
 */
import type { Delivery } from '../../core/index.js';

export interface PullLoopOptions {
  /** Slots free now (0: wait for `poke`). */
  free(): number;
  /** One pull of at most `max`, waiting until `signal` aborts. */
  pull(max: number, signal: AbortSignal): Promise<Delivery[]>;
  take(got: Delivery[]): Promise<void> | void;
  warn(message: string, err?: unknown): void;
  /** What is pulled, for the warning. */
  what: string;
}

export class PullLoop {
  private pulling: AbortController | undefined;
  private slotFreed: (() => void) | undefined;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly o: PullLoopOptions) {}

  start(): void {
    this.running = this.loop();
  }

  private poked = false;

  /**
   * Something changed (a slot freed, a cap no longer reached): pull again, once per event-loop
   * turn however often called, so the runs that ended in one turn are refilled by one pull.
   */
  poke(): void {
    if (this.poked) return;
    this.poked = true;
    setImmediate(() => {
      this.poked = false;
      this.pulling?.abort();
      this.slotFreed?.();
    });
  }

  /** Stops pulling; answers once the loop has left (deliveries handed over stay with their taker). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pulling?.abort();
    this.slotFreed?.();
    await this.running;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const free = this.o.free();
      if (free <= 0) {
        await new Promise<void>((r) => (this.slotFreed = r));
        this.slotFreed = undefined;
        continue;
      }
      const ac = (this.pulling = new AbortController());
      try {
        const got = await this.o.pull(free, ac.signal);
        if (got.length > 0) await this.o.take(got);
      } catch (err) {
        if (this.stopped) return;
        this.o.warn(`pulling ${this.o.what} failed`, err);
        await new Promise<void>((r) => setTimeout(r, 1000).unref());
      } finally {
        this.pulling = undefined;
      }
    }
  }
}
