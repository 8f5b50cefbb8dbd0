import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const PERIOD_US = 100_000;

/**
 * The host's CPU bound of a VM: QEMU's process in a `cpu` cgroup of its own with a quota of
 * `limits.cpu` CPUs (cgroup v1 `cpu`, or v2 `cpu.max`). The guest's vCPU is a QEMU thread, so
 * this bounds the guest, its devices and the emulator alike.
 */
export class HostCpu {
  private constructor(private readonly base: string, private readonly v2: boolean) {}

  /** The cgroup tree to use here, or undefined (with none, `cpu` is reported unenforced). */
  static detect(scope: string): HostCpu | undefined {
    if (existsSync('/sys/fs/cgroup/cgroup.controllers')) {
      if (!readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').split(/\s+/).includes('cpu')) return undefined;
      return new HostCpu(join('/sys/fs/cgroup', scope), true);
    }
    const v1 = ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct'].find((d) => existsSync(join(d, 'cgroup.procs')));
    return v1 ? new HostCpu(join(v1, scope), false) : undefined;
  }

  /** Puts `pid` (all its threads) into a cgroup named `name` with a quota of `cpus`. */
  async limit(name: string, pid: number, cpus: number): Promise<void> {
    const dir = join(this.base, name);
    await mkdir(dir, { recursive: true });
    if (this.v2) {
      await writeFile(join(this.base, 'cgroup.subtree_control'), '+cpu').catch(() => {});
      await writeFile(join(dir, 'cpu.max'), `${Math.round(cpus * PERIOD_US)} ${PERIOD_US}`);
    } else {
      await writeFile(join(dir, 'cpu.cfs_period_us'), String(PERIOD_US));
      await writeFile(join(dir, 'cpu.cfs_quota_us'), String(Math.round(cpus * PERIOD_US)));
    }
    await writeFile(join(dir, 'cgroup.procs'), String(pid));
  }

  /** Removes the cgroup once its process is gone. */
  async release(name: string): Promise<void> {
    await rmdir(join(this.base, name)).catch(() => {});
  }
}
