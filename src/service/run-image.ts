import type { DeployTarget } from '../core/index.js';
import { onFunction, type Principal } from '../auth/index.js';
import { planImageCommand } from '../runtime/image-command.js';
import type { RunRequest } from '../scheduler/index.js';
import type { Catalog } from './catalog.js';

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/**
 * The version whose image an ad-hoc run names, among the functions `caller` may read (so a run
 * never reaches an image of a function its caller cannot see): one whose manifest `image.ref` or
 * `image.source` is `image`, or whose `image.digest` is it when it is a `sha256:` digest. Of
 * several, the last deployed of the first function by name. Undefined when Ferry has none.
 */
export function findRunImage(catalog: Catalog, caller: Principal, image: string): DeployTarget | undefined {
  const byDigest = DIGEST.test(image);
  const carries = (t: DeployTarget): boolean => {
    const i = t.config.image;
    if (!i?.config) return false; // not (yet) read from an image
    // `archive` is the source of every uploaded image: a word, not a reference.
    return i.ref === image || (i.source === image && i.source !== 'archive') || (byDigest && i.digest === image);
  };
  for (const name of catalog.functionNames().sort()) {
    if (onFunction(caller, 'read', catalog.owner(name) ?? '') !== 'yes') continue;
    const hit = catalog.versionsOf(name).filter(carries).at(-1);
    if (hit) return hit;
  }
  return undefined;
}

/**
 * `run` with the image version `target`'s root file system (at `packageDir` on this host) as `/`:
 * the command planned as `docker run IMAGE COMMAND` would (the image's own Env under the run's
 * env, its PATH, WorkingDir and User; none of the version's own settings, env or secrets), in the
 * version's sandbox tier unless the run names another.
 */
export function withImageRoot(run: RunRequest, target: DeployTarget, packageDir: string): RunRequest {
  const image = { config: target.config.image!.config! };
  const c = planImageCommand({ image, command: run.command }, packageDir, run.env);
  // The version's tier too, unless the run names one: an image runs where its versions run.
  const tier = run.tier ?? target.config.sandbox.tier;
  return { ...run, command: c.argv, env: c.env, image: { packageDir, cwd: c.cwd, user: c.user }, ...(tier && { tier }) };
}
