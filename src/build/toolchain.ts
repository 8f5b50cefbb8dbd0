import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

/** The directories the build sandbox finds programs in (the host's, bound read-only). */
const toolDirs = ['/usr/local/bin', '/usr/bin', '/bin'];

/** Of `tools`, those the host does not have: named in a failed build's log. */
export function missingTools(tools: string[]): string[] {
  return tools.filter(
    (tool) =>
      !toolDirs.some((d) => {
        try {
          accessSync(join(d, tool), constants.X_OK);
          return true;
        } catch {
          return false;
        }
      }),
  );
}
