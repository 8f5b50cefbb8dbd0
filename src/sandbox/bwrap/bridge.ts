import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * Where bridges live: under /run (a tmpfs, emptied at boot), never inside the data dir, so that
 * removing a data dir can never recurse into a view of host files.
 */
export function bridgeRoot(scope: string): string {
  return join(existsSync('/run') ? '/run' : tmpdir(), 'ferry-bridges', scope);
}

/**
 * Read-only bridges for host paths the sandbox user cannot reach. bwrap resolves every bind
 * source as the (unprivileged) sandbox user, so an interpreter under a private directory (pyenv's
 * under /root, mode 0700) cannot be bound directly. When Ferry runs as root it bind-mounts such a
 * path, read-only, into a traversable directory of its own and binds that instead; inside the
 * sandbox the path is where the runtime expects it.
 */
export class Bridges {
  private readonly made = new Map<string, string>();

  constructor(
    private readonly dir: string,
    private readonly uid: number,
    private readonly gid: number,
  ) {}

  /** The source bwrap should bind for `path`: itself when reachable, else its bridge. */
  source(path: string): string {
    if (reachable(path, this.uid, this.gid)) return path;
    let bridge = this.made.get(path);
    if (bridge) return bridge;
    bridge = join(this.dir, createHash('sha256').update(path).digest('hex').slice(0, 16));
    const isDir = statSync(path).isDirectory();
    mkdirSync(isDir ? bridge : dirname(bridge), { recursive: true, mode: 0o711 });
    if (!isDir) execFileSync('touch', [bridge]);
    if (!mounted(bridge)) {
      execFileSync('mount', ['--bind', path, bridge]);
      try {
        execFileSync('mount', ['-o', 'remount,bind,ro', bridge]);
      } catch (err) {
        // Never leave a writable view of a host directory behind.
        execFileSync('umount', ['-l', bridge]);
        throw err;
      }
    }
    this.made.set(path, bridge);
    return bridge;
  }

  /** Unmounts every bridge under the directory (left by this or an earlier server process). */
  static cleanup(dir: string): void {
    for (const m of mountPoints()) {
      if (m === dir || m.startsWith(`${dir}/`)) {
        try {
          execFileSync('umount', ['-l', m]);
        } catch {
          /* already gone */
        }
      }
    }
  }
}

/** Whether `uid:gid` (no supplementary groups) can search every directory up to and read `path`. */
export function reachable(path: string, uid: number, gid: number): boolean {
  const parts = path.split('/').filter(Boolean);
  let p = '';
  for (let i = 0; i <= parts.length; i++) {
    const cur = i === 0 ? '/' : (p = `${p}/${parts[i - 1]}`);
    let st;
    try {
      st = statSync(cur);
    } catch {
      return false;
    }
    const last = i === parts.length;
    const need = last ? (st.isDirectory() ? 0o5 : 0o4) : 0o1;
    const bits = st.uid === uid ? (st.mode >> 6) & 7 : st.gid === gid ? (st.mode >> 3) & 7 : st.mode & 7;
    if ((bits & need) !== need) return false;
  }
  return true;
}

function mountPoints(): string[] {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4])
      .filter((m): m is string => !!m)
      .map((m) => m.replace(/\\040/g, ' '));
  } catch {
    return [];
  }
}

function mounted(path: string): boolean {
  return mountPoints().includes(path);
}
