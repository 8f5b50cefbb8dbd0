import { FerryError } from '../errors/index.js';
import { imageTypes, indexTypes } from './registry-manifest.js';

/** An OCI content descriptor, as far as Ferry reads it. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size?: number;
  platform?: { os?: string; architecture?: string; variant?: string };
}

/** The platform Ferry's sandbox runs. */
export const WANTED_PLATFORM = 'linux/amd64';

/** A manifest is fetched by its digest (a registry URL, an archive's blob name): nothing else is followed. */
const DIGEST = /^sha256:[0-9a-f]{64}$/;
/** Indexes within indexes followed at most this deep (an OCI layout's index.json names an index). */
const MAX_DEPTH = 3;

/**
 * The image manifest an index (an OCI layout's `index.json`, or a registry's OCI index / Docker
 * manifest list) stands for: its only image manifest, or the `linux/amd64` one of several;
 * nested indexes are followed through `fetch`. The one chooser of both archives and pulls.
 * Throws `image-invalid` naming `what` and listing the platforms it has otherwise.
 */
export async function selectManifest(index: unknown, fetch: (digest: string) => Promise<unknown>, what = 'the image', depth = 0): Promise<Descriptor> {
  const list = (index as { manifests?: unknown })?.manifests;
  if (!Array.isArray(list)) throw new FerryError('image-invalid', 'the image index has no manifests list');
  const descriptors = list.filter(isDescriptor);
  const images = descriptors.filter((d) => imageTypes.has(d.mediaType) || indexTypes.has(d.mediaType));
  // Attestations and signatures ride along as manifests of platform unknown/unknown.
  const runnable = images.filter((d) => !d.platform || d.platform.os !== 'unknown');
  const chosen = runnable.length === 1 && !runnable[0]!.platform ? runnable[0] : runnable.find((d) => platformOf(d) === WANTED_PLATFORM);
  if (!chosen) {
    const has = runnable.map(platformOf).join(', ') || 'no platforms';
    throw new FerryError('image-invalid', `${what} has no ${WANTED_PLATFORM} image; it has ${has}`);
  }
  if (!DIGEST.test(chosen.digest)) throw new FerryError('image-invalid', `the ${platformOf(chosen)} entry of the index has no sha256 digest`);
  if (imageTypes.has(chosen.mediaType)) return chosen;
  if (depth >= MAX_DEPTH) throw new FerryError('image-invalid', 'the image index nests indexes too deeply');
  return selectManifest(await fetch(chosen.digest), fetch, what, depth + 1);
}

function platformOf(d: Descriptor): string {
  if (!d.platform) return 'unspecified platform';
  return `${d.platform.os ?? '?'}/${d.platform.architecture ?? '?'}${d.platform.variant ? `/${d.platform.variant}` : ''}`;
}

function isDescriptor(v: unknown): v is Descriptor {
  const d = v as Descriptor;
  return typeof d === 'object' && d !== null && typeof d.mediaType === 'string' && typeof d.digest === 'string';
}
