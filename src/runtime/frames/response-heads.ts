import { decodeResponseHead } from './codec.js';
import { bodiless, dropBodyFraming } from './header-rules.js';

/** Heads longer than this are decoded every time (comparing them would cost what decoding does). */
const CACHED_HEAD_MAX = 1024;

/**
 * The RESPONSE heads of one instance, decoded: most functions answer every call with the same
 * status and headers, and comparing the head's bytes with the last one's costs a sixth of decoding
 * them again (string, split, framing rules). One entry: a function whose heads vary decodes each.
 */
export class ResponseHeads {
  /** Set by `decode`: the status of the head (502 when the function's is no HTTP status). */
  status = 0;
  /** Set by `decode`: where the inline body starts in the payload. */
  bodyAt = 0;
  private last: Buffer | null = null;
  private lastStatus = 0;
  private lastHeaders: string[] = [];
  /** The last head's headers without the function's Content-Length and Transfer-Encoding. */
  private lastUnframed: string[] | null = null;

  /**
   * The header list of a RESPONSE payload: a new array, the caller's to extend (what Node's
   * `writeHead` takes). `complete`: the body is inline and whole, so the function's own body
   * framing is dropped (the gateway sets an exact Content-Length).
   */
  decode(payload: Buffer, complete: boolean): string[] {
    const headLen = payload.readUInt32BE(0);
    this.bodyAt = 4 + headLen;
    if (!this.same(payload, headLen)) this.remember(payload, headLen);
    const status = (this.status = this.lastStatus);
    if (!complete || bodiless(status)) return this.lastHeaders.slice();
    if (this.lastUnframed === null) {
      this.lastUnframed = this.lastHeaders.slice();
      dropBodyFraming(this.lastUnframed);
    }
    return this.lastUnframed.slice();
  }

  private same(payload: Buffer, headLen: number): boolean {
    const last = this.last;
    if (last === null || last.length !== headLen) return false;
    // A byte loop: for heads this short it is faster than Buffer#compare's bounds checks.
    for (let i = 0; i < headLen; i++) if (payload[4 + i] !== last[i]) return false;
    return true;
  }

  private remember(payload: Buffer, headLen: number): void {
    const { status: given, headers } = decodeResponseHead(payload);
    const status = Number(given);
    this.lastStatus = status >= 100 && status <= 999 ? status : 502;
    this.lastHeaders = headers;
    this.lastUnframed = null;
    this.last = headLen <= CACHED_HEAD_MAX ? Buffer.from(payload.subarray(4, 4 + headLen)) : null;
  }
}
