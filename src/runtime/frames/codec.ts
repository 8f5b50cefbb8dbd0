/**
 * The frame protocol between the gateway and an instance's shim: many concurrent calls over one
 * long-lived Unix socket, one frame per message part, no per-call connection setup and no JSON
 * around bodies. This file imports only Node built-ins: shims that run inside sandboxes use it.
 *
 * frame   = u32 length (of the rest) | u8 type (low 7 bits) + END flag (0x80) | u32 stream id | payload
 * REQUEST = u32 head length | head | inline body bytes       (host -> instance)
 *           head = method \0 url \0 request-id \0 name \0 value \0 ...
 * RESPONSE= u32 head length | head | inline body bytes       (instance -> host)
 *           head = status \0 name \0 value \0 ...
 * DATA    = body bytes (either way);  END = no payload (either way)
 * RESET   = utf-8 reason: host -> instance cancels a call; instance -> host fails it
 * LOAD    = JSON {handler, env, cwd} (host -> pooled instance, stream LOAD_STREAM): a pre-booted
 *           shim that has no function yet loads this one; it answers a RESPONSE (status 200, END)
 *           once the handler is loaded, or a RESET with the reason (and exits)
 * WINDOW  = u32 bytes (host -> instance): the stream may send that many more response DATA bytes
 * HELLO   = no payload (instance -> host, stream LOAD_STREAM): the first frame on every connection
 *           the shim accepts; it says "ready": the function is loaded (a pooled shim: it waits for
 *           LOAD). The host calls an instance ready on its HELLO, never on a connect alone.
 * END flag on REQUEST/RESPONSE/DATA: the body is complete after this frame. A RESPONSE with END
 *           needs no Content-Length: the host sets the inline body's exact length (and drops one
 *           the shim sent); a shim that leaves it out keeps its heads the same from call to call.
 *
 * Flow control, per stream, for response DATA only: a stream starts with STREAM_WINDOW bytes of
 * credit; the host returns credit with WINDOW frames as its client takes the bytes. A slow reader
 * then holds back its own stream, not the connection (every other call on the instance goes on).
 * A shim that does not keep to it (one that sends whole answers at once) is still safe: the host
 * stops reading the connection while such a stream is more than a window ahead of its client.
 */
export const FrameType = {
  request: 1,
  data: 2,
  end: 3,
  response: 4,
  reset: 5,
  load: 6,
  window: 7,
  hello: 8,
} as const;

/** Response DATA bytes a stream may have in flight before the host grants more (WINDOW). */
export const STREAM_WINDOW = 1024 * 1024;

/** The stream id of LOAD and its answer; calls never use it (their ids start at 1). */
export const LOAD_STREAM = 0;

export const END = 0x80;
const HEADER = 9;
/** Frames larger than this are refused: a corrupt length must not make us buffer gigabytes. */
export const MAX_FRAME = 64 * 1024 * 1024;
const SEP = '\0';

/** Encodes one frame with no payload or a raw payload. */
export function encodeFrame(type: number, id: number, payload?: Uint8Array): Buffer {
  const len = payload ? payload.length : 0;
  const buf = Buffer.allocUnsafe(HEADER + len);
  buf.writeUInt32BE(len + 5, 0);
  buf[4] = type;
  buf.writeUInt32BE(id, 5);
  if (payload && len) buf.set(payload, HEADER);
  return buf;
}

/** Encodes a WINDOW frame granting `bytes` more of stream `id`. */
export function encodeWindow(id: number, bytes: number): Buffer {
  const buf = Buffer.allocUnsafe(HEADER + 4);
  buf.writeUInt32BE(9, 0);
  buf[4] = FrameType.window;
  buf.writeUInt32BE(id, 5);
  buf.writeUInt32BE(bytes, HEADER);
  return buf;
}

/** Encodes a REQUEST or RESPONSE frame: head fields plus an optional inline body, one buffer. */
export function encodeHeadFrame(type: number, id: number, fields: string[], body?: Uint8Array | string): Buffer {
  const head = fields.join(SEP);
  return headFrame(type, id, head, Buffer.byteLength(head), body);
}

/** A REQUEST or RESPONSE frame of a head (a joined string, or its bytes) and an optional body. */
function headFrame(type: number, id: number, head: string | Buffer, headLen: number, body: Uint8Array | string | undefined): Buffer {
  const bodyLen = body === undefined ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  const total = HEADER + 4 + headLen + bodyLen;
  const buf = Buffer.allocUnsafe(total);
  buf.writeUInt32BE(total - 4, 0);
  buf[4] = type;
  buf.writeUInt32BE(id, 5);
  buf.writeUInt32BE(headLen, HEADER);
  if (typeof head === 'string') buf.write(head, HEADER + 4, headLen, 'utf8');
  else buf.set(head, HEADER + 4);
  if (bodyLen) {
    if (typeof body === 'string') buf.write(body, HEADER + 4 + headLen, bodyLen, 'utf8');
    else buf.set(body as Uint8Array, HEADER + 4 + headLen);
  }
  return buf;
}

/** Heads up to this size are kept for reuse by `HeadFrames`. */
const REUSED_HEAD_MAX = 4096;

/**
 * Encodes REQUEST/RESPONSE frames, reusing the bytes of the last head when the next one has the
 * same fields: a function answers most calls with the same status and headers, and joining and
 * encoding them again cost a shim ~40 % of its frame encoding. The fields array is kept, not
 * copied: callers pass a fresh one and do not change it afterwards.
 */
export class HeadFrames {
  private fields: readonly string[] = [];
  private head: Buffer = Buffer.alloc(0);

  encode(type: number, id: number, fields: string[], body?: Uint8Array | string): Buffer {
    let head = this.head;
    if (!sameFields(fields, this.fields)) {
      head = Buffer.from(fields.join(SEP), 'utf8');
      if (head.length <= REUSED_HEAD_MAX) {
        this.head = head;
        this.fields = fields;
      }
    }
    return headFrame(type, id, head, head.length, body);
  }
}

function sameFields(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Splits a REQUEST/RESPONSE payload into its head fields and inline body. */
export function decodeHead(payload: Buffer): { fields: string[]; body: Buffer } {
  const headLen = payload.readUInt32BE(0);
  const fields = payload.toString('utf8', 4, 4 + headLen).split(SEP);
  return { fields, body: payload.subarray(4 + headLen) };
}

/**
 * A RESPONSE payload as its status, the header list that follows it (name, value, ...: what
 * Node's `writeHead` takes, with no copy), and the inline body.
 */
export function decodeResponseHead(payload: Buffer): { status: string; headers: string[]; body: Buffer } {
  const headLen = payload.readUInt32BE(0);
  const head = payload.toString('utf8', 4, 4 + headLen);
  const cut = head.indexOf(SEP);
  // A head of a status alone has no separator; a list that is not pairs loses its odd end.
  const headers = cut < 0 ? [] : head.slice(cut + 1).split(SEP);
  if (headers.length % 2 !== 0) headers.length--;
  return { status: cut < 0 ? head : head.slice(0, cut), headers, body: payload.subarray(4 + headLen) };
}

export type FrameHandler = (type: number, flags: number, id: number, payload: Buffer) => void;

/**
 * Incremental decoder: feed it socket chunks, it calls `onFrame` for each whole frame. Payloads
 * are views into the received chunks whenever a frame does not straddle two chunks.
 */
export class FrameDecoder {
  /** Bytes of an incomplete frame, kept as received: joined once the frame is whole. */
  private held: Buffer[] = [];
  private heldBytes = 0;
  /** Total size of the frame being collected (0 while its length is not known yet). */
  private needed = 0;

  constructor(private readonly onFrame: FrameHandler) {}

  push(chunk: Buffer): void {
    if (this.heldBytes > 0) {
      this.held.push(chunk);
      this.heldBytes += chunk.length;
      if (this.needed === 0 && this.heldBytes >= 4) this.needed = 4 + peekLength(this.held);
      // A big frame arrives in many chunks: join them once, not once per chunk.
      if (this.needed === 0 || this.heldBytes < this.needed) return;
      chunk = this.held.length === 1 ? this.held[0]! : Buffer.concat(this.held, this.heldBytes);
      this.held = [];
      this.heldBytes = 0;
      this.needed = 0;
    }
    let off = 0;
    while (chunk.length - off >= 4) {
      const len = chunk.readUInt32BE(off);
      if (len < 5 || len > MAX_FRAME) throw new Error(`frame length ${len} out of range`);
      if (chunk.length - off < 4 + len) {
        this.needed = 4 + len;
        break;
      }
      const typeByte = chunk[off + 4]!;
      const id = chunk.readUInt32BE(off + 5);
      const payload = chunk.subarray(off + HEADER, off + 4 + len);
      off += 4 + len;
      this.onFrame(typeByte & 0x7f, typeByte & END, id, payload);
    }
    if (off < chunk.length) {
      // A small remainder is copied so it does not pin the whole chunk.
      const rest = chunk.length - off < 4096 ? Buffer.from(chunk.subarray(off)) : chunk.subarray(off);
      this.held = [rest];
      this.heldBytes = rest.length;
      if (rest.length < 4) this.needed = 0;
    }
  }
}

/** The length field of a frame whose first bytes are spread over `parts`. */
function peekLength(parts: Buffer[]): number {
  const head = Buffer.concat(parts).subarray(0, 4);
  const len = head.readUInt32BE(0);
  if (len < 5 || len > MAX_FRAME) throw new Error(`frame length ${len} out of range`);
  return len;
}
