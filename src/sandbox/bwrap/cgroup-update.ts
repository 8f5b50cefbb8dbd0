import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CgroupController, CgroupLimits } from './cgroups.js';

/**
 * Rewrites the limit values of one controller (its other settings stay as `apply` made them).
 * v1 keeps memory+swap >= memory at every step: a cut writes memsw last, a raise first.
 */
export function updateLimits(c: CgroupController, version: 1 | 2, dir: string, limits: CgroupLimits): void {
  // Synchronous: a few tiny writes on the path of a cold call, where the thread pool's queue
  // (shared with everything else the server does) would add milliseconds.
  const put = (file: string, value: string | number): void => writeFileSync(join(dir, file), String(value));
  if (c === 'memory') {
    const bytes = Math.floor(limits.memoryMb! * 1024 * 1024);
    if (version === 2) return put('memory.max', bytes);
    const memsw = (): void => {
      try {
        put('memory.memsw.limit_in_bytes', bytes);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // no swap accounting here
      }
    };
    try {
      put('memory.limit_in_bytes', bytes);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
      memsw();
      put('memory.limit_in_bytes', bytes);
    }
    return memsw();
  }
  if (c === 'cpu') {
    const quota = Math.max(1000, Math.round(limits.cpu! * 100_000));
    return version === 1 ? put('cpu.cfs_quota_us', quota) : put('cpu.max', `${quota} 100000`);
  }
  return put('pids.max', limits.pids!);
}
