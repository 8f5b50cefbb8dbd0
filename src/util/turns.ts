/**
 * At most `size` holders at once; the rest wait their turn in order. For work that starts
 * sandboxes on a tenant's request (dependency builds, deploy-time checks), so that many uploads at
 * once queue instead of starting as many sandboxes.
 */
export class Turns {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly size: number) {}

  /** Runs `work` once a turn is free, and frees it when `work` settles. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    await this.take();
    try {
      return await work();
    } finally {
      this.give();
    }
  }

  private async take(): Promise<void> {
    if (this.running < this.size) {
      this.running++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private give(): void {
    const wake = this.waiting.shift();
    if (wake) wake();
    else this.running--;
  }
}
