import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { FerryError } from '../errors/index.js';
import { agentPath, rootfsFiles, type RootfsManifest } from '../sandbox/microvm/guest-layout.js';
import { findGuestKernel } from './kernel.js';
import { buildBeside, staticBusybox } from './assemble.js';
import { finishForeignRoot } from './foreign-root.js';

/** Debian's own mirror (a redirector to a near one). */
export const DEFAULT_DEBIAN_MIRROR = 'http://deb.debian.org/debian';

/** What `buildDebianRootfs` is asked. */
export interface DebianRootfsOptions {
  outDir: string;
  /** A suite or codename: `bookworm`, `stable`, `trixie`. */
  suite: string;
  mirror?: string;
  /** Packages beyond the minbase (e.g. python3 for python functions). */
  include?: string[];
  kernelDir?: string;
  log?(line: string): void;
}

const suiteName = /^[a-z][a-z0-9-]{1,31}$/;
const packageName = /^[a-z0-9][a-z0-9+.-]{1,99}$/;
const mirrorUrl = /^https?:\/\/[A-Za-z0-9.-]+(:\d+)?(\/[A-Za-z0-9._~/-]*)?$/;

/**
 * debootstrap's argv for a minbase of `suite` into `target`: only the essential and required
 * packages and apt (`--variant=minbase`), amd64, nothing recommended. Every word is checked
 * first, so nothing a user gives is read as an option (FerryError `invalid-body`).
 */
export function debootstrapArgv(suite: string, target: string, mirror = DEFAULT_DEBIAN_MIRROR, include: string[] = []): string[] {
  if (!suiteName.test(suite)) throw new FerryError('invalid-body', `'${suite}' is not a Debian suite name (such as bookworm or stable)`);
  if (!mirrorUrl.test(mirror)) throw new FerryError('invalid-body', `'${mirror}' is not a mirror URL (http:// or https://, a host and a path)`);
  const bad = include.find((p) => !packageName.test(p));
  if (bad !== undefined) throw new FerryError('invalid-body', `'${bad}' is not a Debian package name`);
  return ['debootstrap', '--variant=minbase', '--arch=amd64', ...(include.length ? [`--include=${include.join(',')}`] : []), suite, target, mirror];
}

/**
 * What a guest never uses of a fresh minbase, removed: the packages apt downloaded and its
 * package lists (a guest installs nothing), documentation, man pages and logs, and the device
 * nodes debootstrap made in /dev (the guest mounts its own devtmpfs there; a device node has no
 * place in a tree QEMU shares). Answers how many entries went.
 */
export function trimDebianTree(root: string): number {
  let removed = 0;
  const emptyDir = (dir: string, keep: (name: string) => boolean = () => false): void => {
    const at = join(root, dir);
    if (!existsSync(at)) return;
    for (const name of readdirSync(at)) {
      if (keep(name)) continue;
      rmSync(join(at, name), { recursive: true, force: true });
      removed++;
    }
  };
  emptyDir('var/cache/apt/archives', (n) => n === 'partial' || n === 'lock');
  emptyDir('var/cache/apt', (n) => n === 'archives');
  emptyDir('var/lib/apt/lists', (n) => n === 'partial' || n === 'lock');
  emptyDir('usr/share/doc');
  emptyDir('usr/share/man');
  emptyDir('usr/share/info');
  emptyDir('var/log');
  emptyDir('dev');
  return removed;
}

/** Runs debootstrap, its output line by line to `log`; rejects with its last lines when it fails. */
function runDebootstrap(argv: string[], log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const tail: string[] = [];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PATH: `${process.env['PATH'] ?? ''}:/usr/sbin:/sbin` } });
    const onLine = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        log(`debootstrap: ${line}`);
        tail.push(line);
        if (tail.length > 10) tail.shift();
      }
    };
    child.stdout.on('data', onLine);
    child.stderr.on('data', onLine);
    child.once('error', (err) => reject(new FerryError('internal', `cannot run debootstrap (${err.message}): apt-get install debootstrap, or run scripts/install-system-deps.sh`)));
    child.once('close', (code) => (code === 0 ? resolve() : reject(new FerryError('internal', `debootstrap failed (exit ${code}): ${tail.join(' | ')}`))));
  });
}

/**
 * `ferry rootfs build --debian <suite>`: the guest's root is a Debian minbase made by
 * debootstrap from `mirror` (with `include`), trimmed (`trimDebianTree`), plus Ferry's files
 * under /.ferry (foreign-root.ts). Built beside `outDir` and swapped in whole.
 */
export async function buildDebianRootfs(o: DebianRootfsOptions): Promise<RootfsManifest> {
  const log = o.log ?? (() => {});
  const mirror = o.mirror ?? DEFAULT_DEBIAN_MIRROR;
  const kernel = findGuestKernel(o.kernelDir);
  const busybox = staticBusybox();
  if (!existsSync(agentPath)) throw new FerryError('internal', `the guest agent is not built (${agentPath}): npm run build`);
  return buildBeside(o.outDir, async (work) => {
    const files = rootfsFiles(work);
    mkdirSync(files.root, { recursive: true, mode: 0o755 });
    await runDebootstrap(debootstrapArgv(o.suite, files.root, mirror, o.include), log);
    log(`trimmed: ${trimDebianTree(files.root)} entries (apt's cache and lists, docs, logs, /dev)`);
    return finishForeignRoot(work, kernel, busybox, 'debian', `${o.suite} from ${mirror}${o.include?.length ? ` with ${o.include.join(', ')}` : ''}`, log);
  });
}
