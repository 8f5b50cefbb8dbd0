/**
 * Pulling an image from a registry into the blob cache: the manifest (through an index, the
 * `linux/amd64` one), its config and its layers, each checked against its digest before it is
 * kept. What a pull answers is what flattening takes: the layers in order, all in the cache.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { FerryError } from '../errors/index.js';
import type { AddressPolicy } from '../util/address-policy.js';
import type { BlobCache } from './blob-cache.js';
import { formatImageReference, parseImageReference, type ImageReference } from './reference.js';
import { TokenCache } from './registry-auth.js';
import { RepositoryClient } from './registry-client.js';
import type { RegistryCredentials, RegistryLogin } from './registry-credentials.js';
import { readSmall, RegistryTransport, TransientRegistryError, type RegistryResponse } from './registry-http.js';
import { parseImageConfig, requireWantedPlatform } from './image-config.js';
import { selectManifest } from './oci-index.js';
import { indexTypes, manifestAccept, parseManifestJson, readImageManifest, type Descriptor } from './registry-manifest.js';

/** An image whose blobs are all in the cache, in the order flattening applies them. */
export interface ImageLayers {
  /** `sha256:<hex>` of the image manifest (the platform's, when pulled through an index). */
  manifestDigest: string;
  /** The config blob (JSON), as stored. */
  config: Buffer;
  /** Bottom layer first. */
  layers: Array<{ digest: string; mediaType: string; size: number }>;
}

/** A pulled image: its layers and what it was resolved to. */
export interface PulledImage extends ImageLayers {
  /** The reference with the digest it resolved to, e.g. `host/repo:tag@sha256:...`. */
  source: string;
}

/** How the server pulls (from its settings). */
export interface ImagePullerOptions {
  blobs: BlobCache;
  policy: AddressPolicy;
  credentials: RegistryCredentials;
  /** PEM CAs trusted besides Node's (`--registry-ca`). */
  extraCa?: string;
  insecure: string[];
  /** Most bytes an image's config and layers may have together. */
  maxBytes: number;
  timeoutMs?: number;
  /** Tries of a request that failed transiently (no answer, 5xx, 429). */
  attempts?: number;
  /** Pause before the second try; doubled before each next one. */
  retryDelayMs?: number;
}

/** One pull's own inputs. */
export interface PullRequest {
  /** Credentials the deploying user gave for this pull: used instead of the operator's, never kept. */
  login?: RegistryLogin;
  /** Progress lines: `pulling sha256:ab12.. 3.1/12.0 MB`, `cached sha256:ab12..`. */
  onProgress?(line: string): void;
}

const maxManifestBytes = 4 * 1024 * 1024;

export class ImagePuller {
  private readonly transport: RegistryTransport;
  private readonly tokens: TokenCache;

  constructor(private readonly o: ImagePullerOptions) {
    this.transport = new RegistryTransport({ policy: o.policy, extraCa: o.extraCa, insecure: o.insecure, timeoutMs: o.timeoutMs ?? 30_000 });
    this.tokens = new TokenCache(this.transport);
  }

  /** Pulls `ref` (a string or parsed); throws a FerryError and keeps no bad blob on failure. */
  async pull(ref: string | ImageReference, req: PullRequest = {}): Promise<PulledImage> {
    const r = typeof ref === 'string' ? parseImageReference(ref) : ref;
    const repo = new RepositoryClient(r.registry, r.repository, this.transport, this.tokens, req.login ?? this.o.credentials.for(r.registry));
    const progress = req.onProgress ?? (() => {});

    let manifest = await this.retrying(() => this.fetchManifest(repo, r.digest ?? r.tag!, r.digest));
    if (indexTypes.has(manifest.mediaType)) {
      const fetchIndex = async (digest: string): Promise<unknown> => parseManifestJson((await this.retrying(() => this.fetchManifest(repo, digest, digest))).bytes);
      const chosen = await selectManifest(parseManifestJson(manifest.bytes), fetchIndex, formatImageReference(r));
      manifest = await this.retrying(() => this.fetchManifest(repo, chosen.digest, chosen.digest));
    }
    const image = readImageManifest(manifest.mediaType, manifest.bytes);
    const total = [image.config, ...image.layers].reduce((n, d) => n + d.size, 0);
    if (total > this.o.maxBytes) throw new FerryError('image-too-large', `the image's config and layers are ${total} bytes; at most ${this.o.maxBytes} (--max-upload)`);

    await this.o.blobs.put(manifest.digest, Readable.from([manifest.bytes]), { maxBytes: maxManifestBytes });
    await this.fetchBlob(repo, image.config, progress);
    for (const layer of image.layers) await this.fetchBlob(repo, layer, progress);
    const config = await readFile(this.o.blobs.path(image.config.digest));
    // A single-platform image (no index) must still be one Ferry runs.
    requireWantedPlatform(parseImageConfig(config).platform);
    return {
      manifestDigest: manifest.digest,
      config,
      layers: image.layers.map((l) => ({ digest: l.digest, mediaType: l.mediaType, size: l.size })),
      source: formatImageReference({ ...r, digest: manifest.digest }),
    };
  }

  /** A manifest's bytes, type and digest; by digest, the bytes must hash to it. */
  private async fetchManifest(repo: RepositoryClient, reference: string, expected: string | undefined): Promise<{ bytes: Buffer; mediaType: string; digest: string }> {
    const res = await repo.get(`manifests/${reference}`, manifestAccept);
    await failOn(res, `the manifest ${reference}`);
    const bytes = await readSmall(res, maxManifestBytes, `the manifest ${reference}`);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (expected && digest !== expected) throw new FerryError('image-invalid', `the manifest ${expected} does not match its digest (its bytes hash to ${digest})`);
    const told = res.headers['docker-content-digest'];
    if (!expected && typeof told === 'string' && told.startsWith('sha256:') && told !== digest) {
      throw new FerryError('image-invalid', `the manifest of ${reference} hashes to ${digest}, not to the ${told} the registry names`);
    }
    const type = (res.headers['content-type'] ?? '').split(';')[0]!.trim();
    return { bytes, mediaType: mediaTypeOf(type, bytes), digest };
  }

  /** A blob into the cache, unless it is there; verified by the cache while it streams. */
  private async fetchBlob(repo: RepositoryClient, d: Descriptor, progress: (line: string) => void): Promise<void> {
    const short = `${d.digest.slice(0, 19)}..`;
    if (await this.o.blobs.has(d.digest)) {
      progress(`cached ${short}`);
      return;
    }
    const mb = (n: number): string => (n / 1e6).toFixed(1);
    await this.retrying(async () => {
      const res = await repo.get(`blobs/${d.digest}`);
      await failOn(res, `the blob ${d.digest}`);
      let shownTenth = -1;
      await this.o.blobs.put(d.digest, res.body, {
        maxBytes: d.size,
        onBytes: (n) => {
          const tenth = d.size > 0 ? Math.floor((n * 10) / d.size) : 10;
          if (tenth > shownTenth) {
            shownTenth = tenth;
            progress(`pulling ${short} ${mb(n)}/${mb(d.size)} MB`);
          }
        },
      });
      if (shownTenth < 10) progress(`pulling ${short} ${mb(d.size)}/${mb(d.size)} MB`);
    });
  }

  /** Runs `step` again after a transient failure, with a growing pause. */
  private async retrying<T>(step: () => Promise<T>): Promise<T> {
    const attempts = this.o.attempts ?? 3;
    let delay = this.o.retryDelayMs ?? 500;
    for (let i = 1; ; i++) {
      try {
        return await step();
      } catch (err) {
        const transient = err instanceof TransientRegistryError || !(err instanceof FerryError);
        if (!transient) throw err;
        if (i >= attempts) throw err instanceof FerryError ? err : new FerryError('registry-unavailable', `the registry connection failed: ${(err as Error).message}`);
        await new Promise((ok) => setTimeout(ok, delay));
        delay *= 2;
      }
    }
  }
}

/** Turns a registry's error answer into Ferry's; returns for a 200. */
async function failOn(res: RegistryResponse, what: string): Promise<void> {
  if (res.status === 200) return;
  res.body.resume();
  const where = `${res.url.host}: ${what}`;
  if (res.status === 404) throw new FerryError('image-not-found', `${where} does not exist (404)`);
  if (res.status >= 500 || res.status === 429) throw new TransientRegistryError(`${where}: the registry answered ${res.status}`);
  throw new FerryError('registry-unavailable', `${where}: the registry answered ${res.status}`);
}

/** The manifest's media type: the answer's Content-Type, else the JSON's own `mediaType`. */
function mediaTypeOf(contentType: string, bytes: Buffer): string {
  if (contentType && contentType !== 'application/json' && contentType !== 'text/plain') return contentType;
  try {
    const doc = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown; schemaVersion?: unknown; manifests?: unknown };
    if (typeof doc.mediaType === 'string') return doc.mediaType;
    if (doc.schemaVersion === 1) return 'application/vnd.docker.distribution.manifest.v1+json';
    if (Array.isArray(doc.manifests)) return 'application/vnd.oci.image.index.v1+json';
    return 'application/vnd.oci.image.manifest.v1+json';
  } catch {
    throw new FerryError('image-invalid', 'the manifest is not JSON');
  }
}
