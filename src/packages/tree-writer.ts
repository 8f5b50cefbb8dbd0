import { constants } from 'node:fs';
import { chmod, link, lstat, mkdir, open, readlink, rm, symlink, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { FerryError } from '../errors/index.js';
import { showPath } from './entry-path.js';

/** Caps applied while unpacking one archive. */
export interface UnpackLimits {
  /** Most entries (files, dirs, links, anything) the archive may hold. */
  maxEntries: number;
  /** Most bytes of file content, counted as written (hard links count as copies). */
  maxBytes: number;
}

/** What an unpack wrote. */
export interface UnpackResult {
  /** Archive entries seen, of every kind. */
  entries: number;
  /** Bytes of file content, counted as for `maxBytes`. */
  bytes: number;
}

/** Symlink hops followed while resolving one target, as Linux' own limit. */
const MAX_LINK_HOPS = 40;

// O_EXCL + O_NOFOLLOW: never open (and so never write through) something already at the path.
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Writes archive entries below `root`, format-agnostic. Every path it is handed has already been
 * split by `entryComponents`, so it cannot name anything above `root`; what this class adds is
 * that no write ever goes through a symlink, no link ends up pointing outside, and the limits hold
 * by actual bytes written.
 */
export class TreeWriter {
  private entries = 0;
  private bytes = 0;
  /** Symlinks created, by relative path: re-checked at the end against the final tree. */
  private readonly symlinks = new Map<string, string[]>();
  /** Directories known to exist as real directories (not links), by relative path. */
  private readonly knownDirs = new Set<string>();

  /** `signal` aborts a write in progress, even one waiting for data that will never come. */
  constructor(
    private readonly root: string,
    private readonly limits: UnpackLimits,
    private readonly signal?: AbortSignal,
  ) {}

  /** Counts one archive entry; throws once there are more than `maxEntries`. */
  count(): void {
    this.entries += 1;
    if (this.entries > this.limits.maxEntries) {
      throw new FerryError('archive-too-many-entries', `the archive holds more than ${this.limits.maxEntries} entries`);
    }
  }

  /** Throws if `declared` more bytes would exceed the limit: a cheap early check, not the real one. */
  checkDeclared(declared: number): void {
    if (this.bytes + declared > this.limits.maxBytes) throw this.tooLarge();
  }

  async dir(parts: string[]): Promise<void> {
    if (parts.length === 0) return; // `./` itself
    await guardFs(async () => {
      await this.ensureParents(parts);
      const p = this.abs(parts);
      await mkdir(p).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
        if (!(await this.clear(parts, true))) await mkdir(p);
      });
      await chmod(p, 0o755);
      this.knownDirs.add(parts.join('/'));
    });
  }

  /**
   * Writes a regular file from `data`, counting every byte against `maxBytes` as it arrives;
   * answers the bytes written.
   */
  async file(parts: string[], exec: boolean, data: AsyncIterable<Buffer>, declaredSize?: number): Promise<number> {
    if (parts.length === 0) throw new FerryError('archive-unsafe-path', 'a file entry names the package root');
    if (declaredSize !== undefined) this.checkDeclared(declaredSize);
    const fh = await guardFs(async () => {
      await this.ensureParents(parts);
      return this.create(parts, () => open(this.abs(parts), CREATE_FLAGS, 0o600));
    });
    let written = 0;
    try {
      for await (const chunk of abortable(data, this.signal)) {
        written += chunk.length;
        this.bytes += chunk.length;
        if (this.bytes > this.limits.maxBytes) throw this.tooLarge();
        await guardFs(() => writeAll(fh, chunk));
      }
      // chmod explicitly rather than trust the umask; only the owner-exec bit survives from the archive.
      await guardFs(() => fh.chmod(exec ? 0o755 : 0o644));
    } finally {
      await fh.close();
    }
    return written;
  }

  async symlink(parts: string[], target: string): Promise<void> {
    if (parts.length === 0) throw new FerryError('archive-unsafe-path', 'a symlink entry names the package root');
    if (target === '' || target.includes('\0')) {
      throw new FerryError('archive-invalid', `symlink ${showPath(parts)} has an empty or invalid target`);
    }
    await guardFs(async () => {
      await this.checkLink(parts, target);
      await this.ensureParents(parts);
      await this.create(parts, () => symlink(target, this.abs(parts)));
    });
    this.symlinks.set(parts.join('/'), parts);
  }

  /** Hard link to an earlier regular file of the archive (`target` is relative to the root). */
  async hardlink(parts: string[], target: string[]): Promise<void> {
    if (parts.length === 0) throw new FerryError('archive-unsafe-path', 'a hard link entry names the package root');
    if (parts.join('/') === target.join('/')) {
      throw new FerryError('archive-invalid', `hard link ${showPath(parts)} points at itself`);
    }
    await guardFs(async () => {
      // The target must be reachable without following symlinks, and be a file: a hard link to a
      // symlink would re-resolve its relative target from the link's own directory.
      for (let i = 1; i <= target.length; i++) {
        const st = await lstat(this.abs(target.slice(0, i))).catch(() => undefined);
        if (!st) throw new FerryError('archive-invalid', `hard link ${showPath(parts)} to a missing entry ${showPath(target)}`);
        if (st.isSymbolicLink()) {
          throw new FerryError('archive-unsafe-link', `hard link ${showPath(parts)} goes through the symlink ${showPath(target.slice(0, i))}`);
        }
        if (i === target.length) {
          if (!st.isFile()) throw new FerryError('archive-invalid', `hard link ${showPath(parts)} must point at a regular file`);
          // Counted like a copy: a link costs no disk, but hashing and sizing the package read it
          // again, and thousands of links to one big file must not multiply that work.
          this.bytes += st.size;
          if (this.bytes > this.limits.maxBytes) throw this.tooLarge();
        }
      }
      await this.ensureParents(parts);
      await this.create(parts, () => link(this.abs(target), this.abs(parts)));
    });
  }

  /**
   * Re-checks every symlink against the final tree (an earlier link's meaning can change when a
   * later entry creates a link it passes through) and answers the totals.
   */
  async finish(): Promise<UnpackResult> {
    await guardFs(async () => {
      for (const parts of this.symlinks.values()) {
        const st = await lstat(this.abs(parts)).catch(() => undefined);
        if (!st?.isSymbolicLink()) continue; // replaced by a later entry
        await this.checkLink(parts, await readlink(this.abs(parts)));
      }
    });
    return { entries: this.entries, bytes: this.bytes };
  }

  private abs(parts: readonly string[]): string {
    return join(this.root, ...parts);
  }

  private tooLarge(): FerryError {
    return new FerryError('archive-too-large', `the archive unpacks to more than ${this.limits.maxBytes} bytes`);
  }

  private async checkLink(parts: string[], target: string): Promise<void> {
    if (!(await this.resolvesInside(parts.slice(0, -1), target))) {
      throw new FerryError('archive-unsafe-link', `symlink ${showPath(parts)} -> ${target} resolves outside the package`);
    }
  }

  /**
   * Resolves `target` from the directory `base` the way the kernel would, following symlinks that
   * already exist in the tree; false once it climbs above the root or is absolute anywhere.
   * Components that do not exist yet are taken literally (`finish` checks again later).
   */
  private async resolvesInside(base: string[], target: string): Promise<boolean> {
    if (target.startsWith('/')) return false;
    const stack = [...base];
    const pending = target.split('/');
    let hops = 0;
    while (pending.length > 0) {
      const c = pending.shift() as string;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        if (stack.length === 0) return false;
        stack.pop();
        continue;
      }
      stack.push(c);
      const st = await lstat(this.abs(stack)).catch(() => undefined);
      if (!st?.isSymbolicLink()) continue;
      if (++hops > MAX_LINK_HOPS) return false;
      const next = await readlink(this.abs(stack));
      if (next.startsWith('/')) return false;
      stack.pop();
      pending.unshift(...next.split('/'));
    }
    return true;
  }

  /** Creates missing parent directories; refuses to descend through a symlink. */
  private async ensureParents(parts: string[]): Promise<void> {
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i);
      const key = prefix.join('/');
      if (this.knownDirs.has(key)) continue;
      const p = this.abs(prefix);
      const st = await lstat(p).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      });
      if (!st) {
        await mkdir(p);
        await chmod(p, 0o755);
      } else if (st.isSymbolicLink()) {
        throw new FerryError('archive-unsafe-link', `entry ${showPath(parts)} would be written through the symlink ${key}`);
      } else if (!st.isDirectory()) {
        throw new FerryError('archive-invalid', `entry ${showPath(parts)} needs ${key} to be a directory`);
      }
      this.knownDirs.add(key);
    }
  }

  /**
   * Runs `make` (which creates `parts` exclusively); if something is already there, removes it
   * and tries once more. Trying first saves a stat per entry in the usual, collision-free case.
   */
  private async create<T>(parts: string[], make: () => Promise<T>): Promise<T> {
    try {
      return await make();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      await this.clear(parts, false);
      return make();
    }
  }

  /**
   * Removes whatever an earlier entry left at `parts` (later entries win, as in tar). Answers true
   * when a real directory is there and `keepDir` asked to keep it.
   */
  private async clear(parts: string[], keepDir: boolean): Promise<boolean> {
    const p = this.abs(parts);
    const st = await lstat(p).catch(() => undefined);
    if (!st) return false;
    if (st.isDirectory()) {
      if (keepDir) return true;
      // rm does not follow symlinks inside the tree, so this stays below root.
      await rm(p, { recursive: true, force: true });
      const key = parts.join('/');
      for (const k of this.knownDirs) if (k === key || k.startsWith(key + '/')) this.knownDirs.delete(k);
      return false;
    }
    await unlink(p);
    return false;
  }
}

/** Iterates `src` until it ends or `signal` aborts, whichever comes first. */
export async function* abortable<T>(src: AsyncIterable<T>, signal: AbortSignal | undefined): AsyncGenerator<T> {
  if (!signal) return yield* src;
  signal.throwIfAborted();
  const it = src[Symbol.asyncIterator]();
  let onAbort = (): void => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => {}); // only ever observed through the race below
  try {
    for (;;) {
      const r = await Promise.race([it.next(), aborted]);
      if (r.done) return;
      yield r.value;
    }
  } finally {
    signal.removeEventListener('abort', onAbort); // one listener per file would pile up otherwise
  }
}

async function writeAll(fh: FileHandle, buf: Buffer): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off);
    off += bytesWritten;
  }
}

/** File system errors become FerryErrors: a name the file system refuses is the archive's fault. */
async function guardFs<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof FerryError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENAMETOOLONG' || code === 'EILSEQ' || code === 'ELOOP' || code === 'ENOTDIR') {
      throw new FerryError('archive-invalid', `an entry cannot be written: ${(err as Error).message}`, { cause: err });
    }
    throw new FerryError('internal', `unpacking failed: ${(err as Error).message}`, { cause: err });
  }
}
