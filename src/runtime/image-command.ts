import { FerryError } from '../errors/index.js';
import { planImageRun, splitImageUser, type EffectiveConfig, type SandboxUser } from '../core/index.js';
import { findProgramInTree, readAccountFile, resolveInTree } from './image-tree.js';

/** An image version's process, looked up in its tree: what the exec and http runtimes start. */
export interface ImageCommand {
  /** argv, argv[0] a path inside the image. */
  argv: string[];
  /** The image's `Env`, then the version's own environment (and secrets, FERRY_*) on top. */
  env: Record<string, string>;
  cwd: string;
  user: SandboxUser;
  /** The image's first exposed tcp port. */
  exposedPort?: number;
}

/**
 * Plans an image version's process (core/image-run.ts) and checks it against the image's tree
 * at `packageDir` (the host path of its root file system): the program is an executable file on
 * the image's PATH, the working directory is a directory, the user and group exist. Throws
 * `instance-start-failed` saying which does not hold; the deploy-time check reports it.
 */
export function imageCommand(config: Pick<EffectiveConfig, 'image' | 'command'>, packageDir: string | undefined, env: Record<string, string>): ImageCommand {
  const { found, ...planned } = planImageCommand(config, packageDir, env);
  if (!found) {
    const program = planned.argv[0]!;
    throw new FerryError('instance-start-failed', `command '${program}' is not an executable file in the image${program.includes('/') ? '' : ` (searched its PATH ${planned.env.PATH ?? ''})`}`);
  }
  return planned;
}

/**
 * As `imageCommand`, but a program missing from the image is not an error: argv[0] stays as
 * written and `found` is false (an ad-hoc run answers "command not found" as a shell would).
 */
export function planImageCommand(config: Pick<EffectiveConfig, 'image' | 'command'>, packageDir: string | undefined, env: Record<string, string>): ImageCommand & { found: boolean } {
  if (!config.image) throw new FerryError('internal', 'not an image version');
  if (!packageDir) throw new FerryError('internal', "an image version's launch needs its package dir");
  const plan = planImageRun(config.image, config.command);
  const dir = resolveInTree(packageDir, plan.workdir);
  if (!dir?.stats.isDirectory()) throw new FerryError('instance-start-failed', `the working directory '${plan.workdir}' is not a directory in the image`);
  const merged = { ...plan.env, ...env };
  const [program, ...args] = plan.argv as [string, ...string[]];
  const found = findProgramInTree(packageDir, program, merged.PATH ?? '', plan.workdir);
  return { argv: [found ?? program, ...args], env: merged, cwd: plan.workdir, user: imageUser(packageDir, plan.user), found: found !== undefined, ...(plan.exposedPort ? { exposedPort: plan.exposedPort } : {}) };
}

const numeric = /^\d{1,10}$/;
/** Ids bwrap can map: not -1 (4294967295), which means "no id". */
const MAX_ID = 4294967294;

/** `User` as uid/gid: numeric, or names looked up in the image's own /etc/passwd and /etc/group. */
export function imageUser(packageDir: string, user: string): SandboxUser {
  const { user: who, group } = splitImageUser(user);
  let entry: string[] | undefined;
  let uid: number;
  if (numeric.test(who)) {
    uid = Number(who);
    entry = readAccountFile(packageDir, '/etc/passwd').find((f) => f[2] === who);
  } else {
    entry = readAccountFile(packageDir, '/etc/passwd').find((f) => f[0] === who);
    if (!entry || !numeric.test(entry[2] ?? '')) throw new FerryError('instance-start-failed', `user '${who}' is not in the image's /etc/passwd`);
    uid = Number(entry[2]);
  }
  let gid = entry && numeric.test(entry[3] ?? '') ? Number(entry[3]) : 0;
  if (group !== undefined) {
    if (numeric.test(group)) gid = Number(group);
    else {
      const g = readAccountFile(packageDir, '/etc/group').find((f) => f[0] === group);
      if (!g || !numeric.test(g[2] ?? '')) throw new FerryError('instance-start-failed', `group '${group}' is not in the image's /etc/group`);
      gid = Number(g[2]);
    }
  }
  if (uid > MAX_ID || gid > MAX_ID) throw new FerryError('instance-start-failed', `user '${user}': ids above ${MAX_ID} cannot be used`);
  return { uid, gid };
}
