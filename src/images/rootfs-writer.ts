import { constants } from 'node:fs';
import { chmod, link, lstat, mkdir, open, readdir, readlink, rm, symlink, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { FerryError } from '../errors/index.js';

/** Caps of one image's flattening. */
export interface RootfsLimits {
  /** Most layer entries, all layers together. */
  maxEntries: number;
  /** Most bytes of file content written (hard links count as copies). */
  maxBytes: number;
}

// O_EXCL + O_NOFOLLOW: never open (and so never write through) something already at the path.
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Writes the entries of an image's layers, lowest first, into one root file system below `root`.
 * Unlike a package archive, symlinks keep their targets as they are, absolute ones included: in
 * the sandbox `/` is this tree, so they resolve inside it. What holds instead is that the writer
 * itself never follows a link: an entry whose parent path is a symlink is refused (the classic
 * layer escape, `etc -> /host/etc` then `etc/passwd`), files are created O_EXCL|O_NOFOLLOW after
 * removing what was there, and removals never descend through links.
 *
 * Modes: a file is 0755 if the image gave it any exec bit, else 0644; directories 0755; setuid,
 * setgid and sticky bits and owners are dropped (the store seals the tree read-only anyway, and
 * nothing runs privileged in the sandbox).
 */
export class RootfsWriter {
  private entries = 0;
  private bytes = 0;
  /** Directories known to exist as real directories (not links), by relative path. */
  private readonly knownDirs = new Set<string>();
  /** What the current layer wrote (and the parents that implies): an opaque dir keeps these. */
  private readonly layerPaths = new Set<string>();

  constructor(
    private readonly root: string,
    private readonly limits: RootfsLimits,
  ) {}

  /** Starts the next layer: whiteouts and opaque dirs from now on hide what is written so far. */
  beginLayer(): void {
    this.layerPaths.clear();
  }

  /** Entries and bytes written so far. */
  totals(): { entries: number; bytes: number } {
    return { entries: this.entries, bytes: this.bytes };
  }

  /** Counts one entry; throws `image-too-large` past `maxEntries`. */
  count(): void {
    if (++this.entries > this.limits.maxEntries) throw new FerryError('image-too-large', `the image holds more than ${this.limits.maxEntries} entries (--image-max-entries)`);
  }

  async dir(parts: string[]): Promise<void> {
    if (parts.length === 0) return; // `./` itself: the root exists
    await this.ensureParents(parts);
    const p = this.abs(parts);
    const st = await lstat(p).catch(() => undefined);
    if (!st?.isDirectory()) {
      if (st) await this.remove(parts);
      await mkdir(p);
    }
    await chmod(p, 0o755);
    this.knownDirs.add(key(parts));
    this.mark(parts);
  }

  /** A regular file from `data`, every byte counted as it arrives. */
  async file(parts: string[], mode: number, data: AsyncIterable<Buffer>): Promise<void> {
    if (parts.length === 0) throw unsafe(parts, 'a file cannot replace the root');
    await this.ensureParents(parts);
    await this.clear(parts);
    const fh = await open(this.abs(parts), CREATE_FLAGS, 0o600);
    try {
      for await (const chunk of data) {
        this.bytes += chunk.length;
        if (this.bytes > this.limits.maxBytes) throw tooLarge(this.limits.maxBytes);
        let off = 0;
        while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
      }
      await fh.chmod((mode & 0o111) !== 0 ? 0o755 : 0o644);
    } finally {
      await fh.close();
    }
    this.mark(parts);
  }

  /** A symlink, its target kept verbatim: it is resolved in the sandbox, where `/` is the image. */
  async symlink(parts: string[], target: string): Promise<void> {
    if (parts.length === 0) throw unsafe(parts, 'a symlink cannot replace the root');
    if (target === '' || target.includes('\0')) throw unsafe(parts, 'symlink with an empty or invalid target');
    await this.ensureParents(parts);
    await this.clear(parts);
    await symlink(target, this.abs(parts));
    this.mark(parts);
  }

  /**
   * A hard link to an entry already in the tree (this layer's or a lower one's), reached without
   * following any symlink. To a symlink, it becomes a copy of that symlink.
   */
  async hardlink(parts: string[], target: string[]): Promise<void> {
    if (parts.length === 0 || target.length === 0) throw unsafe(parts, 'a hard link cannot name the root');
    if (key(parts) === key(target)) throw unsafe(parts, 'hard link to itself');
    for (let i = 1; i < target.length; i++) {
      const st = await lstat(this.abs(target.slice(0, i))).catch(() => undefined);
      if (!st?.isDirectory()) throw unsafe(parts, `hard link to ${key(target)}, which is not reachable without following a link`);
    }
    const st = await lstat(this.abs(target)).catch(() => undefined);
    if (!st) throw unsafe(parts, `hard link to a missing entry ${key(target)}`);
    if (st.isSymbolicLink()) return this.symlink(parts, await readlink(this.abs(target)));
    if (!st.isFile()) throw unsafe(parts, `hard link to ${key(target)}, which is not a regular file`);
    // Counted like a copy: hashing and sealing the tree read it again.
    this.bytes += st.size;
    if (this.bytes > this.limits.maxBytes) throw tooLarge(this.limits.maxBytes);
    await this.ensureParents(parts);
    await this.clear(parts);
    await link(this.abs(target), this.abs(parts));
    this.mark(parts);
  }

  /** `.wh.<name>`: deletes `<name>` of the lower layers (a missing one is fine). */
  async whiteout(parts: string[]): Promise<void> {
    if (!(await this.ensureParents(parts, false))) return; // nothing there to hide
    if (this.layerPaths.has(key(parts))) return; // this layer's own entry: whiteouts hide lower ones only
    await this.remove(parts);
  }

  /** `.wh..wh..opq` in `dir`: empties `dir` of everything the lower layers put there. */
  async opaque(dir: string[]): Promise<void> {
    await this.dir(dir);
    await this.prune(dir);
  }

  /** Removes below `dir` whatever the current layer did not write, without following links. */
  private async prune(dir: string[]): Promise<void> {
    for (const name of await readdir(this.abs(dir))) {
      const parts = [...dir, name];
      if (!this.layerPaths.has(key(parts))) {
        await this.remove(parts);
        continue;
      }
      if ((await lstat(this.abs(parts))).isDirectory()) await this.prune(parts);
    }
  }

  private abs(parts: readonly string[]): string {
    return join(this.root, ...parts);
  }

  /** Records `parts` and its parents as the current layer's. */
  private mark(parts: readonly string[]): void {
    for (let i = 1; i <= parts.length; i++) this.layerPaths.add(key(parts.slice(0, i)));
  }

  /**
   * Creates missing parent directories (or, with `create` false, answers false at the first
   * missing one); refuses to descend through a symlink or a non-directory.
   */
  private async ensureParents(parts: string[], create = true): Promise<boolean> {
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i);
      const k = key(prefix);
      if (this.knownDirs.has(k)) continue;
      const st = await lstat(this.abs(prefix)).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      });
      if (!st) {
        if (!create) return false;
        await mkdir(this.abs(prefix));
        await chmod(this.abs(prefix), 0o755);
        this.mark(prefix);
      } else if (st.isSymbolicLink()) {
        throw unsafe(parts, `its parent ${k} is a symlink; writing through it could leave the root file system`);
      } else if (!st.isDirectory()) {
        throw unsafe(parts, `its parent ${k} is not a directory`);
      }
      this.knownDirs.add(k);
    }
    return true;
  }

  /** Removes what a lower entry left at `parts`, unless it is a directory a dir entry merges into. */
  private async clear(parts: string[]): Promise<void> {
    if (await lstat(this.abs(parts)).catch(() => undefined)) await this.remove(parts);
  }

  /** Deletes `parts` (a whole directory tree included; `rm` never follows links), if present. */
  private async remove(parts: string[]): Promise<void> {
    const p = this.abs(parts);
    const st = await lstat(p).catch(() => undefined);
    if (!st) return;
    if (!st.isDirectory()) return unlink(p);
    await rm(p, { recursive: true, force: true });
    const k = key(parts);
    for (const d of this.knownDirs) if (d === k || d.startsWith(`${k}/`)) this.knownDirs.delete(d);
  }
}

function key(parts: readonly string[]): string {
  return parts.join('/');
}

function unsafe(parts: readonly string[], why: string): FerryError {
  return new FerryError('image-invalid', `entry ${parts.length ? key(parts) : '.'}: ${why}`);
}

function tooLarge(max: number): FerryError {
  return new FerryError('image-too-large', `the image's files come to more than ${max} bytes (--image-max-bytes)`);
}
