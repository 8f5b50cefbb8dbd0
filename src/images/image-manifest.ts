import { validateManifest, type ImageRunConfig, type Manifest } from '../core/index.js';
import { FerryError } from '../errors/index.js';

/** What the server learnt reading an image: the server-filled part of a manifest's `image`. */
export interface ImportedImage {
  /** `archive`, or the registry reference as resolved. */
  source: string;
  digest: string;
  config: ImageRunConfig;
}

/**
 * The manifest of an image version: the deployer's `ferry.json`-shaped JSON (absent: `{}`),
 * validated like any manifest, with `runtime` defaulting to `http` when the image exposes a port
 * and `exec` otherwise, and the server's `source`, `digest` and `config` added to `image`.
 */
export async function imageManifest(given: unknown, image: ImportedImage): Promise<Manifest> {
  const raw = given ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new FerryError('invalid-manifest', 'the image version manifest must be a JSON object');
  const fields = raw as Record<string, unknown>;
  const runtime = fields.runtime ?? (image.config.exposedPorts.length > 0 ? 'http' : 'exec');
  const m = await validateManifest({ ...fields, runtime, image: fields.image ?? {} });
  if (m.image?.ref !== undefined && image.source === 'archive') {
    throw new FerryError('invalid-manifest', 'image.ref names a registry image; an uploaded archive is the image itself');
  }
  return { ...m, image: { ...m.image, source: image.source, digest: image.digest, config: image.config } };
}
