import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Mounter } from './mounter.js';

/**
 * Package slots of pooled sandboxes. A slot is an empty directory, bound onto itself as a shared
 * mount, that a pooled sandbox binds read-only at /pkg when it starts; at hand-off the function's
 * package is bound (read-only) onto the slot on the host and propagates into that one sandbox.
 *
 * Slots live under /run (a tmpfs emptied at boot), never in the data dir, so removing a data dir
 * can never recurse into a package bound somewhere. A slot directory is only ever removed with
 * rmdir after its mounts are gone: never recursively.
 */
export function slotRoot(scope: string): string {
  return join(existsSync('/run') ? '/run' : tmpdir(), 'ferry-slots', scope);
}

/** Mount points at or under `dir`, deepest first, from /proc/self/mountinfo. */
export function mountsUnder(dir: string): string[] {
  let text: string;
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const unescape = (s: string): string => s.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const points = text
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => !!m)
    .map(unescape)
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

export class Slots {
  constructor(
    private readonly root: string,
    private readonly mounter: Mounter,
  ) {}

  /** Makes the empty, shared slot of one pooled sandbox. */
  async create(id: string): Promise<string> {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new TypeError(`bad slot id ${id}`);
    // Searchable, not listable (0711), like the data dir: bwrap resolves the bind source as the
    // unprivileged sandbox user, but other local users must not find packages by listing slots.
    await mkdir(this.root, { recursive: true, mode: 0o711 });
    const dir = join(this.root, id);
    await mkdir(dir, { mode: 0o755 }); // not recursive: an existing slot is not ours to reuse
    try {
      await this.mounter.request('slot', dir);
    } catch (err) {
      await rmdir(dir).catch(() => {});
      throw err;
    }
    return dir;
  }

  /** Puts a package into a slot, read-only. */
  fill(dir: string, packageDir: string): Promise<void> {
    return this.mounter.request('bind-ro', packageDir, dir);
  }

  /** Unmounts a slot (the package, then the slot's own bind) and removes its directory. */
  async remove(dir: string): Promise<void> {
    await this.mounter.request('unmount', dir);
    // rmdir, not rm -r: should anything still be mounted there, this fails instead of deleting
    // through the mount.
    await rmdir(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  /** Unmounts and removes every slot under the root (left by this or an earlier server process). */
  async cleanup(): Promise<string[]> {
    const removed: string[] = [];
    for (const m of mountsUnder(this.root)) {
      await this.mounter.request('unmount', m);
      removed.push(m);
    }
    for (const name of await readdir(this.root).catch(() => [] as string[])) {
      await rmdir(join(this.root, name)).catch(() => {});
    }
    await rmdir(this.root).catch(() => {});
    return [...new Set(removed)];
  }
}
