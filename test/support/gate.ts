import { createServer, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { waitFor } from './wait.js';

/**
 * A barrier that functions under test wait on: the handler does `await fetch(GATE_URL)`, and the
 * request is held here until the test calls `open()`. The test can also wait until N handlers
 * are parked at the gate, which proves N calls are running at once without any timing.
 */
export class Gate {
  private held: ServerResponse[] = [];
  private isOpen = false;
  /** Every request that reached the gate, held or not. */
  arrivals = 0;

  private constructor(
    private readonly server: ReturnType<typeof createServer>,
    readonly url: string,
  ) {}

  static async start(): Promise<Gate> {
    let gate: Gate | undefined;
    const server = createServer((req, res) => {
      gate!.arrivals++;
      req.resume();
      if (gate!.isOpen) return void res.end('open');
      gate!.held.push(res);
      res.once('close', () => {
        const i = gate!.held.indexOf(res);
        if (i >= 0) gate!.held.splice(i, 1);
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const addr = server.address();
    if (!addr || typeof addr !== 'object') throw new Error('gate: no address');
    gate = new Gate(server, `http://127.0.0.1:${addr.port}/`);
    return gate;
  }

  /** Requests parked at the gate right now. */
  get waiting(): number {
    return this.held.length;
  }

  /** Resolves once at least `n` requests are parked at the gate. */
  async waitForWaiting(n: number, timeoutMs = 20_000): Promise<void> {
    await waitFor(`${n} call(s) waiting at the gate (now ${this.held.length})`, () => this.held.length >= n, { timeoutMs, intervalMs: 10 });
  }

  /** Lets every parked request through, and every later one. */
  open(): void {
    this.isOpen = true;
    for (const res of this.held.splice(0)) res.end('open');
  }

  /** Parks later requests again. */
  shut(): void {
    this.isOpen = false;
  }

  async close(): Promise<void> {
    this.open();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
