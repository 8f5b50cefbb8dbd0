import { cp, lstat, readdir, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { FerryError } from '../errors/index.js';

/**
 * Checks what a build wrote before any of it leaves the sandbox's folder: only files, folders
 * and links that stay inside the package (`output` is where the tree goes in the package). A
 * link to an absolute path or out of the package, a fifo or a socket is refused.
 */
export async function checkOutputTree(dir: string, output: string): Promise<void> {
  const walk = async (rel: string): Promise<void> => {
    for (const name of await readdir(join(dir, rel))) {
      const child = rel ? `${rel}/${name}` : name;
      const st = await lstat(join(dir, child));
      if (st.isDirectory()) await walk(child);
      else if (st.isSymbolicLink()) {
        const target = await readlink(join(dir, child));
        const lands = posix.normalize(posix.join(output, posix.dirname(child), target));
        if (posix.isAbsolute(target) || lands === '..' || lands.startsWith('../')) {
          throw new FerryError('build-failed', `the build left a link that leads out of the package: ${output}/${child} -> ${target}`);
        }
      } else if (!st.isFile()) throw new FerryError('build-failed', `the build left a special file: ${output}/${child}`);
    }
  };
  await walk('');
}

/**
 * Copies a checked tree; links are copied as they are, never followed. Copies belong to Ferry.
 * `keep` (default: all) says which paths under `from` are copied.
 */
export async function copyTree(from: string, to: string, keep?: (path: string) => boolean): Promise<void> {
  await cp(from, to, { recursive: true, verbatimSymlinks: true, errorOnExist: true, force: false, ...(keep && { filter: (src: string) => keep(src) }) });
}
