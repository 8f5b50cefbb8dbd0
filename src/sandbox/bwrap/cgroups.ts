import { accessSync, constants, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FerryError } from '../../errors/index.js';
import { updateLimits } from './cgroup-update.js';

/**
 * Per-instance cgroups for memory, CPU and process-count limits, on cgroup v2 where it is
 * delegated and v1 where that is what the host has (also both, on hybrid hosts: each controller
 * is used where it is mounted). Instances live in `<base>/ferry/<scope>/<instanceId>` where base
 * is Ferry's own cgroup in that hierarchy, so whatever limits the operator put on Ferry also
 * bound its instances.
 */

/** The controllers Ferry limits. */
export type CgroupController = 'memory' | 'cpu' | 'pids';
export const cgroupControllers: readonly CgroupController[] = ['memory', 'cpu', 'pids'];

/** How one controller can be used on this host. */
export interface ControllerSupport {
  enforceable: boolean;
  /** Hierarchy it lives in (undefined when not found at all). */
  version: 1 | 2 | undefined;
  /** Directory under which `ferry/` is made (Ferry's own cgroup). */
  base: string | undefined;
  /** What was found, or why it cannot be used. */
  detail: string;
}

/** Limits for one instance; an absent one is not applied. */
export interface CgroupLimits {
  memoryMb?: number;
  /** Fraction of one core. */
  cpu?: number;
  pids?: number;
}

/** One instance's cgroups. */
export interface InstanceCgroup {
  /** Directories to join before the program starts (`--cgroup` of the helper). */
  dirs: string[];
  /** Requested limits not applied (only memory, and only with `allowFallback`). */
  unenforced: CgroupController[];
  /** Whether the kernel's OOM killer killed something in it (still answers after `remove()`). */
  oomKilled(): Promise<boolean>;
  /** Kills what still runs in it and removes it. */
  remove(): Promise<void>;
  /** Sets new values for the limits it was made with (a pooled sandbox taking a function). */
  update(limits: CgroupLimits): Promise<void>;
  /** Bytes its memory cgroup charges now; undefined without a memory cgroup, or once removed. */
  memoryBytes(): Promise<number | undefined>;
}

/** The cgroup side of this host, from `detectCgroups()`. */
export interface CgroupHost {
  readonly controllers: Readonly<Record<CgroupController, ControllerSupport>>;
  /** Controllers that cannot be enforced here. */
  unenforced(): CgroupController[];
  /**
   * Makes the instance's cgroups with `limits` applied. Fails closed: throws
   * `instance-start-failed` when a requested limit cannot be applied, except memory with
   * `allowFallback` (the caller then uses rlimits or --max-old-space-size instead).
   */
  create(instanceId: string, limits: CgroupLimits, opts?: { allowFallback?: boolean }): Promise<InstanceCgroup>;
  /** Removes `ferry/<scope>/*` left by earlier runs (killing their processes). Call at start. */
  cleanupStale(): Promise<string[]>;
}

/** Options of `detectCgroups`. */
export interface DetectOptions {
  /**
   * Separates Ferry servers on one host (e.g. a hash of the data dir), so `cleanupStale` of one
   * never touches another's instances. Default `default`.
   */
  scope?: string;
  /**
   * v2 only: enable the controllers for Ferry's subtree, moving this process into a leaf
   * `ferry-server` cgroup when the kernel's no-internal-processes rule requires it. Default
   * true; `ferry doctor` passes false to only look.
   */
  prepare?: boolean;
}

interface Mount {
  version: 1 | 2;
  point: string;
  root: string;
  controllers: string[];
}

function mounts(): Mount[] {
  const out: Mount[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!pre || !post) continue;
    const f = pre.split(' ');
    const [fstype, , superOpts] = post.split(' ');
    const unescape = (s: string): string => s.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (fstype === 'cgroup') out.push({ version: 1, root: unescape(f[3]!), point: unescape(f[4]!), controllers: (superOpts ?? '').split(',') });
    else if (fstype === 'cgroup2') out.push({ version: 2, root: unescape(f[3]!), point: unescape(f[4]!), controllers: [] });
  }
  return out;
}

/** This process's cgroup path per v1 controller, and its v2 path under key ''. */
function ownCgroups(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    for (const c of m[1]!.split(',')) out.set(c, m[2]!);
  }
  return out;
}

/** Maps a cgroup path as /proc/self/cgroup shows it to a directory under the mount. */
function dirIn(mount: Mount, path: string): string {
  const rel = mount.root !== '/' && (path === mount.root || path.startsWith(`${mount.root}/`)) ? path.slice(mount.root.length) : path;
  return join(mount.point, rel).replace(/(.)\/+$/, '$1');
}

const writable = (dir: string): boolean => {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
};
const readList = (file: string): string[] => {
  try {
    return readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
};

/**
 * v2: Ferry's subtree may use a controller when its cgroup offers it and the controller is (or
 * can be) enabled in its `cgroup.subtree_control`. Enabling fails with EBUSY while processes
 * live in the cgroup itself (the no-internal-processes rule), so when this process is alone there
 * it moves into a leaf `ferry-server` first, as systemd's delegation docs describe.
 */
function prepareV2(own: string, prepare: boolean): { base: string; detail: (c: string) => string | undefined } {
  const base = basename(own) === 'ferry-server' ? dirname(own) : own;
  const offered = readList(join(base, 'cgroup.controllers'));
  const enabled = new Set(readList(join(base, 'cgroup.subtree_control')));
  const wanted = cgroupControllers.filter((c) => offered.includes(c) && !enabled.has(c));
  if (prepare && wanted.length > 0 && writable(base)) {
    const enable = (): void => writeFileSync(join(base, 'cgroup.subtree_control'), wanted.map((c) => `+${c}`).join(' '));
    try {
      enable();
    } catch (err) {
      const procs = readList(join(base, 'cgroup.procs'));
      if ((err as NodeJS.ErrnoException).code === 'EBUSY' && procs.length === 1 && procs[0] === String(process.pid)) {
        mkdirSync(join(base, 'ferry-server'), { recursive: true });
        writeFileSync(join(base, 'ferry-server', 'cgroup.procs'), String(process.pid));
        try {
          enable();
        } catch {
          /* reported below as not enabled */
        }
      }
    }
    for (const c of readList(join(base, 'cgroup.subtree_control'))) enabled.add(c);
  }
  return {
    base,
    detail: (c) => {
      if (!offered.includes(c)) return `cgroup v2 at ${base} does not offer ${c} (not delegated)`;
      if (!writable(base)) return `cgroup v2 at ${base} is not writable`;
      if (!enabled.has(c) && prepare) return `cgroup v2 at ${base} offers ${c} but it cannot be enabled for Ferry's subtree (other processes share Ferry's cgroup; run Ferry in its own cgroup with Delegate=yes)`;
      return undefined;
    },
  };
}

/**
 * Finds what this host offers for each controller: a writable v1 hierarchy that has it, else a
 * v2 hierarchy where it is delegated. Reads /proc/self/mountinfo, so non-standard mount points
 * and combined hierarchies (cpu,cpuacct) are found too.
 */
export function detectCgroups(opts: DetectOptions = {}): CgroupHost {
  const scope = opts.scope ?? 'default';
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(scope) || scope === '.' || scope === '..') throw new TypeError(`bad cgroup scope ${scope}`);
  const all = mounts();
  const own = ownCgroups();
  const v2 = all.find((m) => m.version === 2);
  const v2own = v2 && own.has('') ? dirIn(v2, own.get('')!) : undefined;
  const v2info = v2own ? prepareV2(v2own, opts.prepare ?? true) : undefined;
  const controllers = {} as Record<CgroupController, ControllerSupport>;
  for (const c of cgroupControllers) {
    const v1 = all.find((m) => m.version === 1 && m.controllers.includes(c));
    if (v1) {
      const base = dirIn(v1, own.get(c) ?? '/');
      const ok = writable(base);
      controllers[c] = { enforceable: ok, version: 1, base, detail: ok ? `cgroup v1 at ${base}` : `cgroup v1 at ${base} is not writable` };
    } else if (v2info) {
      const why = v2info.detail(c);
      controllers[c] = { enforceable: !why, version: 2, base: v2info.base, detail: why ?? `cgroup v2 at ${v2info.base}` };
    } else {
      controllers[c] = { enforceable: false, version: undefined, base: undefined, detail: `no cgroup hierarchy offers ${c}` };
    }
  }
  return new Host(controllers, scope);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function readNumbers(file: string): Promise<Map<string, number>> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return new Map(text.split('\n').map((l) => l.trim().split(/\s+/)).filter((p) => p.length === 2).map(([k, v]) => [k!, Number(v)]));
}

/** SIGKILLs every process in `dir` (v2: all at once through cgroup.kill when the kernel has it). */
async function killAll(dir: string): Promise<void> {
  await writeFile(join(dir, 'cgroup.kill'), '1').catch(() => {});
  for (const pid of (await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '')).split('\n')) {
    if (!pid) continue;
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/**
 * Kills and removes `dir` and its children, deepest first. rmdir fails with EBUSY until the
 * killed processes have left, so it retries for up to `ms`.
 */
async function destroy(dir: string, ms = 5000): Promise<void> {
  const kids = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const k of kids) if (k.isDirectory()) await destroy(join(dir, k.name), ms);
  const end = Date.now() + ms;
  for (;;) {
    await killAll(dir);
    try {
      await rmdir(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || Date.now() > end) throw new Error(`cannot remove cgroup ${dir}: ${(err as Error).message}`);
      await sleep(20);
    }
  }
}

class Host implements CgroupHost {
  constructor(
    readonly controllers: Readonly<Record<CgroupController, ControllerSupport>>,
    private readonly scope: string,
  ) {}

  unenforced(): CgroupController[] {
    return cgroupControllers.filter((c) => !this.controllers[c].enforceable);
  }

  private parent(c: CgroupController): string {
    return join(this.controllers[c].base!, 'ferry', this.scope);
  }

  async create(instanceId: string, limits: CgroupLimits, opts: { allowFallback?: boolean } = {}): Promise<InstanceCgroup> {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(instanceId)) throw new TypeError(`bad instance id ${instanceId}`);
    const wanted = cgroupControllers.filter((c) => limits[c === 'memory' ? 'memoryMb' : c] !== undefined);
    const unenforced = wanted.filter((c) => !this.controllers[c].enforceable);
    const refused = unenforced.filter((c) => !(c === 'memory' && opts.allowFallback));
    if (refused.length > 0) {
      const why = refused.map((c) => this.controllers[c].detail).join('; ');
      throw new FerryError('instance-start-failed', `cannot enforce limits (${refused.join(', ')}) on this host: ${why}`);
    }
    const used = wanted.filter((c) => this.controllers[c].enforceable);
    // v2 has one directory for all controllers; v1 one per hierarchy (cpu may share one with
    // cpuacct, so directories are deduplicated).
    const dirs = [...new Set(used.map((c) => join(this.parent(c), instanceId)))];
    const made: string[] = [];
    try {
      for (const dir of dirs) {
        await this.makeParents(dirname(dir), used);
        await mkdir(dir); // not recursive: an existing one is someone else's, not ours to reuse
        made.push(dir);
      }
      for (const c of used) await apply(c, this.controllers[c].version!, join(this.parent(c), instanceId), limits);
    } catch (err) {
      await Promise.allSettled(made.map((d) => destroy(d)));
      if (err instanceof FerryError) throw err;
      throw new FerryError('instance-start-failed', `setting up cgroups for ${instanceId} failed: ${(err as Error).message}`, { cause: err });
    }
    const memDir = used.includes('memory') ? join(this.parent('memory'), instanceId) : undefined;
    const memVersion = this.controllers.memory.version;
    const check = async (): Promise<boolean> => (memDir ? oomKilled(memDir, memVersion!) : false);
    // remove() reads the OOM count before the files disappear, so oomKilled() asked after (or
    // while) the cgroup is removed still tells the truth instead of "no".
    let final: Promise<boolean> | undefined;
    const current: CgroupLimits = { ...limits };
    return {
      dirs,
      unenforced,
      oomKilled: () => final ?? check(),
      memoryBytes: async () => (memDir ? memoryUsage(memDir, memVersion!) : undefined),
      update: async (next) => {
        for (const c of used) {
          const key = c === 'memory' ? 'memoryMb' : c;
          // Unchanged values are not written again: a write of memory.limit_in_bytes costs the
          // kernel a reclaim attempt even when the value stays, on the path of a cold call.
          if (next[key] === current[key]) continue;
          updateLimits(c, this.controllers[c].version!, join(this.parent(c), instanceId), next);
          current[key] = next[key];
        }
      },
      remove: async () => {
        final ??= check().catch(() => false);
        await final;
        for (const d of dirs) await destroy(d);
      },
    };
  }

  /** v2: every level between Ferry's cgroup and the instance must enable the controllers. */
  private async makeParents(dir: string, used: CgroupController[]): Promise<void> {
    await mkdir(dir, { recursive: true });
    const v2 = used.filter((c) => this.controllers[c].version === 2);
    if (v2.length === 0) return;
    const base = this.controllers[v2[0]!].base!;
    for (const level of [join(base, 'ferry'), dir]) {
      await writeFile(join(level, 'cgroup.subtree_control'), v2.map((c) => `+${c}`).join(' '));
    }
  }

  async cleanupStale(): Promise<string[]> {
    const removed: string[] = [];
    const parents = new Set(cgroupControllers.filter((c) => this.controllers[c].enforceable).map((c) => this.parent(c)));
    for (const parent of parents) {
      for (const k of await readdir(parent, { withFileTypes: true }).catch(() => [])) {
        if (!k.isDirectory()) continue;
        await destroy(join(parent, k.name));
        removed.push(join(parent, k.name));
      }
    }
    return removed;
  }
}

/** Writes the limit files of one controller. Any failed write throws: no half-limited instance. */
async function apply(c: CgroupController, version: 1 | 2, dir: string, limits: CgroupLimits): Promise<void> {
  const put = (file: string, value: string | number): Promise<void> => writeFile(join(dir, file), String(value));
  const exists = async (file: string): Promise<boolean> => (await readFile(join(dir, file)).then(() => true, () => false));
  if (c === 'memory') {
    const bytes = Math.floor(limits.memoryMb! * 1024 * 1024);
    if (version === 1) {
      await put('memory.limit_in_bytes', bytes);
      // memory+swap capped at the same value: swapping out cannot dodge the limit.
      if (await exists('memory.memsw.limit_in_bytes')) await put('memory.memsw.limit_in_bytes', bytes);
      // 0 = the OOM killer stays on; with it off, an instance over its limit would hang, not die.
      await put('memory.oom_control', 0);
    } else {
      await put('memory.max', bytes);
      if (await exists('memory.swap.max')) await put('memory.swap.max', 0);
      // Kill the whole instance on OOM, not one process of it: a half-dead instance would serve
      // errors instead of being replaced.
      if (await exists('memory.oom.group')) await put('memory.oom.group', 1);
    }
  } else if (c === 'cpu') {
    // A quota per 100 ms period; the kernel refuses quotas under 1 ms.
    const quota = Math.max(1000, Math.round(limits.cpu! * 100_000));
    if (version === 1) {
      await put('cpu.cfs_period_us', 100_000);
      await put('cpu.cfs_quota_us', quota);
    } else {
      await put('cpu.max', `${quota} 100000`);
    }
  } else {
    await put('pids.max', limits.pids!);
  }
}

async function oomKilled(dir: string, version: 1 | 2): Promise<boolean> {
  if (version === 2) return ((await readNumbers(join(dir, 'memory.events'))).get('oom_kill') ?? 0) > 0;
  const ctl = await readNumbers(join(dir, 'memory.oom_control'));
  // oom_kill exists since Linux 4.13; older kernels only say whether it is under OOM now.
  if (ctl.has('oom_kill')) return ctl.get('oom_kill')! > 0 || ctl.get('under_oom') === 1;
  const failcnt = Number((await readFile(join(dir, 'memory.failcnt'), 'utf8').catch(() => '0')).trim());
  return ctl.get('under_oom') === 1 || failcnt > 0;
}

/** What a memory cgroup charges now (v1 `memory.usage_in_bytes`, v2 `memory.current`); undefined once it is gone. */
async function memoryUsage(dir: string, version: 1 | 2): Promise<number | undefined> {
  const text = await readFile(join(dir, version === 1 ? 'memory.usage_in_bytes' : 'memory.current'), 'utf8').catch(() => '');
  const n = Number(text.trim());
  return text.trim() !== '' && Number.isFinite(n) ? n : undefined;
}
