import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync } from 'node:fs';
import { chmod, lstat, mkdir, rename } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { PackageStore } from '../core/store.js';
import { FerryError } from '../errors/index.js';
import { removeTree, removeTreeSync, sealDir, sealTree, syncPath } from './seal.js';
import { hashTree } from './tree-hash.js';

const SHA = /^[0-9a-f]{64}$/;

/**
 * Content-addressed package trees on the local disk: `<dataDir>/packages/<sha256>`, read-only
 * once committed, shared by every version (and instance) with the same content. Work in progress
 * lives in `<dataDir>/packages/.staging/`, on the same file system so commit is one atomic
 * rename, and is wiped on start-up since nothing there survives a crash meaningfully.
 */
export class FsPackageStore implements PackageStore {
  /** `<dataDir>/packages`. */
  readonly root: string;
  private readonly stagingRoot: string;

  constructor(dataDir: string) {
    this.root = resolve(dataDir, 'packages');
    this.stagingRoot = join(this.root, '.staging');
    mkdirSync(this.stagingRoot, { recursive: true });
    // Leftovers of a crash: half-unpacked uploads, uncommitted builds, packages mid-removal.
    for (const name of readdirSync(this.stagingRoot)) removeTreeSync(join(this.stagingRoot, name));
  }

  /** A fresh, empty staging directory (0755). */
  async stage(): Promise<string> {
    const dir = join(this.stagingRoot, randomBytes(12).toString('hex'));
    await mkdir(dir);
    await chmod(dir, 0o755);
    return dir;
  }

  /**
   * Hashes the staged tree, seals it read-only and moves it to `<root>/<sha>`; if that package
   * already exists the staged copy is discarded instead (dedupe). `stagingDir` is a directory from
   * `stage()` or one inside it (e.g. what `findPackageRoot` answered); in the latter case the
   * caller still discards the outer staging directory. `size` is the bytes of regular files.
   */
  async commit(stagingDir: string): Promise<{ sha: string; size: number; dir: string }> {
    const dir = this.checkStaging(stagingDir);
    const { sha, size, entries } = await hashTree(dir);
    const final = join(this.root, sha);
    if (await exists(final)) {
      await removeTree(dir);
      return { sha, size, dir: final };
    }
    await sealTree(dir, entries);
    try {
      await rename(dir, final);
    } catch (err) {
      // Lost a race with an identical commit: theirs is as good as ours.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      await removeTree(dir);
      return { sha, size, dir: final };
    }
    await syncPath(this.root); // makes the rename itself durable
    await sealDir(final);
    return { sha, size, dir: final };
  }

  /** Host path of a stored package; throws `internal` for anything that is not a sha256. */
  path(sha: string): string {
    if (!SHA.test(sha)) throw new FerryError('internal', `not a package sha: ${JSON.stringify(sha)}`);
    // Not join(): its normalisation builds the result piece by piece, and every version in the
    // catalog would keep that rope of copies; `root` is absolute and normalised, `sha` is hex.
    return `${this.root}/${sha}`;
  }

  /**
   * Deletes a stored package; missing ones are fine. It is first moved into staging (atomic), so a
   * crash mid-delete never leaves a partial tree under the sha that a later commit would trust.
   */
  async remove(sha: string): Promise<void> {
    const dir = this.path(sha);
    if (!(await exists(dir))) return;
    await chmod(dir, 0o755); // renaming a directory to a new parent needs write access to it
    const trash = join(this.stagingRoot, `rm-${randomBytes(12).toString('hex')}`);
    try {
      await rename(dir, trash);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // removed concurrently
      throw err;
    }
    await removeTree(trash);
  }

  /** Deletes a staging directory (or one inside it), whatever state it is in. */
  async discard(stagingDir: string): Promise<void> {
    await removeTree(this.checkStaging(stagingDir));
  }

  /** Resolves `p` and makes sure it lies inside the staging area, so no caller error can delete elsewhere. */
  private checkStaging(p: string): string {
    const abs = resolve(p);
    const rel = relative(this.stagingRoot, abs);
    if (rel === '' || rel === '..' || rel.startsWith('../') || isAbsolute(rel)) {
      throw new FerryError('internal', `not a staging directory: ${p}`);
    }
    return abs;
  }
}

async function exists(p: string): Promise<boolean> {
  return (await lstat(p).catch(() => undefined)) !== undefined;
}
