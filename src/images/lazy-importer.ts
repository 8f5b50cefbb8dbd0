/**
 * The image importer, loaded on first use: reading archives, flattening layers and pulling from
 * registries take some twenty modules an idle server (and every server that never deploys an
 * image) has no use for.
 */
import type { Readable } from 'node:stream';
import type { ImageImporter, ImageImportOptions } from './image-importer.js';
import type { ImportedImage } from './image-manifest.js';
import type { ImageArchiveFormat } from './read-archive.js';
import type { RegistryLogin } from './registry-credentials.js';

/** What deploys need of an importer. */
export type ImageImports = Pick<ImageImporter, 'importReference' | 'importArchive'>;

export class LazyImageImporter implements ImageImports {
  private loaded?: Promise<ImageImporter>;

  constructor(private readonly o: ImageImportOptions) {}

  private importer(): Promise<ImageImporter> {
    this.loaded ??= import('./image-importer.js').then((m) => new m.ImageImporter(this.o));
    return this.loaded;
  }

  async importReference(ref: string, stagingDir: string, log: (line: string) => void, login?: RegistryLogin): Promise<ImportedImage> {
    return (await this.importer()).importReference(ref, stagingDir, log, login);
  }

  async importArchive(body: Readable, format: ImageArchiveFormat, stagingDir: string, log: (line: string) => void): Promise<ImportedImage> {
    return (await this.importer()).importArchive(body, format, stagingDir, log);
  }
}
