import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { FerryError } from '../../errors/index.js';

const found = new Map<string, string>();

/**
 * The `program` need: a bare name on the host's PATH, like `command -v`; cached. Throws
 * `instance-start-failed` when it is not there (the deploy-time check says so at upload).
 */
export function programOnPath(name: string): string {
  const hit = found.get(name);
  if (hit) return hit;
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      found.set(name, candidate);
      return candidate;
    } catch {
      /* not here */
    }
  }
  throw new FerryError('instance-start-failed', `command '${name}' is not on the PATH of the Ferry host`);
}
