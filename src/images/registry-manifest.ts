/**
 * The manifest formats a registry may answer: OCI index and Docker manifest list (several
 * platforms: oci-index.ts picks `linux/amd64`), OCI manifest and Docker manifest v2 schema 2 (one image).
 * Docker's schema 1 is refused: it carries no config blob and no layer digests worth trusting.
 */
import { FerryError } from '../errors/index.js';

export const indexTypes = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);
export const imageTypes = new Set(['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json']);
const schema1Types = new Set(['application/vnd.docker.distribution.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v1+prettyjws']);
const configTypes = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']);
/** Layer types flattening reads: plain, gzip or zstd tars. */
export const layerTypes = new Set([
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd',
  'application/vnd.docker.image.rootfs.diff.tar',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
]);

/** The Accept header of a manifest GET: every format Ferry reads. */
export const manifestAccept = [...indexTypes, ...imageTypes].join(', ');

/** A content descriptor: what a blob is, its digest and its size. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

const digestRe = /^sha256:[0-9a-f]{64}$/;

/** A manifest or index as a JSON object; throws `image-invalid` for anything else. */
export function parseManifestJson(bytes: Buffer): Record<string, unknown> {
  try {
    const doc: unknown = JSON.parse(bytes.toString('utf8'));
    if (typeof doc === 'object' && doc !== null && !Array.isArray(doc)) return doc as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw new FerryError('image-invalid', 'the manifest is not a JSON object');
}

function descriptor(v: unknown, what: string): Descriptor {
  const d = (v ?? {}) as Record<string, unknown>;
  if (typeof d.digest !== 'string' || !digestRe.test(d.digest)) throw new FerryError('image-invalid', `${what} has no sha256 digest`);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw new FerryError('image-invalid', `${what} ${d.digest} has no valid size`);
  if (typeof d.mediaType !== 'string') throw new FerryError('image-invalid', `${what} ${d.digest} has no mediaType`);
  return { mediaType: d.mediaType, digest: d.digest, size: d.size };
}

/** An image manifest's config and layers, checked for what Ferry can run. */
export function readImageManifest(mediaType: string, bytes: Buffer): { config: Descriptor; layers: Descriptor[] } {
  if (schema1Types.has(mediaType)) {
    throw new FerryError('image-invalid', 'the registry answered a Docker schema 1 manifest, which Ferry does not read; push the image again with a current client (schema 2 or OCI)');
  }
  if (indexTypes.has(mediaType)) throw new FerryError('image-invalid', 'an index names another index, not an image manifest');
  if (!imageTypes.has(mediaType)) throw new FerryError('image-invalid', `the manifest is a ${mediaType}, not an OCI or Docker image manifest`);
  const doc = parseManifestJson(bytes);
  const config = descriptor(doc.config, 'the config');
  if (!configTypes.has(config.mediaType)) throw new FerryError('image-invalid', `the config is a ${config.mediaType}, not an image config: the reference names an artifact, not a container image`);
  if (!Array.isArray(doc.layers)) throw new FerryError('image-invalid', 'the manifest has no layers');
  const layers = doc.layers.map((l, i) => {
    const d = descriptor(l, `layer ${i}`);
    if (!layerTypes.has(d.mediaType)) {
      const foreign = /foreign|nondistributable/.test(d.mediaType);
      throw new FerryError('image-invalid', `layer ${i} is a ${d.mediaType}${foreign ? ' (a foreign layer that lives outside the registry)' : ''}; Ferry reads tar, tar+gzip and tar+zstd layers`);
    }
    return d;
  });
  return { config, layers };
}
