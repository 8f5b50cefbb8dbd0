import { FerryError } from '../errors/index.js';

/**
 * Splits an archive entry name into path components relative to the package root, rejecting
 * anything that could name a location outside it. `[]` means the root itself (e.g. `./`).
 *
 * Backslashes count as separators for the `..` check only: on Linux `a\b` is an ordinary
 * file name, but `..\x` is rejected so a package never depends on that distinction.
 */
export function entryComponents(raw: string): string[] {
  if (raw.includes('\0')) throw new FerryError('archive-unsafe-path', `entry name contains a NUL byte: ${JSON.stringify(raw)}`);
  if (raw.startsWith('/') || raw.startsWith('\\')) {
    throw new FerryError('archive-unsafe-path', `absolute entry path: ${raw}`);
  }
  if (raw.split(/[\\/]/).includes('..')) {
    throw new FerryError('archive-unsafe-path', `entry path leaves the package: ${raw}`);
  }
  return raw.split('/').filter((c) => c !== '' && c !== '.');
}

/**
 * Components of a hard link target. Tar hard link targets are relative to the archive root, so
 * the same rules as for entry names apply, but a violation is a link problem.
 */
export function hardlinkComponents(raw: string): string[] {
  try {
    const parts = entryComponents(raw);
    if (parts.length === 0) throw new FerryError('archive-unsafe-link', 'hard link to the package root');
    return parts;
  } catch (err) {
    if (err instanceof FerryError && err.code === 'archive-unsafe-path') {
      throw new FerryError('archive-unsafe-link', `hard link target outside the package: ${raw}`);
    }
    throw err;
  }
}

/** Display form of a component list, for error details. */
export function showPath(parts: readonly string[]): string {
  return parts.length === 0 ? '.' : parts.join('/');
}
