import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync } from 'node:fs';
import { chmod, lstat, mkdir, rename, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { BlobStore } from '../core/blob-store.js';
import type { PackageCache, PackageStore } from '../core/store.js';
import { FerryError } from '../errors/index.js';
import { fetchTree, fileBlobs, linkTreeToBlobs, listingDigest, publishTree, readListing } from './package-blobs.js';
import { removeTree, removeTreeSync, sealDir, sealTree, syncPath } from './seal.js';
import { hashTree, type TreeEntry } from './tree-hash.js';

/** In the cache: the data dir's packages were all put into the blob store (see publishCached). */
const ADOPTED_MARKER = '.in-blob-store';

const SHA = /^[0-9a-f]{64}$/;

/**
 * Content-addressed package trees. The blob store holds every committed package (its listing
 * under its sha, a blob per file content: `package-blobs.ts`); this host keeps them unpacked in
 * its local cache, `<dataDir>/packages/<sha256>`, read-only, shared by every version (and
 * instance) with the same content, its files that are not executable hard links to their blobs
 * where the blob store keeps local files (so the bytes are on disk once). A commit fills both;
 * `localPath` fetches a package the cache lacks from the blob store. Work in progress lives in `<dataDir>/packages/.staging/`, on the
 * same file system so moving a tree into the cache is one atomic rename, and is wiped on start-up
 * since nothing there survives a crash meaningfully.
 */
export class FsPackageStore implements PackageStore, PackageCache {
  /** `<dataDir>/packages`. */
  readonly root: string;
  private readonly stagingRoot: string;
  /** Fetches in progress, so concurrent starts of one package fetch it once. */
  private readonly fetching = new Map<string, Promise<string>>();

  /** `staging`: this process's staging directory in `packages/`, its own so no other process's start wipes it. */
  constructor(
    dataDir: string,
    private readonly blobs: BlobStore,
    staging = '.staging',
  ) {
    this.root = resolve(dataDir, 'packages');
    this.stagingRoot = join(this.root, staging);
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
   * Hashes the staged tree, stores it in the blob store, seals it read-only and moves it into the
   * cache at `<root>/<sha>`; if the cache has that package already the staged copy is discarded
   * instead (dedupe). `stagingDir` is a directory from
   * `stage()` or one inside it (e.g. what `findPackageRoot` answered); in the latter case the
   * caller still discards the outer staging directory. `size` is the bytes of regular files.
   */
  async commit(stagingDir: string): Promise<{ sha: string; size: number; dir: string }> {
    const dir = this.checkStaging(stagingDir);
    const { sha, size, entries } = await hashTree(dir);
    const final = join(this.root, sha);
    // Into the blob store first: it is the truth, the cache only a copy of it.
    await publishTree(this.blobs, dir, sha, entries);
    if (await exists(final)) {
      await removeTree(dir);
      return { sha, size, dir: final };
    }
    // The cache's files become links to the blobs just stored: the package is kept once.
    await linkTreeToBlobs(this.blobs, dir, entries, () => join(this.stagingRoot, `ln-${randomBytes(12).toString('hex')}`));
    await this.cache(dir, final, entries);
    return { sha, size, dir: final };
  }

  /**
   * The package's tree on this host: the cached one, or (when the cache lacks it) fetched from
   * the blob store into staging, checked against its sha, sealed and moved into the cache.
   */
  localPath(sha: string): Promise<string> {
    const final = this.path(sha);
    let p = this.fetching.get(sha);
    if (!p) {
      p = (async () => {
        if (await exists(final)) return final;
        const dir = await this.stage();
        try {
          await this.cache(dir, final, await fetchTree(this.blobs, sha, dir));
        } finally {
          await removeTree(dir);
        }
        return final;
      })().finally(() => this.fetching.delete(sha));
      this.fetching.set(sha, p);
    }
    return p;
  }

  /**
   * Puts the packages the cache holds but the blob store lacks (a data dir from before the blob
   * store) into the blob store, once: a marker in the cache records that the data dir was adopted,
   * so later starts check nothing (every commit since puts its package there itself).
   */
  async publishCached(shas: Iterable<string>): Promise<void> {
    const marker = join(this.root, ADOPTED_MARKER);
    if (await exists(marker)) return;
    for (const sha of shas) {
      const dir = this.path(sha);
      if ((await this.blobs.has(listingDigest(sha))) || !(await exists(dir))) continue;
      const { sha: got, entries } = await hashTree(dir);
      if (got !== sha) throw new FerryError('internal', `the cached package ${sha} hashes to ${got}`);
      await publishTree(this.blobs, dir, sha, entries);
    }
    await writeFile(marker, '');
  }

  /** Seals a staged tree and moves it to `final` in the cache; a tree already there wins. */
  private async cache(dir: string, final: string, entries: readonly TreeEntry[]): Promise<void> {
    await sealTree(dir, entries);
    try {
      await rename(dir, final);
    } catch (err) {
      // Lost a race with an identical commit: theirs is as good as ours.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      await removeTree(dir);
      return;
    }
    await syncPath(this.root); // makes the rename itself durable
    await sealDir(final);
  }

  /** Host path of a package in the local cache; throws `internal` for anything that is not a sha256. */
  path(sha: string): string {
    if (!SHA.test(sha)) throw new FerryError('internal', `not a package sha: ${JSON.stringify(sha)}`);
    // Not join(): its normalisation builds the result piece by piece, and every version in the
    // catalog would keep that rope of copies; `root` is absolute and normalised, `sha` is hex.
    return `${this.root}/${sha}`;
  }

  /**
   * Deletes a stored package: its listing, the file blobs no package of `inUse` (the shas still
   * used) names, and its cache entry; missing ones are fine. The listing goes first, so a package
   * is never listed while blobs it names are missing.
   */
  async remove(sha: string, inUse: Iterable<string>): Promise<void> {
    const own = await readListing(this.blobs, sha).catch(() => undefined);
    await this.blobs.delete(listingDigest(sha));
    if (own) {
      const unused = fileBlobs(own);
      for (const other of new Set(inUse)) {
        if (other === sha || unused.size === 0) continue;
        // A package without a listing names no blob that could be lost here.
        const entries = await readListing(this.blobs, other).catch(() => []);
        for (const d of fileBlobs(entries)) unused.delete(d);
      }
      for (const d of unused) await this.blobs.delete(d);
    }
    await this.uncache(sha);
  }

  /**
   * Deletes a package's cache entry. It is first moved into staging (atomic), so a crash
   * mid-delete never leaves a partial tree under the sha that a later commit would trust.
   */
  private async uncache(sha: string): Promise<void> {
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
