import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, link, mkdir, rename, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { BlobStore } from '../core/blob-store.js';
import { FerryError } from '../errors/index.js';
import { hashTree, type TreeEntry } from './tree-hash.js';
import { decodeListing, encodeListing } from './tree-listing.js';

/** Blobs written or read at once: enough to keep a disk (or a network) busy, few enough fds. */
const CONCURRENCY = 16;

/** The blob digest of a package's listing: its sha is the listing's sha256. */
export const listingDigest = (sha: string): string => `sha256:${sha}`;

/**
 * Stores a hashed tree as blobs: one per distinct file content (skipped when already stored,
 * so versions share what they have in common), then the listing under the package's sha. The
 * listing goes last: a stored listing means every blob it names is stored.
 */
export async function publishTree(blobs: BlobStore, dir: string, sha: string, entries: readonly TreeEntry[]): Promise<void> {
  if (await blobs.has(listingDigest(sha))) return;
  const files = [...new Map(entries.filter((e) => e.kind === 'file').map((e) => [e.digest!, e])).values()];
  await inParallel(files, async (e) => {
    const digest = `sha256:${e.digest!}`;
    if (!(await blobs.has(digest))) await blobs.putFile(digest, join(dir, e.rel));
  });
  await blobs.put(listingDigest(sha), encodeListing(entries));
}

/** The listing of a stored package, checked against its sha; `blob-not-found` if it has none. */
export async function readListing(blobs: BlobStore, sha: string): Promise<TreeEntry[]> {
  const parts: Buffer[] = [];
  for await (const chunk of await blobs.get(listingDigest(sha))) parts.push(chunk as Buffer);
  const listing = Buffer.concat(parts);
  if (createHash('sha256').update(listing).digest('hex') !== sha) throw new FerryError('blob-digest-mismatch', `the listing of package ${sha} does not match its sha`);
  return decodeListing(listing);
}

/**
 * Rebuilds a stored package into `into` (an empty directory) from its blobs, and checks the
 * result's tree hash against `sha`: what is rebuilt is exactly what was committed, or it throws.
 * Answers the entries, for sealing.
 */
export async function fetchTree(blobs: BlobStore, sha: string, into: string): Promise<TreeEntry[]> {
  const entries = await readListing(blobs, sha);
  // Directories first (the listing orders a directory before what it holds).
  for (const e of entries) if (e.kind === 'dir') await mkdir(inside(into, e.rel));
  await inParallel(entries.filter((e) => e.kind !== 'dir'), async (e) => {
    const path = inside(into, e.rel);
    if (e.kind === 'symlink') await symlink(e.target!, path);
    else if (e.exec || !(await linkBlob(blobs, `sha256:${e.digest!}`, path))) {
      await pipeline(await blobs.get(`sha256:${e.digest!}`), createWriteStream(path, { flags: 'wx', mode: 0o644 }));
      if (e.exec) await chmod(path, 0o755);
    }
  });
  const got = await hashTree(into);
  if (got.sha !== sha) throw new FerryError('blob-digest-mismatch', `package ${sha} rebuilt from its blobs hashes to ${got.sha}`);
  return got.entries;
}

/**
 * Makes `path` (not there yet) a hard link to the blob, where the store keeps it as a file on
 * this file system: the package cache then holds no second copy of the bytes. Answers false
 * where it cannot (no local file, another file system, the blob just deleted): copy instead.
 * Only for files that are not executable: a link shares the blob's inode and so its mode, which
 * sealing makes 0444 (the store's 0700 directory still keeps everyone else out); an executable
 * copy of the same bytes would need 0555 on the same inode.
 */
export async function linkBlob(blobs: BlobStore, digest: string, path: string): Promise<boolean> {
  const file = blobs.localFile?.(digest);
  if (file === undefined) return false;
  try {
    await link(file, path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EXDEV' || code === 'ENOENT' || code === 'EPERM' || code === 'EMLINK') return false;
    throw err;
  }
}

/**
 * Replaces the tree's files that are not executable by hard links to their blobs (after
 * `publishTree`, before sealing), so a committed package is kept once, in the blob store.
 * Each link is made beside the tree (`spare`, a fresh name in staging) and renamed over the file.
 */
export async function linkTreeToBlobs(blobs: BlobStore, dir: string, entries: readonly TreeEntry[], spare: () => string): Promise<void> {
  if (!blobs.localFile) return;
  await inParallel(entries.filter((e) => e.kind === 'file' && !e.exec), async (e) => {
    const temp = spare();
    if (await linkBlob(blobs, `sha256:${e.digest!}`, temp)) await rename(temp, inside(dir, e.rel));
  });
}

/** The digests of the file blobs a listing names. */
export function fileBlobs(entries: readonly TreeEntry[]): Set<string> {
  return new Set(entries.filter((e) => e.kind === 'file').map((e) => `sha256:${e.digest!}`));
}

/** `rel` below `root`, refused if any component could lead elsewhere (a listing never has one). */
function inside(root: string, rel: string): string {
  if (rel.split('/').some((c) => c === '' || c === '.' || c === '..')) throw new FerryError('internal', `a tree listing names an unsafe path: ${JSON.stringify(rel)}`);
  return `${root}/${rel}`;
}

async function inParallel<T>(items: readonly T[], each: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await each(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker));
}
