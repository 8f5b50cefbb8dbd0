import { FerryError } from '../../errors/index.js';
import { CoapRefusal } from './refusal.js';
import { uintValue, type BlockOption } from './request-options.js';

interface Upload {
  chunks: Buffer[];
  received: number;
  touched: number;
}

/**
 * Request bodies that arrive in blocks (RFC 7959 Block1), kept until their last block. Bounded
 * three ways: a body stops at `--max-body` (4.13 with Size1, as soon as Size1 or the blocks say
 * so), all uploads together at `maxBytes` (5.03), and an upload idle for `idleMs` is dropped.
 */
export class Block1Uploads {
  private readonly uploads = new Map<string, Upload>();
  private bytes = 0;

  constructor(
    private readonly maxBody: number,
    private readonly maxBytes: number,
    private readonly idleMs: number,
  ) {}

  /**
   * Takes one block of the body `key` names (client, method, URI, Request-Tag); answers the whole
   * body once the last block came, undefined while more are to come.
   */
  add(key: string, block: BlockOption, payload: Buffer, size1: number | undefined, now: number): Buffer | undefined {
    this.sweep(now);
    let up = this.uploads.get(key);
    if (up && block.num === 0) this.drop(key, up);
    if (size1 !== undefined && size1 > this.maxBody) throw this.tooLarge(size1);
    if (block.num === 0) up = { chunks: [], received: 0, touched: now };
    else if (!up || block.num * block.size !== up.received) {
      if (up) this.drop(key, up);
      throw new CoapRefusal('4.08', `block ${block.num} does not follow the blocks Ferry has of this body; start again at block 0`);
    }
    if (block.more && payload.length !== block.size) {
      this.drop(key, up);
      throw new CoapRefusal('4.00', `block ${block.num} holds ${payload.length} bytes, not its size ${block.size}`);
    }
    if (up.received + payload.length > this.maxBody) {
      this.drop(key, up);
      throw this.tooLarge(up.received + payload.length);
    }
    if (this.bytes + payload.length > this.maxBytes) {
      this.drop(key, up);
      throw new FerryError('queue-full', 'too many block-wise request bodies are being received; retry later');
    }
    this.uploads.delete(key);
    up.chunks.push(payload);
    up.received += payload.length;
    up.touched = now;
    this.bytes += payload.length;
    if (block.more) {
      // Re-inserted: the map's order is the order of last use, so the sweep stops at the first fresh one.
      this.uploads.set(key, up);
      return undefined;
    }
    this.bytes -= up.received;
    return up.chunks.length === 1 ? up.chunks[0]! : Buffer.concat(up.chunks);
  }

  clear(): void {
    this.uploads.clear();
    this.bytes = 0;
  }

  private tooLarge(size: number): CoapRefusal {
    return new CoapRefusal('4.13', `the request body is ${size} bytes or more; the limit is ${this.maxBody}`, [{ name: 'Size1', value: uintValue(this.maxBody) }]);
  }

  private drop(key: string, up: Upload | undefined): void {
    if (!up || this.uploads.get(key) !== up) return;
    this.uploads.delete(key);
    this.bytes -= up.received;
  }

  private sweep(now: number): void {
    for (const [key, up] of this.uploads) {
      if (now - up.touched < this.idleMs) break;
      this.drop(key, up);
    }
  }
}
