import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { NOT_LISTENING, type InstanceStreamHandler } from '../../core/index.js';
import { encodeWire, NOT_LISTENING_REASON, Wire, WireDecoder, WIRE_CHUNK, type ExitReport } from './agent/wire.js';

/**
 * A dial that finds nothing listening yet is answered no sooner than this after it was sent.
 * Starts retry such a dial at once (every 2 ms): each retry is a frame the guest's agent must
 * read and answer, and under emulation that flood took the CPU the instance needed to start
 * (a minute to its first answer instead of seconds).
 */
const NOT_LISTENING_PACE_MS = 25;

/** One stream of the instance's channel, carried over the VM's port. */
class WireStream extends Duplex {
  private endSent = false;
  private endSeen = false;

  constructor(private readonly session: WireSession, readonly id: number) {
    super({ allowHalfOpen: true });
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    for (let at = 0; at < chunk.length; at += WIRE_CHUNK) this.session.send(Wire.data, this.id, chunk.subarray(at, at + WIRE_CHUNK));
    this.session.afterFlush(cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.endSent = true;
    this.session.send(Wire.end, this.id);
    this.settle();
    cb();
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    if (this.session.forget(this) && !(this.endSent && this.endSeen)) this.session.send(Wire.reset, this.id, 'closed');
    cb(err);
  }

  /** From the guest: its bytes, its end, its reset. */
  incoming(type: number, payload: Buffer): void {
    if (type === Wire.data) this.push(payload);
    else if (type === Wire.end) {
      this.endSeen = true;
      this.push(null);
      this.settle();
    } else if (type === Wire.reset) {
      this.session.forget(this);
      this.destroy(new Error(`the instance reset the stream: ${payload.toString('utf8')}`));
    }
  }

  /** Both ways ended: the stream is done and its id free. */
  private settle(): void {
    if (this.endSent && this.endSeen) this.session.forget(this);
  }
}

/**
 * The host's end of a VM's port (wire.ts): dials to the instance, the instance's streams to
 * Ferry, and the agent's messages as events: `hello` (JSON), `started` (pid), `failed`
 * (reason), `stdout` / `stderr` (bytes), `exit` (ExitReport), `close` (the port is gone).
 */
export class WireSession extends EventEmitter {
  private readonly streams = new Map<number, WireStream>();
  private readonly dials = new Map<number, { resolve(s: Duplex): void; reject(e: Error): void; sentAt: number }>();
  private readonly decoder = new WireDecoder();
  private nextId = 1;
  private closed = false;
  /** Where the instance's streams to Ferry go (absent: each is reset). */
  onInstanceStream: InstanceStreamHandler | undefined;

  constructor(private readonly socket: Socket) {
    super();
    socket.on('data', (b: Buffer) => {
      try {
        this.decoder.push(b, (type, id, payload) => this.onFrame(type, id, payload));
      } catch (err) {
        socket.destroy(err as Error);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => this.shut());
  }

  send(type: number, id: number, payload?: Uint8Array | string): void {
    if (!this.closed) this.socket.write(encodeWire(type, id, payload));
  }

  /** Calls `cb` once what was sent so far is handed to the port (backpressure for writers). */
  afterFlush(cb: () => void): void {
    if (this.closed || !this.socket.writableNeedDrain) return cb();
    this.socket.once('drain', cb);
  }

  /** Removes `stream` from the table; true if it was still in it. */
  forget(stream: WireStream): boolean {
    if (this.streams.get(stream.id) !== stream) return false;
    this.streams.delete(stream.id);
    return true;
  }

  /** A new stream to the instance; rejects NOT_LISTENING while nothing listens yet. */
  dial(): Promise<Duplex> {
    if (this.closed) return Promise.reject(Object.assign(new Error('the VM is gone'), { code: 'ECONNRESET' }));
    const id = this.nextId;
    this.nextId += 2;
    return new Promise((resolve, reject) => {
      this.dials.set(id, { resolve, reject, sentAt: Date.now() });
      this.send(Wire.open, id);
    });
  }

  private onFrame(type: number, id: number, payload: Buffer): void {
    switch (type) {
      case Wire.hello:
        return void this.emit('hello', JSON.parse(payload.toString('utf8')));
      case Wire.started:
        return void this.emit('started', (JSON.parse(payload.toString('utf8')) as { pid: number }).pid);
      case Wire.failed:
        return void this.emit('failed', payload.toString('utf8'));
      case Wire.stdout:
      case Wire.stderr:
        return void this.emit(type === Wire.stdout ? 'stdout' : 'stderr', Buffer.from(payload));
      case Wire.exit:
        return void this.emit('exit', JSON.parse(payload.toString('utf8')) as ExitReport);
      case Wire.accept: {
        const d = this.dials.get(id);
        if (!d) return;
        this.dials.delete(id);
        const s = new WireStream(this, id);
        this.streams.set(id, s);
        return d.resolve(s);
      }
      case Wire.open: {
        // Only the guest's own ids (even): an odd one would take over a dial's stream.
        if (id % 2 !== 0 || this.streams.has(id)) return this.send(Wire.reset, id, 'bad stream id');
        if (!this.onInstanceStream) return this.send(Wire.reset, id, 'no way to Ferry');
        const s = new WireStream(this, id);
        this.streams.set(id, s);
        return this.onInstanceStream(s);
      }
      case Wire.reset: {
        const d = this.dials.get(id);
        if (d) {
          this.dials.delete(id);
          const reason = payload.toString('utf8');
          if (reason !== NOT_LISTENING_REASON) return d.reject(new Error(`the VM refused the dial: ${reason}`));
          const notYet = Object.assign(new Error('not listening yet'), { code: NOT_LISTENING });
          return void setTimeout(() => d.reject(notYet), Math.max(0, d.sentAt + NOT_LISTENING_PACE_MS - Date.now()));
        }
        return this.streams.get(id)?.incoming(type, payload);
      }
      case Wire.data:
      case Wire.end:
        return this.streams.get(id)?.incoming(type, Buffer.from(payload));
    }
  }

  /** The port is gone (the VM exited or was killed): every stream and dial fails. */
  private shut(): void {
    if (this.closed) return;
    this.closed = true;
    for (const d of this.dials.values()) d.reject(Object.assign(new Error('the VM is gone'), { code: 'ECONNRESET' }));
    this.dials.clear();
    for (const s of [...this.streams.values()]) s.destroy(new Error('the VM is gone'));
    this.streams.clear();
    this.emit('close');
  }

  close(): void {
    this.socket.destroy();
  }
}
