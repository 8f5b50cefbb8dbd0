import { accessSync, constants, existsSync } from 'node:fs';
import { join } from 'node:path';

/** The directories the build sandbox finds programs in (the host's, bound read-only). */
const toolDirs = ['/usr/local/bin', '/usr/bin', '/bin'];

/**
 * What node-gyp runs: its Makefile compiles with make's defaults `cc` and `g++` (and links with
 * `g++`, C add-ons too), and gyp itself is python3. With the Debian package of each.
 */
export const nativeToolchain: Record<string, string> = { cc: 'gcc', 'g++': 'g++', make: 'make', python3: 'python3' };

/**
 * Host paths a build needs beside /usr for the toolchain to run: Debian's `cc` and `c++` are links
 * through /etc/alternatives (links only, read-only), which a sandbox otherwise lacks.
 */
export function toolchainPaths(): string[] {
  return existsSync('/etc/alternatives') ? ['/etc/alternatives'] : [];
}

/** Of `tools`, those the host does not have (or cannot run): named in a failed build's log. */
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

/**
 * The hint of a build whose native add-on could not be built: which of `toolchain` (tool to
 * Debian package) the host lacks, or undefined when it has them all.
 */
export function missingToolchainHint(toolchain: Record<string, string>): string | undefined {
  const missing = missingTools(Object.keys(toolchain));
  if (missing.length === 0) return undefined;
  const named = missing.map((tool) => `${tool} (Debian package ${toolchain[tool]})`).join(', ');
  return `native add-ons need ${Object.keys(toolchain).join(', ')} on the host; missing: ${named} (apt-get install build-essential python3)`;
}
