import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FerryError } from '../errors/index.js';
import { NODE_MODULES_DIR } from '../core/index.js';
import type { BuildPlan, PlanResult } from './plan.js';
import { sourceAccess, urlInside, type BuildSources } from './sources.js';
import { missingToolchainHint, nativeToolchain, toolchainPaths } from './toolchain.js';

/** The node binary instances run on, and the npm that came with it. */
export interface NodeToolchain {
  executable: string;
}

/** npm's entry script beside the node binary (`<prefix>/lib/node_modules/npm`). */
function npmCli(node: string): string {
  const prefix = dirname(dirname(realpathSync(node)));
  const cli = join(prefix, 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
  if (!existsSync(cli)) throw new FerryError('build-failed', `package.json has dependencies, but npm is not installed beside ${node} (looked for ${cli})`);
  return cli;
}

/** Installed dependencies only: `devDependencies` are not installed (`--omit=dev`). */
function hasDependencies(pkg: Record<string, unknown>): boolean {
  return ['dependencies', 'optionalDependencies'].some((k) => {
    const deps = pkg[k];
    return typeof deps === 'object' && deps !== null && Object.keys(deps).length > 0;
  });
}

/**
 * `npm ci --omit=dev` with a package-lock.json, else `npm install --omit=dev`, into the package's
 * `node_modules/`. No build when package.json names no dependencies or `node_modules/` was uploaded.
 */
export function npmPlan(dir: string, node: NodeToolchain, sources: BuildSources): PlanResult {
  const registry = sources.npmRegistry;
  const manifestPath = join(dir, 'package.json');
  if (!existsSync(manifestPath)) return { skip: 'dependencies: no package.json, nothing to install' };
  const manifest = readFileSync(manifestPath, 'utf8');
  let pkg: unknown;
  try {
    pkg = JSON.parse(manifest);
  } catch (err) {
    throw new FerryError('build-failed', `package.json is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof pkg !== 'object' || pkg === null || !hasDependencies(pkg as Record<string, unknown>)) {
    return { skip: 'dependencies: package.json names none, nothing to install' };
  }
  if (existsSync(join(dir, NODE_MODULES_DIR))) return { skip: 'dependencies: node_modules/ is in the package, nothing installed' };
  const lockPath = join(dir, 'package-lock.json');
  const lock = existsSync(lockPath) ? readFileSync(lockPath, 'utf8') : undefined;
  const cli = npmCli(node.executable);
  const prefix = dirname(dirname(realpathSync(node.executable)));
  // node-gyp builds against the headers installed with node instead of downloading them.
  const nodedir = existsSync(join(prefix, 'include', 'node', 'node.h')) ? prefix : undefined;
  const command = lock === undefined ? 'install' : 'ci';
  const access = sourceAccess([registry], sources.privateSources);
  const registryInside = urlInside(access, registry);
  const plan: BuildPlan = {
    title: `npm ${command} --omit=dev`,
    runtime: 'node',
    key: ['npm', process.version, registry, manifest, lock ?? ''],
    output: NODE_MODULES_DIR,
    network: access.network,
    relays: access.relays,
    hostPaths: [node.executable, dirname(dirname(cli)), ...toolchainPaths()],
    argv: () => [node.executable, cli, command, '--omit=dev', '--no-audit', '--no-fund', '--no-update-notifier'],
    env: (view) => ({
      HOME: view.home,
      PATH: `${dirname(node.executable)}:/usr/local/bin:/usr/bin:/bin`,
      // The host's npm configuration and cache stay out: only Ferry's settings apply.
      npm_config_userconfig: join(view.home, '.npmrc'),
      npm_config_globalconfig: join(view.home, 'npmrc-global'),
      npm_config_cache: join(view.home, '.npm'),
      npm_config_registry: registryInside,
      // A relayed registry the build sees elsewhere: the lock file's URLs of it are read there too.
      ...(registryInside !== registry && { npm_config_replace_registry_host: 'always' }),
      npm_config_progress: 'false',
      // Retries keep to a build's time scale: a refused source fails within seconds, not minutes.
      npm_config_fetch_retry_mintimeout: '2000',
      npm_config_fetch_retry_maxtimeout: '10000',
      ...(nodedir && { npm_config_nodedir: nodedir }),
    }),
    // node-gyp's own lines ("gyp ERR!", "gyp info") say a native add-on was being built.
    explain: (log) => (/\bgyp\b/.test(log) ? missingToolchainHint(nativeToolchain) : undefined),
  };
  return { plan };
}
