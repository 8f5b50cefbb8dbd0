import type { ImageRunConfig } from '../core/index.js';
import { FerryError } from '../errors/index.js';
import { WANTED_PLATFORM } from './oci-index.js';

/** What Ferry needs of an image's config blob. */
export interface ParsedImageConfig {
  run: ImageRunConfig;
  /** `rootfs.diff_ids`: the digest of each layer's uncompressed tar, lowest first. */
  diffIds: string[];
  /** `os/architecture`, e.g. `linux/amd64`. */
  platform: string;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/**
 * Reads an OCI / Docker image config (the JSON of its config blob): the run settings of `config`
 * with defaults applied, the layers' diff ids and the platform. Throws `image-invalid` naming
 * what is wrong; only linux images are accepted (the sandbox runs nothing else).
 */
export function parseImageConfig(bytes: Buffer): ParsedImageConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw invalid('is not JSON');
  }
  if (!isObject(doc)) throw invalid('is not a JSON object');
  const rootfs = doc.rootfs;
  if (!isObject(rootfs) || rootfs.type !== 'layers' || !Array.isArray(rootfs.diff_ids)) throw invalid('has no rootfs.diff_ids of type "layers"');
  const diffIds = rootfs.diff_ids.map((d, i) => {
    if (typeof d !== 'string' || !DIGEST.test(d)) throw invalid(`rootfs.diff_ids[${i}] is not a sha256 digest`);
    return d;
  });
  const os = typeof doc.os === 'string' ? doc.os : '';
  const arch = typeof doc.architecture === 'string' ? doc.architecture : '';
  if (os !== 'linux') throw invalid(`is for os ${JSON.stringify(os)}; only linux images run`);
  const c = isObject(doc.config) ? doc.config : {};
  const run: ImageRunConfig = {
    entrypoint: strings(c.Entrypoint, 'Entrypoint'),
    cmd: strings(c.Cmd, 'Cmd'),
    env: strings(c.Env, 'Env'),
    workingDir: text(c.WorkingDir, 'WorkingDir'),
    user: text(c.User, 'User'),
    exposedPorts: isObject(c.ExposedPorts) ? Object.keys(c.ExposedPorts).sort() : [],
  };
  for (const e of run.env) if (!e.includes('=')) throw invalid(`Env entry ${JSON.stringify(e)} is not NAME=value`);
  return { run, diffIds, platform: `${os}/${arch}` };
}

/** Throws `image-invalid` unless an image config's platform is the one Ferry's sandbox runs. */
export function requireWantedPlatform(platform: string): void {
  if (platform !== WANTED_PLATFORM) throw new FerryError('image-invalid', `the image is for ${platform}; Ferry runs ${WANTED_PLATFORM}`);
}

function strings(v: unknown, name: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw invalid(`config.${name} is not a list of strings`);
  return v as string[];
}

function text(v: unknown, name: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw invalid(`config.${name} is not a string`);
  return v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid(why: string): FerryError {
  return new FerryError('image-invalid', `the image config ${why}`);
}
