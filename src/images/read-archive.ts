import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadEntry } from 'tar';
import { FerryError } from '../errors/index.js';
import { abortable, attachBody, entryComponents } from '../packages/index.js';
import { formatBytes } from '../util/format-bytes.js';
import type { BlobCache } from './blob-cache.js';
import type { LayerRef } from './flatten.js';
import { parseImageConfig, type ParsedImageConfig } from './image-config.js';
import { selectManifest, type Descriptor } from './oci-index.js';
import { shortDigest } from './progress.js';
import { forEachTarEntry } from './tar-entries.js';

/** The two archive formats an image upload may use. */
export type ImageArchiveFormat = 'docker' | 'oci';

/** Caps of one image archive. */
export interface ImageArchiveLimits {
  /** Most bytes of the archive, and of any one blob in it. */
  maxBytes: number;
  /** Most entries of the archive. */
  maxEntries: number;
}

/** An image read from an archive, its blobs in the cache. */
export interface ArchiveImage {
  /** `sha256:` of the image manifest (OCI layout) or of the config (docker save). */
  digest: string;
  config: ParsedImageConfig;
  layers: LayerRef[];
}

/** Largest JSON document (manifest, index, config) read into memory. */
const MAX_JSON = 4 * 1024 * 1024;
/** Archive files up to this size are kept in memory as they arrive (they may be the JSON ones). */
const SMALL_FILE = 1024 * 1024;
const BLOB_PATH = /^blobs\/sha256\/([0-9a-f]{64})$/;

/**
 * Reads an uploaded image archive as it streams: a `docker save` archive (`manifest.json`, the
 * config, layer tars named by path or by digest) or an OCI image layout (`oci-layout`,
 * `index.json`, `blobs/sha256/...`). Every blob is stored in `cache` only once its bytes match its
 * digest (blobs named by path are stored under the digest of their bytes, and a layer's bytes are
 * checked against the config's diff ids when it is unpacked). `format` is what the upload said;
 * an archive that is plainly the other one (Docker 25+ writes both files) is read as what it holds.
 */
export async function readImageArchive(body: Readable, format: ImageArchiveFormat, cache: BlobCache, spoolDir: string, limits: ImageArchiveLimits, log: (line: string) => void): Promise<ArchiveImage> {
  const archive = new ArchiveContents(cache, spoolDir, limits);
  const capped = new Cap(limits.maxBytes);
  const detach = attachBody(body, capped);
  try {
    await forEachTarEntry(capped, 'the image archive', (entry, signal) => archive.add(entry, signal));
  } catch (err) {
    detach(limits.maxBytes); // the rest of the upload is read and dropped, so the answer can go out
    throw err;
  }
  const hasDocker = archive.hasFile('manifest.json');
  const hasOci = archive.hasFile('index.json');
  const read = (hasOci && (format === 'oci' || !hasDocker)) ? readOciLayout : hasDocker ? readDockerSave : undefined;
  if (!read) throw new FerryError('image-invalid', 'the archive is neither a docker save archive (manifest.json) nor an OCI image layout (index.json)');
  const image = await read(archive);
  for (const layer of image.layers) log(`layer ${shortDigest(layer.digest)} ${formatBytes((await stat(cache.path(layer.digest))).size)}`);
  return image;
}

/** `docker save`: one image in manifest.json; the image's digest is its config's. */
async function readDockerSave(a: ArchiveContents): Promise<ArchiveImage> {
  const manifest = parseJson(await a.fileByPath('manifest.json'), 'manifest.json');
  if (!Array.isArray(manifest) || manifest.length !== 1) {
    throw new FerryError('image-invalid', `manifest.json must list exactly one image; it lists ${Array.isArray(manifest) ? manifest.length : 'none'} (save one image per archive)`);
  }
  const entry = manifest[0] as { Config?: unknown; Layers?: unknown };
  if (typeof entry.Config !== 'string' || !Array.isArray(entry.Layers) || !entry.Layers.every((l) => typeof l === 'string')) {
    throw new FerryError('image-invalid', 'manifest.json: the image needs Config (a path) and Layers (a list of paths)');
  }
  const configBytes = await a.fileByPath(entry.Config);
  const digest = `sha256:${createHash('sha256').update(configBytes).digest('hex')}`;
  // Older Docker names the config after its own digest: a name that says otherwise is a lie.
  const named = /^([0-9a-f]{64})\.json$/.exec(entry.Config);
  if (named && `sha256:${named[1]}` !== digest) throw new FerryError('image-invalid', `the config ${entry.Config} does not match its name (its bytes hash to ${digest})`);
  const config = parseImageConfig(configBytes);
  const paths = entry.Layers as string[];
  checkLayerCount(config, paths.length);
  const layers: LayerRef[] = [];
  for (const [i, p] of paths.entries()) layers.push({ digest: await a.blobByPath(p), diffId: config.diffIds[i]! });
  return { digest, config, layers };
}

/** OCI image layout: index.json names the manifest (linux/amd64 of an index), the manifest the blobs. */
async function readOciLayout(a: ArchiveContents): Promise<ArchiveImage> {
  if (!a.hasFile('oci-layout')) throw new FerryError('image-invalid', 'an OCI image layout needs its oci-layout file');
  const index = parseJson(await a.fileByPath('index.json'), 'index.json');
  const chosen: Descriptor = await selectManifest(index, (d) => a.blobByDigest(d).then((b) => parseJson(b, d)));
  const manifest = parseJson(await a.blobByDigest(chosen.digest), chosen.digest) as { config?: Partial<Descriptor>; layers?: Array<Partial<Descriptor>> };
  const configDigest = manifest.config?.digest;
  if (typeof configDigest !== 'string' || !Array.isArray(manifest.layers)) throw new FerryError('image-invalid', `the image manifest ${chosen.digest} has no config or layers`);
  const config = parseImageConfig(await a.blobByDigest(configDigest));
  checkLayerCount(config, manifest.layers.length);
  const layers: LayerRef[] = manifest.layers.map((l, i) => {
    if (typeof l.digest !== 'string' || typeof l.mediaType !== 'string') throw new FerryError('image-invalid', `the image manifest's layer ${i} has no digest or media type`);
    a.requireBlob(l.digest);
    return { digest: l.digest, mediaType: l.mediaType, diffId: config.diffIds[i]! };
  });
  return { digest: chosen.digest, config, layers };
}

function checkLayerCount(config: ParsedImageConfig, layers: number): void {
  if (config.diffIds.length !== layers) throw new FerryError('image-invalid', `the image has ${layers} layers but its config lists ${config.diffIds.length} diff ids`);
}

function parseJson(bytes: Buffer, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new FerryError('image-invalid', `${what} is not JSON`);
  }
}

/**
 * The files of an image archive as they arrive: blobs named by digest go straight into the cache
 * (verified), small files are kept in memory, other large files (old `docker save` layers named
 * `<id>/layer.tar`) are spooled, hashed and stored under their digest. Symlinks between archive
 * files (old `docker save` links repeated layers) are followed, inside the archive only.
 */
class ArchiveContents {
  private entries = 0;
  private memoryBytes = 0;
  private readonly small = new Map<string, Buffer>();
  private readonly stored = new Map<string, string>(); // path -> digest
  private readonly links = new Map<string, string>(); // path -> target path
  private readonly digests = new Set<string>();

  constructor(
    private readonly cache: BlobCache,
    private readonly spoolDir: string,
    private readonly limits: ImageArchiveLimits,
  ) {}

  async add(entry: ReadEntry, signal: AbortSignal): Promise<void> {
    if (++this.entries > this.limits.maxEntries) throw new FerryError('image-too-large', `the image archive holds more than ${this.limits.maxEntries} entries (--image-max-entries)`);
    const path = this.name(entry.path);
    switch (entry.type) {
      case 'Directory':
        return void entry.resume();
      case 'SymbolicLink': {
        entry.resume();
        const target = posix.normalize(posix.join(posix.dirname(path), entry.linkpath ?? ''));
        if (target.startsWith('../') || target === '..' || target.startsWith('/')) throw new FerryError('image-invalid', `the image archive's symlink ${path} points outside it`);
        this.links.set(path, target);
        return;
      }
      case 'File':
      case 'OldFile':
      case 'ContiguousFile':
        return this.addFile(path, entry, signal);
      default:
        throw new FerryError('image-invalid', `the image archive's entry ${path}: ${entry.type} entries are not allowed`);
    }
  }

  hasFile(path: string): boolean {
    const p = this.resolve(path);
    return this.small.has(p) || this.stored.has(p);
  }

  /** A file's bytes (JSON documents: at most 4 MiB). */
  async fileByPath(path: string): Promise<Buffer> {
    const p = this.resolve(path);
    const inMemory = this.small.get(p);
    if (inMemory) return inMemory;
    const digest = this.stored.get(p);
    if (!digest) throw new FerryError('image-invalid', `the image archive has no file ${path}`);
    return this.blobByDigest(digest);
  }

  /** The digest a file is stored under in the cache (stored now if it was kept in memory). */
  async blobByPath(path: string): Promise<string> {
    const p = this.resolve(path);
    const digest = this.stored.get(p);
    if (digest) return digest;
    const bytes = this.small.get(p);
    if (!bytes) throw new FerryError('image-invalid', `the image archive has no file ${path}`);
    const d = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    await this.cache.put(d, Readable.from([bytes]), { maxBytes: bytes.length });
    this.stored.set(p, d);
    this.digests.add(d);
    return d;
  }

  /** A blob of this archive by digest (JSON documents: at most 4 MiB). */
  async blobByDigest(digest: string): Promise<Buffer> {
    this.requireBlob(digest);
    const path = this.cache.path(digest);
    if ((await stat(path)).size > MAX_JSON) throw new FerryError('image-invalid', `${digest} is too large for an image manifest or config`);
    return readFile(path);
  }

  requireBlob(digest: string): void {
    if (!this.digests.has(digest)) throw new FerryError('image-invalid', `the image archive lacks the blob ${digest}`);
  }

  private name(raw: string): string {
    try {
      return entryComponents(raw).join('/');
    } catch (err) {
      throw new FerryError('image-invalid', `the image archive's entry ${raw}: ${(err as Error).message}`);
    }
  }

  private resolve(path: string): string {
    let p = posix.normalize(path).replace(/^\.\//, '');
    for (let hops = 0; this.links.has(p); hops++) {
      if (hops >= 8) throw new FerryError('image-invalid', `the image archive's symlink ${path} loops`);
      p = this.links.get(p)!;
    }
    return p;
  }

  private async addFile(path: string, entry: ReadEntry, signal: AbortSignal): Promise<void> {
    const max = this.limits.maxBytes;
    if ((entry.size ?? 0) > max) throw new FerryError('image-too-large', `the image archive's ${path} is larger than ${max} bytes (--image-max-bytes)`);
    const named = BLOB_PATH.exec(path);
    if (named) {
      const digest = `sha256:${named[1]}`;
      await this.cache.put(digest, entry as unknown as Readable, { maxBytes: max });
      this.stored.set(path, digest);
      this.digests.add(digest);
      return;
    }
    if ((entry.size ?? 0) <= SMALL_FILE && this.memoryBytes + (entry.size ?? 0) <= MAX_JSON * 4) {
      const chunks: Buffer[] = [];
      for await (const chunk of abortable(entry as AsyncIterable<Buffer>, signal)) chunks.push(chunk);
      const bytes = Buffer.concat(chunks);
      this.memoryBytes += bytes.length;
      this.small.set(path, bytes);
      return;
    }
    const digest = await this.spool(entry, max);
    this.stored.set(path, digest);
    this.digests.add(digest);
  }

  /** Hashes a file of unknown digest into a spool file, then stores it in the cache by that digest. */
  private async spool(entry: ReadEntry, max: number): Promise<string> {
    await mkdir(this.spoolDir, { recursive: true, mode: 0o700 });
    const temp = join(this.spoolDir, randomBytes(12).toString('hex'));
    try {
      const hash = createHash('sha256');
      const hasher = new Transform({
        transform(chunk: Buffer, _enc, cb: TransformCallback) {
          hash.update(chunk);
          cb(null, chunk);
        },
      });
      await pipeline(entry as unknown as Readable, hasher, createWriteStream(temp, { mode: 0o600, flags: 'wx' }));
      const digest = `sha256:${hash.digest('hex')}`;
      await this.cache.put(digest, createReadStream(temp), { maxBytes: max });
      return digest;
    } finally {
      await rm(temp, { force: true });
    }
  }
}

/** Fails the stream with `image-too-large` past `max` bytes. */
class Cap extends Transform {
  private seen = 0;

  constructor(private readonly max: number) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.max) return cb(new FerryError('image-too-large', `the image archive is larger than ${this.max} bytes (--image-max-bytes)`));
    cb(null, chunk);
  }
}
