import { FerryError } from '../errors/index.js';
import type { ImageRunConfig, ManifestImage } from './image.js';
import type { EffectiveConfig } from './manifest.js';
import type { SandboxRoot } from './sandbox.js';

/** Docker's PATH for an image whose `Env` sets none. */
export const DEFAULT_IMAGE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** An image config with nothing set: what a version without `image.config` runs with. */
const noConfig: ImageRunConfig = { entrypoint: [], cmd: [], env: [], workingDir: '', user: '', exposedPorts: [] };

/**
 * How an image version runs, before anything is looked up in its tree: argv[0] as written (a
 * name for the image's PATH, or a path), the image's environment, the working directory, the
 * user as written (`''`: root) and the port its server listens on by the image's word.
 */
export interface ImageRunPlan {
  argv: string[];
  /** The image's `Env` as a map (a later entry of a name wins), PATH defaulted as Docker does. */
  env: Record<string, string>;
  workdir: string;
  user: string;
  /** The image's first `ExposedPorts` tcp port, if any. */
  exposedPort?: number;
}

/** The sandbox root of a version: its package, for an image version; the host's otherwise. */
export function sandboxRootOf(config: Pick<EffectiveConfig, 'image'>): SandboxRoot {
  return config.image ? 'package' : 'host';
}

/**
 * Plans an image version's process by Docker's rules: the override entrypoint, else the image's
 * `Entrypoint`; then the override cmd, else (only when the entrypoint was not overridden) the
 * image's `Cmd`. The manifest's `command`, when given, replaces both. Throws `invalid-manifest`
 * when nothing is left to run.
 */
export function planImageRun(image: ManifestImage, command: string[] | undefined): ImageRunPlan {
  const config = image.config ?? noConfig;
  const entrypoint = image.entrypoint ?? config.entrypoint;
  // Docker: a new entrypoint drops the image's cmd (it was written for the old one).
  const cmd = image.cmd ?? (image.entrypoint ? [] : config.cmd);
  const argv = command && command.length > 0 ? command : [...entrypoint, ...cmd];
  if (argv.length === 0 || !argv[0]) {
    throw new FerryError('invalid-manifest', 'the image names no Entrypoint or Cmd: give image.entrypoint, image.cmd or command in ferry.json');
  }
  const env: Record<string, string> = {};
  for (const entry of config.env) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  env.PATH ??= DEFAULT_IMAGE_PATH;
  const exposed = config.exposedPorts.map((p) => /^(\d{1,5})(?:\/tcp)?$/.exec(p)).find((m) => m && Number(m[1]) > 0 && Number(m[1]) < 65536);
  return {
    argv,
    env,
    workdir: image.workdir ?? (config.workingDir || '/'),
    user: image.user ?? config.user,
    ...(exposed ? { exposedPort: Number(exposed[1]) } : {}),
  };
}

/** `User` split into its user and group parts (`name[:group]`, `uid[:gid]`); '' is root. */
export function splitImageUser(user: string): { user: string; group: string | undefined } {
  const colon = user.indexOf(':');
  return colon < 0 ? { user: user || '0', group: undefined } : { user: user.slice(0, colon) || '0', group: user.slice(colon + 1) || undefined };
}
