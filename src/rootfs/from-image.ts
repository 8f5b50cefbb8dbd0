import { createReadStream, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FerryError } from '../errors/index.js';
import { ImageImporter } from '../images/image-importer.js';
import { forEachTarEntry } from '../images/tar-entries.js';
import type { ImageArchiveFormat } from '../images/read-archive.js';
import type { RegistrySettings } from '../images/registry-settings.js';
import type { ImportedImage } from '../images/image-manifest.js';
import { agentPath, rootfsFiles, type RootfsManifest } from '../sandbox/microvm/guest-layout.js';
import { findGuestKernel } from './kernel.js';
import { buildBeside, staticBusybox } from './assemble.js';
import { finishForeignRoot } from './foreign-root.js';

/** What `buildImageRootfs` is asked. */
export interface ImageRootfsOptions {
  outDir: string;
  /** A `docker save` archive or an OCI image layout tar (a file that exists), else a registry reference. */
  image: string;
  /** The data dir whose image blob cache the layers go through (shared with the server's). */
  dataDir: string;
  kernelDir?: string;
  /** How to reach registries (absent: archives only). */
  registry?: RegistrySettings;
  /** Most bytes and entries of the image, as `--image-max-bytes` and `--image-max-entries` bound uploads. */
  maxBytes: number;
  maxEntries: number;
  log?(line: string): void;
}

/** Which kind of archive `file` is: an OCI layout has `oci-layout` (and no `manifest.json`, which `docker save` writes). */
async function archiveFormat(file: string): Promise<ImageArchiveFormat> {
  const names = new Set<string>();
  await forEachTarEntry(createReadStream(file), file, async (entry) => {
    names.add(entry.path.replace(/^\.\//, ''));
    entry.resume();
  });
  if (names.has('manifest.json')) return 'docker';
  if (names.has('oci-layout')) return 'oci';
  throw new FerryError('image-invalid', `${file} is neither a \`docker save\` archive (no manifest.json) nor an OCI image layout (no oci-layout)`);
}

/**
 * `ferry rootfs build --from-image`: the guest's root is an image's root file system, read with
 * Ferry's image code (an archive's or a registry's layers, verified by digest through the blob
 * cache and flattened with every path checked: nothing in the image is trusted), plus Ferry's
 * files under /.ferry (foreign-root.ts). Built beside `outDir` and swapped in whole.
 */
export async function buildImageRootfs(o: ImageRootfsOptions): Promise<RootfsManifest> {
  const log = o.log ?? (() => {});
  const kernel = findGuestKernel(o.kernelDir);
  const busybox = staticBusybox();
  if (!existsSync(agentPath)) throw new FerryError('internal', `the guest agent is not built (${agentPath}): npm run build`);
  // Scratch dirs of their own: a server on the same data dir wipes only its own at start.
  const scratch = `-rootfs-${process.pid}`;
  const importer = new ImageImporter({ dataDir: o.dataDir, maxBytes: o.maxBytes, maxEntries: o.maxEntries, scratchSuffix: scratch, ...(o.registry && { registry: o.registry }) });
  try {
    return await buildBeside(o.outDir, async (work) => {
      const files = rootfsFiles(work);
      mkdirSync(files.root, { recursive: true, mode: 0o755 });
      let image: ImportedImage;
      if (existsSync(o.image) && statSync(o.image).isFile()) {
        image = await importer.importArchive(createReadStream(o.image), await archiveFormat(o.image), files.root, log);
      } else {
        image = await importer.importReference(o.image, files.root, log);
      }
      log(`image: ${image.source === 'archive' ? o.image : image.source} (${image.digest})`);
      return finishForeignRoot(work, kernel, busybox, 'image', `${image.source === 'archive' ? 'archive' : image.source}@${image.digest}`, log);
    });
  } finally {
    rmSync(join(o.dataDir, 'images', `spool${scratch}`), { recursive: true, force: true });
    rmSync(join(o.dataDir, 'images', 'blobs', `.incoming${scratch}`), { recursive: true, force: true });
  }
}
