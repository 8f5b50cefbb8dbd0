/**
 * Test helpers: hand-written tar and zip writers, so tests can build the malicious archives that
 * real tools refuse to create, with no dependency on system binaries.
 */
import { Readable } from 'node:stream';
import { createGzip, deflateRawSync } from 'node:zlib';

/** One tar entry; `type` is the raw typeflag ('0' file, '1' hard link, '2' symlink, '3' char dev, '5' dir, '6' fifo). */
export interface TarItem {
  name: string;
  type?: string;
  mode?: number;
  body?: Buffer | string;
  linkname?: string;
}

function putString(buf: Buffer, off: number, len: number, s: string): void {
  const b = Buffer.from(s, 'utf8');
  if (b.length > len) throw new Error(`tar field too long: ${s}`);
  b.copy(buf, off);
}

function putOctal(buf: Buffer, off: number, len: number, n: number): void {
  putString(buf, off, len, n.toString(8).padStart(len - 1, '0') + '\0');
}

/** A 512-byte ustar header. */
export function tarHeader(item: TarItem, size: number): Buffer {
  const h = Buffer.alloc(512);
  putString(h, 0, 100, item.name);
  putOctal(h, 100, 8, item.mode ?? (item.type === '5' ? 0o755 : 0o644));
  putOctal(h, 108, 8, 1000);
  putOctal(h, 116, 8, 1000);
  putOctal(h, 124, 12, size);
  putOctal(h, 136, 12, 1_700_000_000);
  h.fill(' ', 148, 156); // checksum is computed with its own field as spaces
  h.write(item.type ?? '0', 156, 'latin1');
  putString(h, 157, 100, item.linkname ?? '');
  h.write('ustar\u000000', 257, 'latin1');
  putString(h, 265, 32, 'user');
  putString(h, 297, 32, 'user');
  putOctal(h, 329, 8, 0);
  putOctal(h, 337, 8, 0);
  let sum = 0;
  for (const byte of h) sum += byte;
  putString(h, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return h;
}

/** A tar archive of `items`, with the two-block end marker unless `end` is false. */
export function makeTar(items: TarItem[], opts: { end?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const item of items) {
    const body = typeof item.body === 'string' ? Buffer.from(item.body) : (item.body ?? Buffer.alloc(0));
    parts.push(tarHeader(item, body.length), body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  if (opts.end !== false) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** One zip entry; `mode` is a full unix st_mode (e.g. 0o100755, 0o120777 for a symlink). */
export interface ZipItem {
  name: string;
  body?: Buffer | string;
  mode?: number;
  deflate?: boolean;
  /** Overrides the uncompressed size recorded in the headers (to build lying bombs). */
  declaredSize?: number;
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

export function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const byte of buf) c = (crcTable[(c ^ byte) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A zip archive (stored or deflated entries, made by "unix", UTF-8 names). */
export function makeZip(items: ZipItem[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const item of items) {
    const name = Buffer.from(item.name, 'utf8');
    const body = typeof item.body === 'string' ? Buffer.from(item.body) : (item.body ?? Buffer.alloc(0));
    const data = item.deflate ? deflateRawSync(body) : body;
    const crc = crc32(body);
    const usize = item.declaredSize ?? body.length;
    const method = item.deflate ? 8 : 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(0x21, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(usize, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(usize, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((item.mode ?? (item.name.endsWith('/') ? 0o40755 : 0o100644)) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, data);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(items.length, 8);
  eocd.writeUInt16LE(items.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

/** A byte stream of `buf` in chunks of `chunkSize` (small chunks exercise boundary handling). */
export function bodyOf(buf: Buffer, chunkSize = 16 * 1024): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < buf.length; i += chunkSize) chunks.push(buf.subarray(i, i + chunkSize));
  return Readable.from(chunks, { objectMode: false });
}

/**
 * A gzip stream of `prefix` followed by `zeroMiB` MiB of zeros, compressed lazily so a test only
 * pays for what the unpacker actually reads.
 */
export function gzipBomb(prefix: Buffer, zeroMiB: number): Readable {
  const zeros = Buffer.alloc(1024 * 1024);
  async function* gen(): AsyncGenerator<Buffer> {
    yield prefix;
    for (let i = 0; i < zeroMiB; i++) yield zeros;
  }
  return Readable.from(gen(), { objectMode: false }).pipe(createGzip({ level: 1 }));
}
