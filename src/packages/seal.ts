import { chmodSync, lstatSync, readdirSync, rmSync } from 'node:fs';
import { chmod, lstat, open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { TreeEntry } from './tree-hash.js';

/** Files fsynced at once while sealing: enough to keep a disk queue busy, few enough fds. */
const SYNC_CONCURRENCY = 16;

/**
 * Makes a tree read-only and durable: files 0444 (0555 when executable), directories below
 * `dir` 0555, everything fsynced so a crash can never leave a half-written tree under a content
 * hash. `dir` itself stays writable: moving a directory to a new parent needs write access to
 * it (its `..` entry changes); seal it with `sealDir` once it is in place.
 */
export async function sealTree(dir: string, entries: readonly TreeEntry[]): Promise<void> {
  const files = entries.filter((e) => e.kind === 'file');
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const e = files[next++] as TreeEntry;
      await syncPath(join(dir, e.rel), e.exec ? 0o555 : 0o444);
    }
  };
  await Promise.all(Array.from({ length: Math.min(SYNC_CONCURRENCY, files.length) }, worker));
  // Deepest first, so each directory is synced after everything inside it.
  const dirs = entries.filter((e) => e.kind === 'dir').reverse();
  for (const e of dirs) await syncPath(join(dir, e.rel), 0o555);
  await syncPath(dir);
}

/** Seals the top directory of a tree (0555) and syncs it. */
export async function sealDir(dir: string): Promise<void> {
  await syncPath(dir, 0o555);
}

/** fsyncs a file or directory, optionally chmodding it through the same descriptor. */
export async function syncPath(p: string, mode?: number): Promise<void> {
  const fh = await open(p, 'r');
  try {
    if (mode !== undefined) await fh.chmod(mode);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Deletes a tree that may have been sealed: directories are made writable again first, since
 * without root a read-only directory's entries cannot be removed. Missing trees are fine.
 */
export async function removeTree(p: string): Promise<void> {
  await unlockDirs(p);
  await rm(p, { recursive: true, force: true });
}

async function unlockDirs(p: string): Promise<void> {
  const st = await lstat(p).catch(() => undefined);
  if (!st?.isDirectory()) return; // never follow symlinks
  await chmod(p, 0o755);
  for (const name of await readdir(p)) await unlockDirs(join(p, name));
}

/** `removeTree` for start-up, before anything else runs. */
export function removeTreeSync(p: string): void {
  const unlock = (q: string): void => {
    let st;
    try {
      st = lstatSync(q);
    } catch {
      return;
    }
    if (!st.isDirectory()) return;
    chmodSync(q, 0o755);
    for (const name of readdirSync(q)) unlock(join(q, name));
  };
  unlock(p);
  rmSync(p, { recursive: true, force: true });
}
