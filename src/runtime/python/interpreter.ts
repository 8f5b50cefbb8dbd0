import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { FerryError } from '../../errors/index.js';

/** The Python interpreter instances run with, and the host paths it needs to see. */
export interface PythonInterpreter {
  /** The real executable (never a pyenv/asdf shim: shims re-exec and read version files). */
  executable: string;
  /** The executable, its symlink target and `sys.prefix` / `sys.base_prefix` (the stdlib lives there). */
  hostPaths: string[];
}

let cached: PythonInterpreter | undefined;

/**
 * Resolves the interpreter once per process: `FERRY_PYTHON` if set, else `python3` on PATH, asked
 * for its own `sys.executable`. Synchronous because `Runtime.launch` is; it runs a child once, then
 * the answer is cached. Throws `instance-start-failed` when no interpreter can be found.
 */
export function pythonInterpreter(): PythonInterpreter {
  if (cached) return cached;
  const requested = process.env['FERRY_PYTHON'] || 'python3';
  let out: string;
  try {
    out = execFileSync(requested, ['-c', 'import sys; print(sys.executable); print(sys.prefix); print(sys.base_prefix)'], {
      encoding: 'utf8',
      timeout: 15_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    throw new FerryError('instance-start-failed', `cannot run ${requested} (set FERRY_PYTHON to a Python 3.11+ interpreter): ${(err as Error).message}`, {
      cause: err,
    });
  }
  const [executable, prefix, basePrefix] = out.trim().split('\n');
  if (!executable) {
    throw new FerryError('instance-start-failed', `${requested} did not report sys.executable`);
  }
  const paths = [executable, realpathSync(executable), prefix, basePrefix].filter((p): p is string => !!p);
  cached = { executable, hostPaths: [...new Set(paths)] };
  return cached;
}
