import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FerryError } from '../errors/index.js';
import { hostCommand, hostPathIn, type CheckContext, type LaunchPlan, type Manifest, type SandboxView } from '../core/index.js';
import { pythonInterpreter } from './python/interpreter.js';
import { imageCommand } from './image-command.js';

/** A manifest `command` turned into something a sandbox can execute. */
export interface ResolvedCommand {
  /** argv with argv[0] an absolute path as seen inside the sandbox. */
  argv: string[];
  /** Host paths the executable needs bound read-only. */
  hostPaths: string[];
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

const onPath = new Map<string, string>();

/** Finds a bare program name on the host's PATH, like `command -v`; cached. */
function whichSync(name: string): string | undefined {
  const hit = onPath.get(name);
  if (hit) return hit;
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      onPath.set(name, candidate);
      return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/**
 * Resolves argv[0]: a package path against the package dir as the sandbox sees it; an absolute
 * path as it is (inside the sandbox: /usr, the package, a roBinds destination); `node` to the
 * Node running Ferry; `python3`/`python` to the real interpreter behind any pyenv shim; other bare
 * names on the host PATH. Throws `instance-start-failed` if the program cannot be found.
 */
export function resolveCommand(command: string[], view: SandboxView): ResolvedCommand {
  const [program, ...args] = command;
  if (!program) throw new FerryError('invalid-manifest', 'command is empty');
  if (isPackagePath(program)) {
    return { argv: [posix.join(view.packageDir, program), ...args], hostPaths: [] };
  }
  // A path as the sandbox sees it: nothing of the host is bound for it. Host paths reach a
  // sandbox only as roBinds (admins, under --bindable); a manifest naming any host path here
  // would have it bound, through a root-made bridge where the sandbox user could not reach it.
  if (isAbsolute(program)) return { argv: [program, ...args], hostPaths: [] };
  if (program === 'node' || program === 'nodejs') {
    return { argv: [process.execPath, ...args], hostPaths: [process.execPath] };
  }
  if (program === 'python3' || program === 'python') {
    const python = pythonInterpreter();
    return { argv: [python.executable, ...args], hostPaths: python.hostPaths };
  }
  const found = whichSync(program);
  if (!found) throw new FerryError('instance-start-failed', `command '${program}' is not on the PATH of the Ferry host`);
  return { argv: [found, ...args], hostPaths: [found] };
}

const checkCommandPath = fileURLToPath(new URL('./shim/check-command.js', import.meta.url));

/**
 * The deploy-time check of a `command` (exec and http functions): Node runs shim/check-command.js
 * in the sandbox, which reports whether the program is there and executable. Throws
 * `instance-start-failed` for a bare name that is not on the host's PATH.
 */
export function commandCheckPlan(command: string[], ctx: CheckContext): LaunchPlan {
  const resolved = resolveCommand(command, ctx.view);
  return checkPlan(ctx, { program: resolved.argv[0]!, name: command[0]!, cwd: ctx.view.packageDir, hostPaths: resolved.hostPaths });
}

/**
 * The deploy-time check of an image version: its program, working directory and user are looked
 * up in the image's tree (a failure is the check's answer), then the program is checked as the
 * image's user from inside its own root.
 */
export function imageCheckPlan(ctx: CheckContext): LaunchPlan {
  const image = imageCommand(ctx.config, ctx.packageDir, ctx.env);
  return { ...checkPlan(ctx, { program: image.argv[0]!, name: image.argv[0]!, cwd: image.cwd, hostPaths: [] }), user: image.user };
}

function checkPlan(ctx: CheckContext, c: { program: string; name: string; cwd: string; hostPaths: string[] }): LaunchPlan {
  return {
    argv: hostCommand(ctx.view, process.execPath, [hostPathIn(ctx.view, checkCommandPath)]),
    env: { FERRY_CHECK_PROGRAM: c.program, FERRY_CHECK_NAME: c.name },
    cwd: c.cwd,
    hostPaths: [process.execPath, dirname(checkCommandPath), ...c.hostPaths],
  };
}
