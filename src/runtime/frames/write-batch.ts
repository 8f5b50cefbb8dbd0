/**
 * The frames one side of a channel writes in a turn of its event loop, sent as one buffer: under
 * load a turn carries many (requests read from many clients, or many calls' answers), and one
 * stream write for all of them costs less than a write per frame into a corked stream, whose
 * buffering and writev pay per chunk. A large frame is not copied: what is queued goes out
 * first, then the frame itself, in order. Imports nothing: it runs inside sandboxes too.
 */

/** What a batch writes to: a socket, or any stream with the same three members. */
export interface BatchTarget {
  write(chunk: Buffer): boolean;
  readonly writableNeedDrain: boolean;
  readonly destroyed: boolean;
}

/** Frames at least this big are written as they are, not copied into a batch. */
const DIRECT_BYTES = 16 * 1024;

export class WriteBatch {
  private frames: Buffer[] = [];
  private bytes = 0;
  private scheduled = false;

  /** @param schedule runs the flush later in this turn (process.nextTick) or at its end (setImmediate). */
  constructor(
    private readonly target: BatchTarget,
    private readonly schedule: (flush: () => void) => void,
  ) {}

  /** Queues one frame; false when the stream's buffer is full (wait for its 'drain'). */
  write(frame: Buffer): boolean {
    if (frame.length >= DIRECT_BYTES) {
      this.flush();
      return this.target.write(frame);
    }
    this.frames.push(frame);
    this.bytes += frame.length;
    if (!this.scheduled) {
      this.scheduled = true;
      this.schedule(this.scheduledFlush);
    }
    return !this.target.writableNeedDrain;
  }

  /** Writes what is queued now. */
  flush(): void {
    const frames = this.frames;
    if (frames.length === 0) return;
    const bytes = this.bytes;
    this.frames = [];
    this.bytes = 0;
    // A destroyed stream's frames go nowhere: its calls were failed or aborted.
    if (this.target.destroyed) return;
    this.target.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames, bytes));
  }

  private readonly scheduledFlush = (): void => {
    this.scheduled = false;
    this.flush();
  };
}
