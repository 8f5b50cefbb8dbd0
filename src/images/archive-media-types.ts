/** The media types an image archive upload is recognised by; no image code loads for this. */
import type { ImageArchiveFormat } from './read-archive.js';

const archiveTypes: Record<string, ImageArchiveFormat> = {
  'application/x-docker-archive': 'docker',
  'application/vnd.oci.image.layout.v1+tar': 'oci',
};

/** The media types of image archive uploads. */
export const imageArchiveMediaTypes: readonly string[] = Object.keys(archiveTypes);

/** The image archive format a Content-Type names, or undefined for any other upload. */
export function imageArchiveFormat(contentType: string | undefined): ImageArchiveFormat | undefined {
  return archiveTypes[(contentType ?? '').split(';')[0]!.trim().toLowerCase()];
}
