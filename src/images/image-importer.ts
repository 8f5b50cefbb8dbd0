import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { FerryError } from '../errors/index.js';
import { BlobCache } from './blob-cache.js';
import { flattenLayers } from './flatten.js';
import type { ImportedImage } from './image-manifest.js';
import { readImageArchive, type ImageArchiveFormat } from './read-archive.js';
import { parseImageConfig, requireWantedPlatform } from './image-config.js';
import { ImagePuller } from './pull.js';
import type { RegistryLogin } from './registry-credentials.js';
import type { RegistrySettings } from './registry-settings.js';

/** Settings of image imports (`--image-max-bytes`, `--image-max-entries`). */
export interface ImageImportOptions {
  dataDir: string;
  /** Most bytes of an archive, of any one blob, of the layers unpacked and of the flattened tree. */
  maxBytes: number;
  /** Most entries of an archive, and of all its layers together. */
  maxEntries: number;
  /** How to reach registries (absent: no pulls, only uploaded archives). */
  registry?: RegistrySettings;
  /** Added to the names of this process's scratch dirs, so another server process's start never wipes them; default ''. */
  scratchSuffix?: string;
}

/**
 * Turns container images into package trees: blobs into the shared blob cache (verified by
 * digest), layers flattened into a package staging directory. What it answers goes into the
 * version's manifest `image`.
 */
export class ImageImporter {
  readonly cache: BlobCache;
  /** Archive files named by path (not digest) are hashed here on their way into the cache. */
  private readonly spoolDir: string;

  /** Pulls from registries into the same cache, so archives and pulls share their layers. */
  private readonly puller: ImagePuller | undefined;

  constructor(private readonly o: ImageImportOptions) {
    this.cache = new BlobCache(o.dataDir, `.incoming${o.scratchSuffix ?? ''}`);
    this.spoolDir = join(o.dataDir, 'images', `spool${o.scratchSuffix ?? ''}`);
    rmSync(this.spoolDir, { recursive: true, force: true }); // a crash's leftovers mean nothing
    this.puller = o.registry ? new ImagePuller({ blobs: this.cache, ...o.registry }) : undefined;
  }

  /**
   * Pulls `ref` from its registry (verified blob by blob into the cache) and flattens it into
   * `stagingDir`. `login`: the deploying user's credentials for this pull only, never kept.
   */
  async importReference(ref: string, stagingDir: string, log: (line: string) => void, login?: RegistryLogin): Promise<ImportedImage> {
    if (!this.puller) throw new FerryError('unsupported-media-type', 'this server does not pull images from registries');
    const pulled = await this.puller.pull(ref, { ...(login && { login }), onProgress: log });
    const config = parseImageConfig(pulled.config);
    if (config.diffIds.length !== pulled.layers.length) {
      throw new FerryError('image-invalid', `the image's manifest lists ${pulled.layers.length} layers but its config ${config.diffIds.length} diff ids`);
    }
    const layers = pulled.layers.map((l, i) => ({ digest: l.digest, diffId: config.diffIds[i]!, mediaType: l.mediaType }));
    await flattenLayers(layers, this.cache, stagingDir, { maxBytes: this.o.maxBytes, maxEntries: this.o.maxEntries }, log);
    return { source: pulled.source, digest: pulled.manifestDigest, config: config.run };
  }

  /**
   * Reads an uploaded image archive and flattens it into `stagingDir`. Throws `image-invalid` /
   * `image-too-large` naming the layer and entry; the caller discards `stagingDir` then.
   */
  async importArchive(body: Readable, format: ImageArchiveFormat, stagingDir: string, log: (line: string) => void): Promise<ImportedImage> {
    const limits = { maxBytes: this.o.maxBytes, maxEntries: this.o.maxEntries };
    const image = await readImageArchive(body, format, this.cache, this.spoolDir, limits, log);
    requireWantedPlatform(image.config.platform);
    await flattenLayers(image.layers, this.cache, stagingDir, limits, log);
    return { source: 'archive', digest: image.digest, config: image.config.run };
  }
}
