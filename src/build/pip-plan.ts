import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { FerryError } from '../errors/index.js';
import { PYTHON_SITE_DIR } from '../core/index.js';
import type { BuildPlan, PlanResult } from './plan.js';
import { sourceAccess, urlInside, type BuildSources } from './sources.js';
import { toolchainPaths } from './toolchain.js';

/** The interpreter the python runtime runs instances with (the `python3` need: see sandbox/rootfs/python-interpreter.ts). */
export interface PythonToolchain {
  executable: string;
  hostPaths: string[];
}

const versions = new Map<string, string>();

/** `sys.version` of the interpreter, asked once: part of the cache key. */
function pythonVersion(executable: string): string {
  let v = versions.get(executable);
  if (v === undefined) {
    try {
      v = execFileSync(executable, ['-c', 'import sys; print(sys.version)'], { encoding: 'utf8', timeout: 15_000 }).trim();
    } catch (err) {
      throw new FerryError('build-failed', `requirements.txt needs pip, but ${executable} cannot run: ${(err as Error).message}`);
    }
    versions.set(executable, v);
  }
  return v;
}

/** What the wheel folder holds (names, sizes, times): a changed wheel is a changed source. */
function folderListing(dir: string | undefined): string {
  if (!dir || !existsSync(dir)) return '';
  return readdirSync(dir)
    .sort()
    .map((name) => {
      const st = statSync(join(dir, name));
      return `${name} ${st.size} ${st.mtimeMs}`;
    })
    .join('\n');
}

/** Whether requirements.txt names anything (blank lines and comments name nothing). */
function namesRequirements(text: string): boolean {
  return text.split('\n').some((line) => line.replace(/#.*/, '').trim() !== '');
}

/**
 * `pip install --target .ferry/site -r requirements.txt` with the python runtime's own interpreter,
 * from `--pip-index-url` and/or `--pip-find-links` only; no index at all unless one is set.
 */
export function pipPlan(dir: string, python: () => PythonToolchain, sources: BuildSources): PlanResult {
  const reqPath = join(dir, 'requirements.txt');
  if (!existsSync(reqPath)) return { skip: 'dependencies: no requirements.txt, nothing to install' };
  const requirements = readFileSync(reqPath, 'utf8');
  if (!namesRequirements(requirements)) return { skip: 'dependencies: requirements.txt names none, nothing to install' };
  if (existsSync(join(dir, PYTHON_SITE_DIR))) return { skip: `dependencies: ${PYTHON_SITE_DIR}/ is in the package, nothing installed` };
  const py = python();
  const index = sources.pipIndexUrl;
  const links = sources.pipFindLinks;
  const access = sourceAccess(index ? [index] : [], sources.privateSources);
  const plan: BuildPlan = {
    title: 'pip install -r requirements.txt',
    runtime: 'python',
    key: ['pip', pythonVersion(py.executable), index ?? '', links ?? '', folderListing(links), requirements],
    output: PYTHON_SITE_DIR,
    network: access.network,
    relays: access.relays,
    hostPaths: [...py.hostPaths, ...(links ? [links] : []), ...toolchainPaths()],
    argv: (view) => [
      py.executable, '-m', 'pip', 'install',
      '--target', posix.join(view.pkg, PYTHON_SITE_DIR),
      '--no-user', '--no-cache-dir', '--disable-pip-version-check', '--no-input', '--no-warn-script-location',
      '-r', 'requirements.txt',
    ],
    env: (view) => ({
      HOME: view.home,
      PATH: '/usr/local/bin:/usr/bin:/bin',
      // The host's pip configuration and user site stay out: only Ferry's settings apply.
      PIP_CONFIG_FILE: '/dev/null',
      PYTHONNOUSERSITE: '1',
      PYTHONDONTWRITEBYTECODE: '1',
      // The sources in the environment, not on the command line: an index URL may hold a
      // password, and every host user can read a process's command line.
      ...(index ? { PIP_INDEX_URL: urlInside(access, index) } : { PIP_NO_INDEX: '1' }),
      ...(links && { PIP_FIND_LINKS: links }),
    }),
    explain: (log) => (/No module named pip/.test(log) ? `the interpreter ${py.executable} has no pip: install it (python3 -m ensurepip) or vendor the dependencies` : undefined),
  };
  return { plan };
}
