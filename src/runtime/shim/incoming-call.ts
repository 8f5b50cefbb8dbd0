/**
 * One call as the instance sees it: the request head, its body as it arrives (request-body.ts),
 * and the methods that answer it with frames. Runs inside sandboxes: imports only Node built-ins
 * and the codec.
 */
import { AsyncResource } from 'node:async_hooks';
import type { Readable } from 'node:stream';
import { encodeFrame, encodeHeadFrame, END, FrameType, HeadFrames, STREAM_WINDOW } from '../frames/codec.js';
import { RequestBody } from './request-body.js';

/** Where a call writes its frames; implemented by the connection it arrived on. */
export interface FrameSink {
  /** Queues one frame; false when the socket buffer is full (wait for `drained()`). */
  send(frame: Buffer): boolean;
  drained(): Promise<void>;
  /** The call is over (answered, failed or cancelled): forget its stream id. */
  finished(id: number): void;
}

/**
 * Larger bodies are sent as frames of this size: the gateway's decoder copies a frame that spans
 * socket reads (64 KiB each) together, which costs more the bigger the frame (measured: 1 MiB
 * frames decode at half the speed of 64 KiB ones).
 */
const MAX_CHUNK = 64 * 1024;
const EMPTY = Buffer.alloc(0);
/** Complete answers' frames: their heads repeat from call to call (one shim, one function). */
const answerHeads = new HeadFrames();

/** No Content-Length on statuses that cannot have a body (RFC 9110 8.6). */
function bodyless(status: number): boolean {
  return status < 200 || status === 204 || status === 304;
}

/** Content-Length/Transfer-Encoding are the framing's business, never the function's. */
function isFramingHeader(name: string): boolean {
  if (name.length !== 14 && name.length !== 17) return false;
  const lower = name.toLowerCase();
  return lower === 'content-length' || lower === 'transfer-encoding';
}

/** Call states: nothing sent yet, head sent and body streaming, over. */
const State = { Open: 0, Streaming: 1, Done: 2 } as const;

/** The instance side of one call. Answer with exactly one of respond, respondStream+end, fail. */
export class IncomingCall {
  /** True once the host cancelled the call (client gone, timeout) or the connection dropped. */
  aborted = false;
  private state: number = State.Open;
  private controller: AbortController | undefined;
  /** Aborts `controller`, in the async context of whoever first asked for the signal. */
  private abortInScope: (() => void) | undefined;
  private abortListeners: Array<() => void> | undefined;
  /** The request body; made only when asked for if the REQUEST frame said there is none. */
  private requestBody: RequestBody | undefined;
  /** Response DATA bytes the host lets this stream send before it grants more (WINDOW frames). */
  private credit = STREAM_WINDOW;
  /** Response body bytes waiting for credit, in order. */
  private pending: Buffer[] = [];
  /** Whether the body is complete once `pending` is out (the last DATA frame carries END). */
  private endPending = false;
  /** Whether the call is over but its stream must stay known until `pending` is out. */
  private releaseAfterPending = false;
  /** Whether the last frame found the connection's buffer full. */
  private socketFull = false;
  /** Writers waiting for `pending` to empty (credit came back). */
  private creditWaiters: Array<() => void> | undefined;
  /** A streamed answer's head and first chunks, until the turn that started it ends. */
  private held: { fields: string[]; chunks: Buffer[]; bytes: number } | null = null;

  /**
   * @param fields the REQUEST head: method, url, request id, then header name/value pairs.
   * @param hasBody false when the REQUEST frame said the body is empty and complete.
   */
  constructor(
    readonly id: number,
    private readonly fields: string[],
    private readonly sink: FrameSink,
    readonly hasBody: boolean,
  ) {
    if (hasBody) this.requestBody = new RequestBody();
  }

  /** True once all request body bytes arrived. */
  get bodyComplete(): boolean {
    return this.requestBody === undefined || this.requestBody.complete;
  }

  private get body(): RequestBody {
    if (this.requestBody) return this.requestBody;
    const empty = new RequestBody();
    empty.end();
    return (this.requestBody = empty);
  }

  get method(): string {
    return this.fields[0]!;
  }
  /** Path and query. */
  get url(): string {
    return this.fields[1]!;
  }
  get requestId(): string {
    return this.fields[2]!;
  }
  /** Flat [name, value, ...], as received (a fresh array on each access). */
  get headers(): string[] {
    return this.fields.slice(3);
  }

  /** The first value of a header, `lowerName` in lower case. Cheap: no header object is built. */
  header(lowerName: string): string | undefined {
    const f = this.fields;
    const len = lowerName.length;
    for (let i = 3; i < f.length - 1; i += 2) {
      const name = f[i]!;
      if (name.length === len && name.toLowerCase() === lowerName) return f[i + 1];
    }
    return undefined;
  }

  /**
   * Aborts when the host cancels; created on first use so calls that never ask pay nothing.
   * The cancel arrives as a socket event, outside the call's async context; abort listeners run
   * back in the context of the code that asked for the signal (so, e.g., their logs are
   * attributed to the call).
   */
  get signal(): AbortSignal {
    if (!this.controller) {
      const controller = new AbortController();
      this.controller = controller;
      if (this.aborted) controller.abort(cancelled());
      else this.abortInScope = AsyncResource.bind(() => controller.abort(cancelled()));
    }
    return this.controller.signal;
  }

  /**
   * Runs `listener` once if the call gets cancelled (immediately if it already was), in the async
   * context it was registered from.
   */
  onAbort(listener: () => void): void {
    if (this.aborted) return listener();
    (this.abortListeners ??= []).push(AsyncResource.bind(listener));
  }

  /** The whole body when it already arrived (`bodyComplete`), without building a stream. */
  bufferedBody(): Buffer | null {
    return this.requestBody ? this.requestBody.buffered() : EMPTY;
  }

  /** The body as a web stream, created on first call (later calls return the same stream). */
  bodyStream(): ReadableStream<Uint8Array> {
    return this.body.stream();
  }

  /** The body as a Node Readable, created on first call. */
  bodyReadable(): Readable {
    return this.body.nodeReadable();
  }

  /**
   * One complete answer: one frame (its head without Content-Length: the gateway sets it), or
   * RESPONSE + DATA frames with a Content-Length for a body over 64 KiB.
   */
  respond(status: number, headers: readonly string[], body?: Uint8Array | string): void {
    if (!this.begin(State.Done)) return;
    const len = body === undefined ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    const fields: string[] = [String(status)];
    for (let i = 0; i < headers.length - 1; i += 2) {
      if (!isFramingHeader(headers[i]!)) fields.push(headers[i]!, headers[i + 1]!);
    }
    if (len <= MAX_CHUNK) {
      // Complete in one frame: the gateway sets the exact Content-Length, so the head stays the
      // same from call to call whatever the body's size (the gateway decodes a repeated head once).
      this.sink.send(answerHeads.encode(FrameType.response | END, this.id, fields, len ? body : undefined));
    } else {
      if (!bodyless(status)) fields.push('content-length', String(len));
      // The head carries the first chunk, so the gateway has body to send with the headers; the
      // rest goes out as the host grants credit.
      const bytes = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body!.buffer, body!.byteOffset, body!.byteLength);
      this.sink.send(encodeHeadFrame(FrameType.response, this.id, fields, bytes.subarray(0, MAX_CHUNK)));
      this.pending.push(bytes.subarray(MAX_CHUNK));
      this.endPending = true;
      this.pump();
    }
    this.finish();
  }

  /**
   * Starts a streamed answer; the body follows with `write` and `end`. The head and what is
   * written in the same turn of the event loop are held until the turn ends (later than the
   * connection's own batching, which flushes at the next tick, but within the same turn), so a
   * stream that ends within it goes out as one complete answer, which the gateway sends with an
   * exact Content-Length instead of in chunks. A stream still open at the end of the turn sends
   * its head and chunks then.
   */
  respondStream(status: number, headers: readonly string[]): void {
    if (!this.begin(State.Streaming)) return;
    const fields: string[] = [String(status)];
    for (let i = 0; i < headers.length; i++) fields.push(headers[i]!);
    this.held = { fields, chunks: [], bytes: 0 };
    setImmediate(releaseHeld, this);
  }

  /** Sends what `respondStream` held: with `ended`, as one complete answer. */
  private release(ended: boolean): void {
    const held = this.held;
    if (held === null) return;
    this.held = null;
    const body = held.chunks.length === 1 ? held.chunks[0]! : Buffer.concat(held.chunks, held.bytes);
    if (ended) {
      this.sink.send(answerHeads.encode(FrameType.response | END, this.id, held.fields, held.bytes ? body : undefined));
      return;
    }
    this.sink.send(encodeHeadFrame(FrameType.response, this.id, held.fields));
    if (held.bytes) {
      this.pending.push(body);
      this.pump();
    }
  }

  /** @internal the turn that started the stream is over: send what it held. */
  releaseHeld(): void {
    this.release(false);
  }

  /**
   * One body chunk, sent as DATA frames as far as the stream's credit goes (the rest as the host
   * grants more). False: wait for `drained()` before the next (credit used up, or the socket's
   * buffer full).
   */
  write(chunk: Uint8Array | string): boolean {
    if (this.state !== State.Streaming) {
      if (this.aborted) return true;
      throw new Error('write() before respondStream() or after end()');
    }
    if (chunk.length === 0) return this.pending.length === 0 && this.credit > 0 && !this.socketFull;
    const held = this.held;
    if (held !== null) {
      const len = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
      if (held.bytes + len <= MAX_CHUNK) {
        // A copy: the caller may reuse its buffer once write() returns.
        held.chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
        held.bytes += len;
        return true;
      }
      this.release(false);
    }
    this.pending.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.pump();
    return this.pending.length === 0 && this.credit > 0 && !this.socketFull;
  }

  /** Resolves when the stream may send again: its queued bytes are out and the socket takes more. */
  drained(): Promise<void> {
    if (this.aborted || this.pending.length === 0) return this.sink.drained().then(() => void (this.socketFull = false));
    return new Promise<void>((resolve) => (this.creditWaiters ??= []).push(resolve)).then(() => this.drained());
  }

  /** Ends a streamed body (after whatever still waits for credit). */
  end(): void {
    if (this.state !== State.Streaming) {
      if (this.aborted) return;
      throw new Error('end() before respondStream() or twice');
    }
    if (this.held !== null) this.release(true);
    else if (this.pending.length) this.endPending = true;
    else this.sink.send(encodeFrame(FrameType.end, this.id));
    this.finish();
  }

  /** Fails the call (RESET frame): the gateway answers 500 function-error, or cuts a started stream. */
  fail(reason: string): void {
    if (this.state === State.Done) return;
    this.held = null;
    this.pending = [];
    this.endPending = false;
    this.sink.send(encodeFrame(FrameType.reset, this.id, Buffer.from(reason.slice(0, 1024))));
    this.finish();
  }

  /** @internal the host granted `bytes` more of response DATA (a WINDOW frame). */
  grant(bytes: number): void {
    this.credit += bytes;
    this.pump();
  }

  /** Sends queued body bytes while there is credit; after the last, END and the call's release. */
  private pump(): void {
    while (this.pending.length && this.credit > 0) {
      const head = this.pending[0]!;
      const n = Math.min(head.length, this.credit, MAX_CHUNK);
      const rest = head.length - n;
      if (rest) this.pending[0] = head.subarray(n);
      else this.pending.shift();
      this.credit -= n;
      const last = this.endPending && this.pending.length === 0;
      this.socketFull = !this.sink.send(encodeFrame(FrameType.data | (last ? END : 0), this.id, n === head.length ? head : head.subarray(0, n)));
      if (last) {
        this.endPending = false;
        // The answer is complete: the connection may forget the stream now.
        if (this.releaseAfterPending) this.sink.finished(this.id);
      }
    }
    if (this.pending.length === 0) this.wake();
  }

  private wake(): void {
    const waiters = this.creditWaiters;
    this.creditWaiters = undefined;
    if (waiters) for (const w of waiters) w();
  }

  /** True once the call was answered, failed or cancelled: nothing more will be sent. */
  get finished(): boolean {
    return this.state === State.Done;
  }

  // ---- driven by the connection ----

  /** @internal a body chunk arrived. */
  pushBody(buf: Buffer): void {
    this.requestBody?.push(buf);
  }

  /** @internal the body is complete. */
  endBody(): void {
    this.requestBody?.end();
  }

  /** @internal the host cancelled the call or the connection dropped. */
  abort(): void {
    if (this.aborted) return;
    if (this.state === State.Done) {
      // Answered, but part of the answer was still waiting for credit: drop it.
      if (this.pending.length === 0) return;
      this.aborted = true;
      this.pending = [];
      this.endPending = false;
      this.sink.finished(this.id);
      this.wake();
      return;
    }
    this.aborted = true;
    this.state = State.Done;
    this.held = null;
    this.pending = [];
    this.endPending = false;
    this.wake();
    this.sink.finished(this.id);
    this.requestBody?.fail(cancelled());
    this.abortInScope?.();
    const listeners = this.abortListeners;
    this.abortListeners = undefined;
    if (listeners) for (const l of listeners) l();
  }

  /** Moves to `next`; false when the call was cancelled (the answer is silently dropped). */
  private begin(next: number): boolean {
    if (this.state === State.Open) {
      this.state = next;
      return true;
    }
    if (this.aborted) return false;
    throw new Error('the call was already answered');
  }

  private finish(): void {
    this.state = State.Done;
    // With body bytes still waiting for credit, the stream stays known until they are out.
    if (this.pending.length === 0) this.sink.finished(this.id);
    else this.releaseAfterPending = true;
  }
}

function releaseHeld(call: IncomingCall): void {
  call.releaseHeld();
}

function cancelled(): Error {
  return new DOMException('the call was cancelled', 'AbortError');
}
