import { isAbsolute, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FerryError } from '../errors/index.js';
import type { CheckContext, ExecutableNeed, LaunchPlan, Manifest, RootfsNeed, SandboxView } from '../core/index.js';
import { imageCommand } from './image-command.js';

/** A manifest `command` turned into something a sandbox can execute. */
export interface ResolvedCommand {
  /** argv with argv[0] an absolute path as seen inside the sandbox. */
  argv: string[];
  /** What the executable needs from the root file system (none for a path inside the sandbox). */
  rootfs: RootfsNeed[];
}

/**
 * Checks a manifest `command` without touching the disk: present, and a relative program path
 * (`./server`, `bin/run`) does not climb out of the package. Throws `invalid-manifest`.
 */
export function checkCommand(command: string[] | undefined, runtime: string): string[] {
  if (!command || command.length === 0 || !command[0]) {
    throw new FerryError('invalid-manifest', `runtime '${runtime}' needs "command": ["<program>", "<arg>", ...]`);
  }
  const program = command[0];
  if (program.includes('/') && !isAbsolute(program) && program.split('/').includes('..')) {
    throw new FerryError('invalid-manifest', `command '${program}': a path inside the package must not contain '..'`);
  }
  if (isAbsolute(program) && (posix.normalize(program) !== program || (program.length > 1 && program.endsWith('/')))) {
    throw new FerryError('invalid-manifest', `command '${program}': an absolute path must be normalised (no '.', '..', '//' or trailing '/')`);
  }
  return command;
}

/**
 * `checkCommand` of a manifest: an image version may leave `command` out (the image's
 * Entrypoint/Cmd run); when given, it is checked the same way. Answers the command, if any.
 */
export function checkManifestCommand(manifest: Pick<Manifest, 'command' | 'image'>, runtime: string): string[] | undefined {
  if (manifest.image && manifest.command === undefined) return undefined;
  return checkCommand(manifest.command, runtime);
}

/** True for `./x`, `bin/x`: a program shipped in the package rather than found on PATH. */
export function isPackagePath(program: string): boolean {
  return program.includes('/') && !isAbsolute(program);
}

/**
 * Resolves argv[0]: a package path against the package dir as the sandbox sees it; an absolute
 * path as it is (inside the sandbox: /usr, the package, a roBinds destination); `node` to the
 * Node running Ferry; `python3`/`python` to the Python instances run with; other bare names to a
 * program on PATH. The last three are needs of the root file system, placed by the view. Throws
 * `instance-start-failed` if the program cannot be found.
 */
export function resolveCommand(command: string[], view: SandboxView): ResolvedCommand {
  const [program, ...args] = command;
  if (!program) throw new FerryError('invalid-manifest', 'command is empty');
  if (isPackagePath(program)) {
    return { argv: [posix.join(view.packageDir, program), ...args], rootfs: [] };
  }
  // A path as the sandbox sees it: nothing of the host is bound for it. Host paths reach a
  // sandbox only as roBinds (admins, under --bindable); a manifest naming any host path here
  // would have it bound, through a root-made bridge where the sandbox user could not reach it.
  if (isAbsolute(program)) return { argv: [program, ...args], rootfs: [] };
  const need: ExecutableNeed =
    program === 'node' || program === 'nodejs' ? { kind: 'node' } : program === 'python3' || program === 'python' ? { kind: 'python3' } : { kind: 'program', name: program };
  return { argv: view.rootfs.command(need, args), rootfs: [need] };
}

const checkCommandPath = fileURLToPath(new URL('./shim/check-command.js', import.meta.url));

/**
 * The deploy-time check of a `command` (exec and http functions): Node runs shim/check-command.js
 * in the sandbox, which reports whether the program is there and executable. Throws
 * `instance-start-failed` for a bare name that is not on the host's PATH.
 */
export function commandCheckPlan(command: string[], ctx: CheckContext): LaunchPlan {
  const resolved = resolveCommand(command, ctx.view);
  return checkPlan(ctx, { program: resolved.argv[0]!, name: command[0]!, cwd: ctx.view.packageDir, rootfs: resolved.rootfs });
}

/**
 * The deploy-time check of an image version: its program, working directory and user are looked
 * up in the image's tree (a failure is the check's answer), then the program is checked as the
 * image's user from inside its own root.
 */
export function imageCheckPlan(ctx: CheckContext): LaunchPlan {
  const image = imageCommand(ctx.config, ctx.packageDir, ctx.env);
  return { ...checkPlan(ctx, { program: image.argv[0]!, name: image.argv[0]!, cwd: image.cwd, rootfs: [] }), user: image.user };
}

function checkPlan(ctx: CheckContext, c: { program: string; name: string; cwd: string; rootfs: RootfsNeed[] }): LaunchPlan {
  return {
    argv: ctx.view.rootfs.command({ kind: 'node' }, [ctx.view.rootfs.runtimeFile(checkCommandPath)]),
    env: { FERRY_CHECK_PROGRAM: c.program, FERRY_CHECK_NAME: c.name },
    cwd: c.cwd,
    rootfs: [{ kind: 'node' }, { kind: 'ferry-runtime' }, ...c.rootfs],
  };
}
