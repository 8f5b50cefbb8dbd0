import { FerryError } from '../errors/index.js';
import type { CallSignal } from '../core/index.js';

/** A call waiting for a free instance. */
export interface Waiter<T> {
  resolve(value: T): void;
  reject(err: FerryError): void;
  cleanup(): void;
}

/**
 * The calls waiting for capacity: two FIFOs, synchronous calls first, background ones (async
 * runs) only when no synchronous call waits. A waiter leaves it when served, rejected, or when
 * its caller's signal aborts (client gone, timeout).
 */
export class WaitQueue<T> {
  private readonly items: Waiter<T>[] = [];
  private readonly background: Waiter<T>[] = [];

  /** Every waiting call. */
  get length(): number {
    return this.items.length + this.background.length;
  }

  /** Synchronous calls waiting (what `maxQueue` bounds). */
  get foreground(): number {
    return this.items.length;
  }

  enqueue(signal: CallSignal, background = false): Promise<T> {
    const items = background ? this.background : this.items;
    if (signal.aborted) return Promise.reject(signal.reason instanceof FerryError ? signal.reason : new FerryError('invoke-timeout', 'the call was cancelled'));
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        const i = items.indexOf(waiter);
        if (i >= 0) items.splice(i, 1);
        reject(signal.reason instanceof FerryError ? signal.reason : new FerryError('invoke-timeout', 'the call was cancelled while waiting for an instance'));
      };
      const waiter: Waiter<T> = {
        resolve,
        reject,
        cleanup: () => signal.removeEventListener('abort', onAbort),
      };
      signal.addEventListener('abort', onAbort, { once: true });
      items.push(waiter);
    });
  }

  shift(): Waiter<T> | undefined {
    const w = this.items.shift() ?? this.background.shift();
    w?.cleanup();
    return w;
  }

  rejectAll(err: FerryError): void {
    for (let w = this.shift(); w; w = this.shift()) w.reject(err);
  }
}
