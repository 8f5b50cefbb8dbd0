import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { effectiveConfig, validateManifest, type EffectiveConfig, type Manifest } from '../core/index.js';
import { FerryError } from '../errors/index.js';
import { findPackageRoot, unpackArchive } from '../packages/index.js';
import { imageManifest } from '../images/image-manifest.js';
import type { ImageArchiveFormat } from '../images/read-archive.js';
import type { Principal } from '../auth/index.js';
import type { CreateHow, FunctionServiceOptions } from './function-service.js';
import type { TenancyPolicy } from './tenancy-policy.js';
import { checkVersion } from './version-check.js';

/** What a new version's upload is, before anything of it is stored. */
export interface VersionUpload {
  actor: Principal;
  name: string;
  version: string | undefined;
  body: Readable;
  contentType: string;
  /** The upload is a container image archive of this format (absent: a package archive). */
  imageFormat: ImageArchiveFormat | undefined;
  /** The empty folder the package is unpacked, imported or pulled into. */
  staging: string;
  how: CreateHow;
  /** Appends a line to the build log. */
  write(line: string): void;
}

/** The package of a new version, ready to be committed: its tree, manifest and configuration. */
export interface PreparedVersion {
  root: string;
  manifest: Manifest;
  config: EffectiveConfig;
  /** The deploy-time check's warnings (type errors it did not refuse). */
  warnings: string[];
}

/**
 * The part of creating a version that touches no stored state: unpack (with every safety check),
 * import or pull an image, read and validate the manifest, check the actor may ask for its
 * sandbox keys, build, and run the deploy-time check. Throws to refuse; the caller discards the
 * staging folder either way.
 */
export async function prepareVersionPackage(o: FunctionServiceOptions, policy: TenancyPolicy, upload: VersionUpload): Promise<PreparedVersion> {
  const { actor, name, version, body, contentType, imageFormat, staging, how, write } = upload;
  let root: string;
  let manifest: Manifest;
  if (how.pull) {
    // A registry image: pulled, verified and flattened as an uploaded one would be.
    if (!o.images) throw new FerryError('unsupported-media-type', 'this server does not take container images');
    const ref = imageRefOf(how.imageManifest);
    const image = await o.images.importReference(ref, staging, write, how.pull.login);
    root = staging;
    manifest = await imageManifest(how.imageManifest, image);
  } else if (imageFormat) {
    // An image version: its package is the image's flattened root file system.
    if (!o.images) throw new FerryError('unsupported-media-type', 'this server does not take container images');
    const image = await o.images.importArchive(body, imageFormat, staging, write);
    root = staging;
    manifest = await imageManifest(how.imageManifest, image);
  } else {
    await unpackArchive(body, contentType, staging, o.archiveLimits);
    root = how.prepare ? await how.prepare(staging) : await findPackageRoot(staging);
    manifest = await readManifest(root);
    if (manifest.image) throw new FerryError('invalid-manifest', 'ferry.json image: a container image is deployed as an image archive, not inside a package');
  }
  const runtime = o.runtimes.get(manifest.runtime);
  if (!runtime) throw new FerryError('invalid-manifest', `ferry.json: runtime '${manifest.runtime}' is not available`);
  runtime.validate(manifest);
  const config = effectiveConfig({ manifest, override: {} });
  const granted = (key: 'hostLibraries' | 'packageAlias'): boolean => how.grants?.includes(key) === true;
  policy.checkSandbox(actor, config, {
    mountDev: manifest.mountDev,
    hostLibraries: granted('hostLibraries') ? undefined : manifest.hostLibraries,
    packageAlias: granted('packageAlias') ? undefined : manifest.packageAlias,
  });
  await o.validateSandbox?.(config.sandbox);
  // The runtime's pre-booted pool starts filling now, while the build and the check run, so the
  // first call of the first such version finds a sandbox waiting.
  o.pool.expect?.({ runtime: manifest.runtime, config });
  // An image comes built: a package.json or requirements.txt in it is the image's business.
  if (!manifest.image) await o.buildDependencies?.({ dir: root, manifest, log: write });
  await runtime.build({ dir: root, manifest, log: write });
  // Checked with its dependencies in place: the handler's imports (an image's command, its
  // user and working directory in its tree) must resolve as they will.
  const warnings = await checkVersion(o.check, runtime, { function: name, version, packageDir: root, config, log: write, skip: how.check === false });
  return { root, manifest, config, warnings };
}

async function readManifest(root: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(join(root, 'ferry.json'), 'utf8');
  } catch {
    throw new FerryError('invalid-manifest', 'the archive has no ferry.json at its root');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new FerryError('invalid-manifest', `ferry.json is not valid JSON: ${(err as Error).message}`);
  }
  return validateManifest(parsed);
}

/** `image.ref` of a deploy-by-reference body, or `invalid-manifest` saying it is missing. */
function imageRefOf(manifest: unknown): string {
  const image = typeof manifest === 'object' && manifest !== null ? (manifest as { image?: unknown }).image : undefined;
  const ref = typeof image === 'object' && image !== null ? (image as { ref?: unknown }).ref : undefined;
  if (typeof ref !== 'string' || ref === '') throw new FerryError('invalid-manifest', 'a JSON body creates a version from a registry image: it needs image.ref (e.g. {"image": {"ref": "registry.example.com/app:1"}})');
  return ref;
}
