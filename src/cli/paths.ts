/** Files shipped beside `dist/`: the `templates/` folder (not compiled) and package.json. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Walks up from this module until `test(dir)` holds; undefined after a few levels. */
function findUp(test: (dir: string) => boolean): string | undefined {
  let dir = here;
  for (let i = 0; i < 6; i++) {
    if (test(dir)) return dir;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

/**
 * `dist/src/cli/paths.js` -> `../../../templates`; the search walks up so it also works from the
 * sources (`src/cli/` -> `../../templates`). `FERRY_TEMPLATES_DIR` overrides.
 */
export function templatesDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FERRY_TEMPLATES_DIR) return env.FERRY_TEMPLATES_DIR;
  const root = findUp((d) => existsSync(join(d, 'templates', 'node', 'ferry.json')));
  return root ? join(root, 'templates') : join(here, '..', '..', '..', 'templates');
}

/** The CLI's own version, from Ferry's package.json. */
export function packageVersion(): string {
  let version = '0.0.0';
  findUp((d) => {
    try {
      const pkg = JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name !== 'ferry' || !pkg.version) return false;
      version = pkg.version;
      return true;
    } catch {
      return false;
    }
  });
  return version;
}
