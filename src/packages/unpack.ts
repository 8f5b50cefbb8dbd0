import { mkdir } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { FerryError } from '../errors/index.js';
import { drain, streamBudget } from './body-stream.js';
import type { UnpackLimits, UnpackResult } from './tree-writer.js';

/** The tar reader (with `tar`), loaded with the first tar upload: an idle server never needs it. */
const tarReader = (): Promise<typeof import('./unpack-tar.js')> => import('./unpack-tar.js');
/** The zip reader (with `yauzl`), loaded with the first zip upload. */
const zipReader = (): Promise<typeof import('./unpack-zip.js')> => import('./unpack-zip.js');

/** Archive formats an upload may use. */
export type ArchiveFormat = 'tar' | 'tar.gz' | 'zip';

const formats: Record<string, ArchiveFormat> = {
  'application/x-tar': 'tar',
  'application/gzip': 'tar.gz',
  'application/x-gzip': 'tar.gz',
  'application/tar+gzip': 'tar.gz',
  'application/zip': 'zip',
};

/** The media types `unpackArchive` accepts. */
export const archiveMediaTypes: readonly string[] = Object.keys(formats);

/**
 * The archive format a Content-Type names (parameters after `;` ignored, case-insensitive);
 * throws `unsupported-media-type` for anything else.
 */
export function archiveFormat(contentType: string | undefined): ArchiveFormat {
  const media = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const format = formats[media];
  if (!format) {
    throw new FerryError('unsupported-media-type', `expected one of ${archiveMediaTypes.join(', ')}; got ${media || 'no Content-Type'}`);
  }
  return format;
}

/**
 * Unpacks an uploaded archive into `destDir` (created if missing), the format chosen by
 * `contentType`. Every entry is validated before it is written: nothing lands outside `destDir`,
 * no link points outside it, no devices or fifos, and the limits hold by bytes actually written.
 * Modes are normalised (dirs 0755, files 0644 or 0755 by the owner-exec bit), owned by us.
 *
 * On failure it throws a FerryError (`archive-*`, `unsupported-media-type`, or `internal`), has
 * removed its temp files, and has drained (or, past the size budget, destroyed) `body` so the
 * request can still be answered. `destDir` may hold partial content; the caller deletes it.
 * Single top-level folders are not stripped: see `findPackageRoot`.
 */
export async function unpackArchive(body: Readable, contentType: string, destDir: string, limits: UnpackLimits): Promise<UnpackResult> {
  // Until the format's reader attaches, an early body error (client gone) must not go unhandled;
  // the reader still sees it, as the stream stays errored.
  body.on('error', () => {});
  let format: ArchiveFormat;
  try {
    format = archiveFormat(contentType);
    await mkdir(destDir, { recursive: true });
  } catch (err) {
    drain(body, streamBudget(limits));
    throw err instanceof FerryError ? err : new FerryError('internal', 'cannot create the unpack directory', { cause: err });
  }
  switch (format) {
    case 'tar':
      return (await tarReader()).unpackTar(body, false, destDir, limits);
    case 'tar.gz':
      return (await tarReader()).unpackTar(body, true, destDir, limits);
    case 'zip':
      return (await zipReader()).unpackZip(body, destDir, limits);
  }
}
