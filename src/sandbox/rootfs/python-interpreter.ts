import { execFileSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { FerryError } from '../../errors/index.js';

/** The Python interpreter instances run with, and the host paths it needs to see. */
export interface PythonInterpreter {
  /** The real executable (never a pyenv/asdf shim: shims re-exec and read version files). */
  executable: string;
  /** The executable, its symlink target and `sys.prefix` / `sys.base_prefix` (the stdlib lives there). */
  hostPaths: string[];
  /** The directories `site` would add (the interpreter's site-packages), then Debian's dist-packages of its version that exist. */
  hostSite: string[];
}

let cached: PythonInterpreter | undefined;

/**
 * Resolves the `python3` need once per process: `FERRY_PYTHON` if set, else `python3` on PATH,
 * asked for its own `sys.executable` (behind a pyenv shim: the real interpreter) and prefixes.
 * Synchronous because `Runtime.launch` is; it runs a child once, then the answer is cached.
 * Throws `instance-start-failed` when no interpreter can be found.
 */
export function pythonInterpreter(): PythonInterpreter {
  if (cached) return cached;
  const requested = process.env['FERRY_PYTHON'] || 'python3';
  let out: string;
  try {
    out = execFileSync(requested, ['-c', 'import sys, site; print(sys.executable); print(sys.prefix); print(sys.base_prefix); print("%d.%d" % sys.version_info[:2]); print(":".join(site.getsitepackages()))'], {
      encoding: 'utf8',
      timeout: 15_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    throw new FerryError('instance-start-failed', `cannot run ${requested} (set FERRY_PYTHON to a Python 3.11+ interpreter): ${(err as Error).message}`, {
      cause: err,
    });
  }
  const [executable, prefix, basePrefix, version, site] = out.trim().split('\n');
  if (!executable) {
    throw new FerryError('instance-start-failed', `${requested} did not report sys.executable`);
  }
  const paths = [executable, realpathSync(executable), prefix, basePrefix].filter((p): p is string => !!p);
  // Debian's packages (python3-yaml...) install for the system's python3 of the same version.
  const debian = [`/usr/local/lib/python${version}/dist-packages`, '/usr/lib/python3/dist-packages', `/usr/lib/python${version}/dist-packages`];
  const hostSite = [...new Set([...(site ?? '').split(':'), ...debian])].filter((d) => d.startsWith('/') && existsSync(d));
  cached = { executable, hostPaths: [...new Set(paths)], hostSite };
  return cached;
}
