import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { ReadEntry } from 'tar';
import { FerryError } from '../errors/index.js';
import { abortable, entryComponents } from '../packages/index.js';
import type { BlobCache } from './blob-cache.js';
import { RootfsWriter, type RootfsLimits } from './rootfs-writer.js';
import { forEachTarEntry } from './tar-entries.js';
import { formatBytes } from '../util/format-bytes.js';
import { shortDigest } from './progress.js';

/** One layer of an image, lowest first. */
export interface LayerRef {
  /** Digest of the blob as stored (compressed or not). */
  digest: string;
  /** `sha256:` of the uncompressed tar (the config's `rootfs.diff_ids`): checked while unpacking. */
  diffId: string;
  /** The descriptor's media type; absent in a `docker save` archive (the bytes tell). */
  mediaType?: string;
}

/** What a flattening wrote. */
export interface FlattenResult {
  entries: number;
  bytes: number;
}

/**
 * Applies `layers` in order into `destDir` (a package staging directory): gzip or plain tars,
 * whiteouts and opaque directories honoured, each layer's uncompressed bytes checked against its
 * diff id. The layers' uncompressed bytes together, and the files written, are each capped by
 * `limits.maxBytes` (a decompression bomb stops while inflating). Throws `image-invalid` or
 * `image-too-large` naming the layer and the entry; `destDir` may then hold partial content and
 * the caller discards it.
 */
export async function flattenLayers(layers: readonly LayerRef[], cache: BlobCache, destDir: string, limits: RootfsLimits, log: (line: string) => void): Promise<FlattenResult> {
  const writer = new RootfsWriter(destDir, limits);
  const inflated = { bytes: 0 };
  for (const layer of layers) {
    const what = `layer ${shortDigest(layer.digest)}`;
    try {
      writer.beginLayer();
      const path = cache.path(layer.digest);
      const gzip = await isGzip(layer, path);
      const meter = new DiffIdMeter(inflated, limits.maxBytes);
      const source: Readable = gzip
        ? pipeline(createReadStream(path), createGunzip(), meter, () => {})
        : pipeline(createReadStream(path), meter, () => {});
      await forEachTarEntry(source, what, (entry, signal) => applyEntry(writer, entry, signal));
      const got = meter.digest();
      if (got !== layer.diffId) throw new FerryError('image-invalid', `its uncompressed bytes hash to ${got}, but the image config's rootfs.diff_ids say ${layer.diffId}`);
    } catch (err) {
      throw inLayer(what, layer.digest, err);
    }
  }
  const { entries, bytes } = writer.totals();
  log(`flattened: ${entries} entries, ${formatBytes(bytes)}`);
  return { entries, bytes };
}

/** Writes one layer entry; whiteouts become deletions. */
async function applyEntry(w: RootfsWriter, entry: ReadEntry, signal: AbortSignal): Promise<void> {
  w.count();
  const parts = components(entry.path);
  const name = parts[parts.length - 1] ?? '';
  if (name.startsWith('.wh.')) {
    entry.resume();
    const dir = parts.slice(0, -1);
    if (name === '.wh..wh..opq') return w.opaque(dir);
    if (name.startsWith('.wh..wh.')) return; // other aufs bookkeeping: nothing of the image
    const hidden = name.slice(4);
    if (hidden === '' || hidden === '.' || hidden === '..') throw new FerryError('image-invalid', `entry ${entry.path}: a whiteout of nothing`);
    return w.whiteout([...dir, hidden]);
  }
  switch (entry.type) {
    case 'File':
    case 'OldFile':
    case 'ContiguousFile':
      return w.file(parts, entry.mode ?? 0o644, abortable(entry as AsyncIterable<Buffer>, signal));
    case 'Directory':
      entry.resume();
      return w.dir(parts);
    case 'SymbolicLink':
      entry.resume();
      return w.symlink(parts, entry.linkpath ?? '');
    case 'Link':
      entry.resume();
      return w.hardlink(parts, components(entry.linkpath ?? ''));
    case 'CharacterDevice':
    case 'BlockDevice':
      throw new FerryError('image-invalid', `entry ${entry.path}: device files are not allowed (the sandbox provides /dev)`);
    case 'FIFO':
      throw new FerryError('image-invalid', `entry ${entry.path}: fifos are not allowed`);
    default:
      throw new FerryError('image-invalid', `entry ${entry.path}: ${entry.type} entries are not allowed`);
  }
}

/** An entry name as path components; `..` and absolute names are refused (as for packages). */
function components(raw: string): string[] {
  try {
    return entryComponents(raw);
  } catch (err) {
    throw new FerryError('image-invalid', `entry ${raw}: ${(err as Error).message}`);
  }
}

/**
 * Whether a layer is gzip-compressed: by its media type, or, without one (`docker save`), by its
 * first bytes. zstd (and anything else) is refused by name.
 */
async function isGzip(layer: LayerRef, path: string): Promise<boolean> {
  const media = layer.mediaType;
  if (media !== undefined) {
    if (/zstd/.test(media)) throw new FerryError('image-invalid', `media type ${media}: zstd-compressed layers are not supported; push the image with gzip layers`);
    if (/tar\+gzip$|tar\.gzip$/.test(media)) return true;
    if (/(\.|\+|\/)tar$/.test(media)) return false;
    throw new FerryError('image-invalid', `media type ${media} is not a layer Ferry can unpack (gzip or plain tar)`);
  }
  const head = Buffer.alloc(4);
  const fh = await open(path, 'r');
  try {
    await fh.read(head, 0, 4, 0);
  } finally {
    await fh.close();
  }
  if (head.readUInt32BE(0) === 0x28b52ffd) throw new FerryError('image-invalid', 'it is zstd-compressed; only gzip and plain tar layers are supported');
  return head[0] === 0x1f && head[1] === 0x8b;
}

/** Hashes the uncompressed layer as it passes and counts it against the image's cap. */
class DiffIdMeter extends Transform {
  private readonly hash = createHash('sha256');

  constructor(
    private readonly total: { bytes: number },
    private readonly max: number,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.total.bytes += chunk.length;
    if (this.total.bytes > this.max) return cb(new FerryError('image-too-large', `the layers unpack to more than ${this.max} bytes (--image-max-bytes)`));
    this.hash.update(chunk);
    cb(null, chunk);
  }

  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

/** Names the layer in an error; file system errors an entry caused become `image-invalid`. */
function inLayer(what: string, digest: string, err: unknown): FerryError {
  if (err instanceof FerryError) {
    if (err.code !== 'image-invalid' && err.code !== 'image-too-large') return err;
    return new FerryError(err.code, `${what}: ${err.message}`, { extras: { layer: digest } });
  }
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENAMETOOLONG' || code === 'EILSEQ' || code === 'ELOOP' || code === 'ENOTDIR' || code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR') {
    return new FerryError('image-invalid', `${what}: cannot be unpacked: ${(err as Error).message}`, { extras: { layer: digest }, cause: err });
  }
  return new FerryError('internal', `${what}: unpacking failed: ${(err as Error).message}`, { cause: err });
}
