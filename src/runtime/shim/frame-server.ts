/**
 * The instance side of the frame protocol (see ../frames/codec.ts), reusable by any Node-based
 * shim. It listens on the instance's Unix socket, turns REQUEST/DATA/END/RESET frames into
 * `IncomingCall`s and writes their answers back. Runs inside sandboxes, so it imports only Node
 * built-ins and the codec: never the rest of Ferry.
 */
import { unlinkSync } from 'node:fs';
import { Server, type Socket } from 'node:net';
import { decodeHead, encodeFrame, encodeHeadFrame, END, FrameDecoder, FrameType, LOAD_STREAM } from '../frames/codec.js';
import { StreamTable } from '../frames/stream-table.js';
import { WriteBatch } from '../frames/write-batch.js';
import { IncomingCall, type FrameSink } from './incoming-call.js';

export { IncomingCall } from './incoming-call.js';

/** Called once per call, synchronously from the socket's data event. */
export type CallHandler = (call: IncomingCall) => void;

/**
 * Pooled shims (started before their function is known): loads the function a LOAD frame names
 * (its parsed JSON); resolves once the handler is ready, rejects with the reason it is not.
 */
export type LoadHandler = (spec: unknown) => Promise<void>;

/** One host connection (normally the only one): its socket, its open calls, its write batching. */
class Connection implements FrameSink {
  readonly calls = new StreamTable<IncomingCall>();
  /**
   * Under load many calls answer within one tick: their frames leave as one write at the next
   * tick instead of a write each. A lone call pays only the nextTick hop.
   */
  private readonly batch: WriteBatch;
  private drainWait: Promise<void> | null = null;

  constructor(
    private readonly socket: Socket,
    private readonly server: FrameServer,
  ) {
    this.batch = new WriteBatch(socket, process.nextTick);
  }

  send(frame: Buffer): boolean {
    if (this.socket.destroyed) return true; // calls were aborted; their late frames go nowhere
    return this.batch.write(frame);
  }

  drained(): Promise<void> {
    const s = this.socket;
    if (!s.writableNeedDrain || s.destroyed) return Promise.resolve();
    this.drainWait ??= new Promise<void>((resolve) => {
      const done = (): void => {
        s.off('drain', done);
        s.off('close', done);
        this.drainWait = null;
        resolve();
      };
      s.on('drain', done);
      s.on('close', done);
    });
    return this.drainWait;
  }

  finished(id: number): void {
    if (this.calls.delete(id)) this.server.callEnded();
  }

  onFrame(type: number, flags: number, id: number, payload: Buffer): void {
    if (type === FrameType.load) return this.server.load(this, id, payload);
    if (type === FrameType.request) {
      const { fields, body } = decodeHead(payload);
      const complete = (flags & END) !== 0;
      const call = new IncomingCall(id, fields, this, !(complete && body.length === 0));
      this.calls.get(id)?.abort(); // a reused id: the host forgot the old call
      this.calls.set(id, call);
      this.server.callStarted();
      call.pushBody(body);
      if (complete) call.endBody();
      try {
        this.server.onCall(call);
      } catch (err) {
        call.fail(err instanceof Error ? err.message : String(err));
      }
      return;
    }
    const call = this.calls.get(id);
    if (!call) return; // a call we already finished: the host's late frames are dropped
    switch (type) {
      case FrameType.data:
        call.pushBody(payload);
        if (flags & END) call.endBody();
        return;
      case FrameType.end:
        call.endBody();
        return;
      case FrameType.reset:
        call.abort();
        return;
      case FrameType.window:
        if (payload.length >= 4) call.grant(payload.readUInt32BE(0));
        return;
    }
  }

  /** Flushes what is queued, then closes the socket; resolves once it is closed. */
  end(): Promise<void> {
    const s = this.socket;
    if (s.destroyed) return Promise.resolve();
    this.batch.flush();
    return new Promise((resolve) => {
      s.once('close', () => resolve());
      s.end();
    });
  }

  /** The host is gone: nobody can receive answers any more. */
  closed(): void {
    for (const [, call] of this.calls.entries()) call.abort();
  }
}

/** A `net.Server` speaking frames, with a count of calls in flight for graceful shutdown. */
export class FrameServer extends Server {
  private active = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly hosts = new Set<Connection>();

  constructor(
    readonly onCall: CallHandler,
    private readonly onLoad?: LoadHandler,
  ) {
    super((socket) => this.accept(socket));
  }

  /**
   * @internal A LOAD: answered RESPONSE 200 once loaded. A failed load is answered with RESET,
   * the connection is closed and 'loadfailed' is emitted: half-imported user code must not
   * serve, so the shim exits on it.
   */
  load(conn: Connection, id: number, payload: Buffer): void {
    const reason = (err: unknown): Buffer => Buffer.from(err instanceof Error ? err.message : String(err));
    if (!this.onLoad) {
      conn.send(encodeFrame(FrameType.reset, id, reason('this instance was started with its function and takes no LOAD')));
      return;
    }
    const fail = (err: unknown): void => {
      conn.send(encodeFrame(FrameType.reset, id, reason(err)));
      void conn.end().then(() => this.emit('loadfailed', err));
    };
    let spec: unknown;
    try {
      spec = JSON.parse(payload.toString('utf8'));
    } catch (err) {
      return fail(err);
    }
    this.onLoad(spec).then(() => void conn.send(encodeHeadFrame(FrameType.response | END, id, ['200'])), fail);
  }

  /** Calls received and not yet answered, failed or cancelled. */
  get inFlight(): number {
    return this.active;
  }

  /**
   * Stops accepting connections, lets in-flight calls answer, then flushes and closes the open
   * connections; resolves once they are closed, or after `graceMs` whatever is still running.
   * Exiting before this resolves could lose answers still queued in a socket.
   */
  shutdown(graceMs: number): Promise<void> {
    if (this.listening) this.close();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, graceMs);
      timer.unref?.();
      const closeAll = (): void => {
        void Promise.all([...this.hosts].map((c) => c.end())).then(() => {
          clearTimeout(timer);
          resolve();
        });
      };
      if (this.active === 0) closeAll();
      else this.idleWaiters.push(closeAll);
    });
  }

  /** @internal */
  callStarted(): void {
    this.active++;
  }

  /** @internal */
  callEnded(): void {
    if (--this.active > 0 || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private accept(socket: Socket): void {
    socket.setNoDelay?.(true);
    const conn = new Connection(socket, this);
    this.hosts.add(conn);
    // The host calls the instance ready on this, never on a connect alone (codec.ts).
    conn.send(encodeFrame(FrameType.hello, LOAD_STREAM));
    const decoder = new FrameDecoder((type, flags, id, payload) => conn.onFrame(type, flags, id, payload));
    socket.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk);
      } catch (err) {
        socket.destroy(err as Error); // a corrupt stream cannot be resynchronised
      }
    });
    socket.on('close', () => {
      this.hosts.delete(conn);
      conn.closed();
    });
    socket.on('error', () => {
      /* 'close' follows and aborts the calls */
    });
  }
}

/**
 * Listens on `socketPath` (a stale socket file from an earlier instance is removed first) and
 * calls `onCall` for each call; a pooled shim passes `onLoad` for the LOAD that names its
 * function. Listen errors are emitted as the server's 'error' event.
 */
export function serveFrames(socketPath: string, onCall: CallHandler, onLoad?: LoadHandler): FrameServer {
  try {
    unlinkSync(socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const server = new FrameServer(onCall, onLoad);
  server.listen(socketPath);
  return server;
}
