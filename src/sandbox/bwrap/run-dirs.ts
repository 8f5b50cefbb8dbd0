import type { Mounter } from './mounter.js';
import { mountsUnder } from './slots.js';

/**
 * The size cap of instances' run dirs. A run dir (`<data-dir>/run/<id>/`, `/run/ferry` inside)
 * is writable by its instance; as a plain directory it would fill the data dir's disk, where
 * SQLite must keep writing. So, as root, each one is a tmpfs of its own, mounted before anything
 * is put in it (the server's API socket comes before the sandbox) and unmounted when the
 * instance is gone. It holds sockets and a few small records: a little room is plenty.
 */

/** Bytes an instance may write into its run dir. */
export const RUN_DIR_BYTES = 1024 * 1024;
/** Files (inodes) it may hold: empty files cost memory too, and count against no byte cap. */
export const RUN_DIR_FILES = 256;

export class RunDirs {
  constructor(
    private readonly mounter: Mounter,
    /** The host uid the run dir belongs to (the sandbox user). */
    private readonly uid: number,
  ) {}

  /** Mounts the capped tmpfs on an empty run dir. */
  prepare(dir: string): Promise<void> {
    return this.mounter.runfs(dir, RUN_DIR_BYTES, RUN_DIR_FILES, this.uid);
  }

  /** Unmounts it (nothing mounted: nothing to do). Its content goes with it. */
  release(dir: string): Promise<void> {
    return this.mounter.request('unmount', dir);
  }

  /** Unmounts what a killed server left under the run root; answers the mount points. */
  async cleanup(runRoot: string): Promise<string[]> {
    const left = mountsUnder(runRoot).filter((m) => m !== runRoot);
    for (const m of left) await this.mounter.request('unmount', m);
    return left;
  }
}
