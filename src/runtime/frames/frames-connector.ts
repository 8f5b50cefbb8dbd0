import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { FerryError } from '../../errors/index.js';
import type { CallMeta, Connector, Dialer, InvocationRequest, LoadSpec, ResponseWriter } from '../../core/index.js';
import { decodeHead, encodeFrame, encodeHeadFrame, encodeWindow, END, FrameDecoder, FrameType, LOAD_STREAM, STREAM_WINDOW } from './codec.js';
import { dialWhenListening, startAborted } from './dial-retry.js';
import { StreamTable } from './stream-table.js';
import { bodiless, hopByHop } from './header-rules.js';
import { ResponseHeads } from './response-heads.js';
import { WriteBatch } from './write-batch.js';

interface Call {
  res: ResponseWriter;
  meta: CallMeta;
  resolve(): void;
  reject(err: FerryError): void;
  headersSeen: boolean;
  done: boolean;
  onAbort: () => void;
  /** Response DATA bytes received and not yet granted back to the instance (WINDOW). */
  owed: number;
  /** Whether the client is behind: credit goes back once the response drains. */
  draining: boolean;
  /** Whether this call holds the connection paused (an instance sending past its window). */
  holding: boolean;
  /** Whether its response is corked until the end of the current read (see `hold`). */
  corked: boolean;
}

/** Credit goes back in WINDOW frames of at least this much (one small frame per 256 KiB). */
const GRANT_BATCH = STREAM_WINDOW / 4;

/** Request bodies of a declared size up to this are read whole and sent in the request frame. */
const INLINE_BODY_MAX = 64 * 1024;

/**
 * The gateway's side of the frame protocol: one stream through the driver's channel per instance,
 * every call a stream id on it. This is the warm path, so it does the least per call: one frame each way for
 * small bodies, no header objects built, bodies copied once into the frame.
 */
export class FramesConnector implements Connector {
  /** The channel's stream (a Unix socket for bwrap and process: write and setNoDelay are all it needs). */
  private socket: Socket | null = null;
  /** The frames of the current turn of the event loop, for `socket`. */
  private batch: WriteBatch | null = null;
  /** While `ready` waits for the shim's HELLO: what a HELLO or a close answers. */
  private greeting: ((greeted: boolean) => void) | undefined;
  private readonly calls = new StreamTable<Call>();
  private readonly heads = new ResponseHeads();
  private closed = false;
  /** A LOAD waiting for its answer (pooled instances only). */
  private loading: { resolve(): void; reject(err: FerryError): void } | undefined;

  /** @param dial opens a stream to the instance's shim through the driver's channel. */
  constructor(private readonly dial: Dialer) {}

  get lost(): boolean {
    return this.closed || (this.socket !== null && this.socket.destroyed);
  }

  /**
   * Ready once the shim said so: its HELLO, the first frame on every connection it accepts (a
   * connect alone proves nothing: the listener may not be the shim's, or not yet loaded). A
   * connection closed before its HELLO is dialled again, until `signal` aborts.
   */
  async ready(signal: AbortSignal): Promise<void> {
    for (;;) {
      const stream = await dialWhenListening(this.dial, signal);
      if (await this.greeted(stream as Socket, signal)) return;
      await sleep(2, undefined, { signal }).catch(() => undefined);
    }
  }

  /** Takes `socket` as the instance's connection; resolves true on its HELLO, false if it closed first. */
  private greeted(socket: Socket, signal: AbortSignal): Promise<boolean> {
    socket.setNoDelay?.(true);
    this.socket = socket;
    this.batch = new WriteBatch(socket, setImmediate);
    const decoder = new FrameDecoder((type, flags, id, payload) => this.onFrame(type, flags, id, payload));
    socket.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk);
      } catch (err) {
        socket.destroy(err as Error);
      }
      this.release();
    });
    socket.on('close', () => {
      if (this.greeting) return this.greeting(false);
      this.closed = true;
      this.loading?.reject(new FerryError('instance-start-failed', 'the instance closed its connection while loading the function'));
      this.failAll('the instance closed its connection');
    });
    socket.on('error', () => {
      /* 'close' follows and fails the calls */
    });
    return new Promise<boolean>((resolve, reject) => {
      const onAbort = (): void => {
        this.greeting = undefined;
        socket.destroy();
        reject(startAborted(signal));
      };
      this.greeting = (greeted) => {
        this.greeting = undefined;
        signal.removeEventListener('abort', onAbort);
        if (!greeted) this.socket = null;
        resolve(greeted);
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  load(spec: LoadSpec, signal: AbortSignal): Promise<void> {
    const socket = this.socket;
    if (!socket || this.lost) return Promise.reject(new FerryError('instance-start-failed', 'the pooled instance is not connected'));
    if (this.loading) return Promise.reject(new FerryError('internal', 'a function is already being loaded'));
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => done(signal.reason instanceof FerryError ? signal.reason : new FerryError('instance-start-failed', 'loading the function was cancelled'));
      const done = (err?: FerryError): void => {
        this.loading = undefined;
        signal.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.loading = { resolve: () => done(), reject: done };
      this.send(encodeFrame(FrameType.load, LOAD_STREAM, Buffer.from(JSON.stringify(spec))));
    });
  }

  dispatch(req: InvocationRequest, res: ResponseWriter, meta: CallMeta): Promise<void> {
    const socket = this.socket;
    if (!socket || this.closed || socket.destroyed) {
      return Promise.reject(new FerryError('instance-crashed', 'the instance is not connected'));
    }
    if (meta.signal.aborted) {
      const reason = meta.signal.reason;
      return Promise.reject(reason instanceof FerryError ? reason : new FerryError('invoke-timeout', 'the call was cancelled'));
    }
    const id = this.calls.newId();

    const raw = req.headers;
    const fields: string[] = [req.method, req.path, meta.requestId];
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      if (hopByHop(name)) continue;
      fields.push(name, raw[i + 1]!);
    }

    return new Promise<void>((resolve, reject) => {
      const call: Call = { res, meta, resolve, reject, headersSeen: false, done: false, onAbort: () => this.cancel(id, meta.signal.reason), owed: 0, draining: false, holding: false, corked: false };
      this.calls.set(id, call);
      meta.signal.addEventListener('abort', call.onAbort, { once: true });

      const body = req.body;
      if (body === undefined) {
        this.send(encodeHeadFrame(FrameType.request | END, id, fields));
        return;
      }
      const declared = req.bodyLength;
      if (declared !== undefined && declared <= INLINE_BODY_MAX) {
        // A small body of known size goes inline: one frame for the whole call, and the
        // instance gets a complete body instead of a stream to read.
        const chunks: Buffer[] = [];
        let size = 0;
        body.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          size += chunk.length;
        });
        body.once('end', () => {
          if (!call.done) this.send(encodeHeadFrame(FrameType.request | END, id, fields, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)));
        });
        body.resume();
        return;
      }
      this.send(encodeHeadFrame(FrameType.request, id, fields));
      const onData = (chunk: Buffer): void => {
        if (call.done) return;
        if (!this.send(encodeFrame(FrameType.data, id, chunk)) && !body.isPaused()) {
          body.pause();
          this.whenDrained(() => body.resume());
        }
      };
      body.on('data', onData);
      body.once('end', () => {
        if (!call.done) this.send(encodeFrame(FrameType.end, id));
      });
      // The pipeline may have paused the body (e.g. to count a streamed body); start the flow.
      body.resume();
    });
  }

  /** Responses corked during the current read of the instance's socket. */
  private readonly heldCalls: Call[] = [];

  /**
   * A response sent in several frames (a stream, a large body) is corked while the frames of one
   * read of the instance's socket are written to it, so what arrived together leaves together:
   * one send to the client instead of one per chunk. Released at the end of the read.
   */
  private hold(call: Call): void {
    if (call.corked || !call.res.cork) return;
    call.corked = true;
    call.res.cork();
    this.heldCalls.push(call);
  }

  private release(): void {
    const held = this.heldCalls;
    for (let i = 0; i < held.length; i++) {
      const call = held[i]!;
      call.corked = false;
      call.res.uncork?.();
    }
    held.length = 0;
  }

  private drainWaiters: Array<() => void> = [];
  /** Calls holding the connection paused; while any does, the instance's socket is not read. */
  private backedUp = 0;

  /**
   * A client slower than its function must not make the gateway buffer without bound. Per
   * stream, the instance may be STREAM_WINDOW bytes ahead of the client: credit goes back as the
   * client takes the bytes, so a slow reader holds back only its own stream. An instance that
   * sends past its window (a whole answer at once) makes the gateway stop reading the connection
   * until that response drains: memory stays bounded, at the price of the other calls waiting.
   */
  private behind(id: number, call: Call): void {
    if (call.owed > STREAM_WINDOW && !call.holding) {
      call.holding = true;
      if (this.backedUp++ === 0) this.socket?.pause();
    }
    if (call.draining) return;
    call.draining = true;
    // Both listeners go once either fires: a long answer backs up many times, and a 'close'
    // listener left per time would pile up on the response (MaxListenersExceededWarning).
    const release = (): void => {
      call.res.off('drain', release);
      call.res.off('close', release);
      call.draining = false;
      if (call.holding) {
        call.holding = false;
        if (--this.backedUp === 0) this.socket?.resume();
      }
      if (!call.done && call.owed > 0) this.grant(id, call);
    };
    call.res.once('drain', release);
    call.res.once('close', release);
  }

  /** Gives the instance back the credit of what the client took. */
  private grant(id: number, call: Call): void {
    if (this.socket && !this.socket.destroyed) this.send(encodeWindow(id, call.owed));
    call.owed = 0;
  }
  /**
   * Writes a frame, batching every frame written in this turn of the event loop into one write
   * at its end: under load, requests read from many client connections in one poll phase reach
   * the instance in a single syscall (and a single wake-up of the instance).
   */
  private send(frame: Buffer): boolean {
    return this.batch!.write(frame);
  }

  /** One 'drain' listener for all paused uploads, however many there are. */
  private whenDrained(fn: () => void): void {
    this.drainWaiters.push(fn);
    if (this.drainWaiters.length === 1) {
      this.socket!.once('drain', () => {
        const waiters = this.drainWaiters;
        this.drainWaiters = [];
        for (const w of waiters) w();
      });
    }
  }

  close(): void {
    this.closed = true;
    this.socket?.destroy();
    this.loading?.reject(new FerryError('instance-start-failed', 'the instance was stopped while loading the function'));
    this.failAll('the instance was stopped');
  }

  private onFrame(type: number, flags: number, id: number, payload: Buffer): void {
    if (type === FrameType.hello) return this.greeting?.(true);
    if (id === LOAD_STREAM) return this.onLoadAnswer(type, payload);
    const call = this.calls.get(id);
    if (!call) return; // cancelled call: drop what the instance still sends
    const res = call.res;
    switch (type) {
      case FrameType.response: {
        const complete = (flags & END) !== 0;
        const heads = this.heads;
        const headers = heads.decode(payload, complete);
        const status = heads.status;
        const body = payload.subarray(heads.bodyAt);
        // A complete inline body gets an exact Content-Length; the function's own is dropped.
        if (complete && !bodiless(status)) headers.push('content-length', String(body.length));
        const extra = call.meta.extraHeaders;
        for (let i = 0; i < extra.length; i++) headers.push(extra[i]!);
        call.headersSeen = true;
        call.meta.onHeaders();
        if (res.destroyed) return this.cancel(id, undefined);
        try {
          res.writeHead(status, headers);
        } catch (err) {
          // A header Node refuses (e.g. a newline in a value) fails this call, not the instance.
          this.cancel(id, new FerryError('function-error', `the function answered an invalid header: ${(err as Error).message}`));
          return;
        }
        if (complete) {
          res.end(body);
          this.finish(id, call);
          return;
        }
        this.hold(call);
        if (body.length) {
          if (!res.write(body)) this.behind(id, call);
        } else {
          // Streams (e.g. server-sent events) must reach the client before the first chunk:
          // at the latest when this read's frames are written (the cork is released then).
          res.flushHeaders?.();
        }
        return;
      }
      case FrameType.data:
        this.hold(call);
        if (payload.length) {
          call.owed += payload.length;
          if (!res.write(payload) || call.draining) this.behind(id, call);
          else if (call.owed >= GRANT_BATCH && !(flags & END)) this.grant(id, call);
        }
        if (flags & END) {
          res.end();
          this.finish(id, call);
        }
        return;
      case FrameType.end:
        res.end();
        this.finish(id, call);
        return;
      case FrameType.reset: {
        const reason = payload.toString('utf8') || 'the function failed';
        this.fail(id, call, new FerryError('function-error', reason));
        return;
      }
    }
  }

  /** RESPONSE 200: the function is loaded; RESET: it could not be (the shim exits next). */
  private onLoadAnswer(type: number, payload: Buffer): void {
    const loading = this.loading;
    if (!loading) return;
    if (type === FrameType.response && decodeHead(payload).fields[0] === '200') return loading.resolve();
    const reason = type === FrameType.reset ? payload.toString('utf8') : `unexpected answer (frame type ${type})`;
    loading.reject(new FerryError('instance-start-failed', `the function could not be loaded: ${reason || 'no reason given'}; see its logs`));
  }

  private finish(id: number, call: Call): void {
    this.calls.delete(id);
    call.done = true;
    call.meta.signal.removeEventListener('abort', call.onAbort);
    call.resolve();
  }

  /** Ends a call with an error; a response already under way is cut so the client sees it fail. */
  private fail(id: number, call: Call, err: FerryError): void {
    this.calls.delete(id);
    call.done = true;
    call.meta.signal.removeEventListener('abort', call.onAbort);
    if (call.headersSeen && !call.res.destroyed) call.res.destroy(err);
    call.reject(err);
  }

  /** Client gone or timeout: tell the instance to stop working on the call. */
  private cancel(id: number, reason: unknown): void {
    const call = this.calls.get(id);
    if (!call) return;
    if (this.socket && !this.socket.destroyed) this.send(encodeFrame(FrameType.reset, id));
    this.fail(id, call, reason instanceof FerryError ? reason : new FerryError('invoke-timeout', 'the call was cancelled'));
  }

  private failAll(why: string): void {
    for (const [id, call] of this.calls.entries()) this.fail(id, call, new FerryError('instance-crashed', why));
  }
}
