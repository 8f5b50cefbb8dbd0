import type { ParsedPacket } from 'coap-packet';
import { parseBlockOption } from 'coap/dist/lib/block.js';
import { CoapRefusal } from './refusal.js';

/** A Block1 or Block2 option (RFC 7959): block number, more-flag and size in bytes. */
export interface BlockOption {
  num: number;
  more: boolean;
  size: number;
}

/** What Ferry reads of a request's options. */
export interface RequestOptions {
  /** Uri-Path segments, decoded. */
  segments: string[];
  /** Uri-Query values, one `k=v` each. */
  query: string[];
  contentFormat: number | undefined;
  accept: number | undefined;
  block1: BlockOption | undefined;
  block2: BlockOption | undefined;
  /** The request body's whole size when the client told it (Size1). */
  size1: number | undefined;
  /** Request-Tag values (RFC 9175), hex: which block-wise body a block belongs to. */
  requestTag: string;
}

/** coap-packet names the options it knows; the rest come as their number in a string. */
const numbers: Record<string, number> = {
  'If-Match': 1, 'Uri-Host': 3, ETag: 4, 'If-None-Match': 5, Observe: 6, 'Uri-Port': 7, 'Location-Path': 8, OSCORE: 9,
  'Uri-Path': 11, 'Content-Format': 12, 'Max-Age': 14, 'Uri-Query': 15, 'Hop-Limit': 16, Accept: 17, 'Q-Block1': 19,
  'Location-Query': 20, Block2: 23, Block1: 27, Size2: 28, 'Q-Block2': 31, 'Proxy-Uri': 35, 'Proxy-Scheme': 39, Size1: 60,
  'No-Response': 258, 'OCF-Accept-Content-Format-Version': 2049, 'OCF-Content-Format-Version': 2053,
};

/**
 * The critical options Ferry acts on. Any other critical (odd-numbered) option is refused with
 * 4.02 Bad Option, as RFC 7252 §5.4.1 asks; elective ones (Observe, ETag, No-Response, ...) have
 * no HTTP meaning here and are dropped.
 */
const understood = new Set([3, 7, 11, 15, 17, 23, 27]);
const PROXY_URI = 35;
const PROXY_SCHEME = 39;

/** Reads and checks a request's options; a refusal says which code answers it. */
export function readRequestOptions(packet: ParsedPacket): RequestOptions {
  const out: RequestOptions = { segments: [], query: [], contentFormat: undefined, accept: undefined, block1: undefined, block2: undefined, size1: undefined, requestTag: '' };
  for (const { name, value } of packet.options) {
    const n = typeof name === 'number' ? name : (numbers[name] ?? Number(name));
    switch (n) {
      case 11:
        out.segments.push(value.toString('utf8'));
        break;
      case 15:
        out.query.push(value.toString('utf8'));
        break;
      case 12:
        out.contentFormat = uint(value, 2, 'Content-Format');
        break;
      case 17:
        out.accept = uint(value, 2, 'Accept');
        break;
      case 23:
        out.block2 = block(value, 'Block2');
        break;
      case 27:
        out.block1 = block(value, 'Block1');
        break;
      case 60:
        out.size1 = uint(value, 4, 'Size1');
        break;
      case 292:
        out.requestTag += `${value.toString('hex')}.`;
        break;
      case PROXY_URI:
      case PROXY_SCHEME:
        throw new CoapRefusal('5.05', 'Ferry is no CoAP proxy');
      default:
        if (n % 2 === 1 && !understood.has(n)) throw new CoapRefusal('4.02', `option ${n} is critical and not supported`);
    }
  }
  return out;
}

/** A uint option value (RFC 7252 §3.2): big-endian, at most `max` bytes. */
function uint(value: Buffer, max: number, what: string): number {
  if (value.length > max) throw new CoapRefusal('4.02', `${what} is longer than ${max} bytes`);
  return value.length === 0 ? 0 : value.readUIntBE(0, value.length);
}

function block(value: Buffer, what: string): BlockOption {
  if (value.length > 3) throw new CoapRefusal('4.02', `${what} is longer than 3 bytes`);
  const b = value.length === 0 ? { num: 0, more: 0, size: 0 } : parseBlockOption(value);
  // SZX 7 is BERT, which exists over TCP only (RFC 8323).
  if (b.size === 7) throw new CoapRefusal('4.00', `${what}: block size exponent 7 is reserved over UDP`);
  return { num: b.num, more: b.more === 1, size: 2 ** (b.size + 4) };
}

/** A uint option value, in as few bytes as it takes. */
export function uintValue(n: number): Buffer {
  if (n === 0) return Buffer.alloc(0);
  const len = n < 0x100 ? 1 : n < 0x10000 ? 2 : n < 0x1000000 ? 3 : 4;
  const b = Buffer.alloc(len);
  b.writeUIntBE(n, 0, len);
  return b;
}
