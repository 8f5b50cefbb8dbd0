/**
 * The root of an instance whose `/` is not the guest's (a container image version): made by the
 * agent in a pooled guest, so an image needs no VM of its own. A small tmpfs becomes the
 * instance's `/`; each top-level entry of the image's tree (the package share, read-only) is
 * bound onto it, Ferry's files the instance needs are bound under /.ferry, and /tmp, /run/ferry,
 * /proc and a minimal /dev are Ferry's, never the image's. The tmpfs is then made read-only and
 * the instance enters it through busybox's `nsenter --root` after dropping to its user
 * (`instanceArgv`). This file imports only Node built-ins and wire.ts: it runs in the guest.
 */
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SpawnRequest } from './wire.js';

/** Where the instance's root is made in the guest (on the guest's own /run tmpfs). */
export const INSTANCE_ROOT = '/run/instance-root';

/** Top-level names of an image that Ferry provides itself, never taken from the image. */
const OWN = new Set(['proc', 'dev', 'tmp', 'run', 'sys', '.ferry']);

/** The device nodes the instance's /dev holds (the guest's devtmpfs has every device: not shown). */
const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Where busybox is inside the instance's root (the guest's own, bound read-only). */
export const busyboxInside = (busybox: string): string => `/.ferry${busybox}`;

/**
 * Makes the instance's root for `req.root` at INSTANCE_ROOT; `busybox` is the guest's (static).
 * Mount points are made with Node, the mounts by one busybox shell: one exec, not one per mount.
 */
export function makeInstanceRoot(req: SpawnRequest, busybox: string): void {
  const spec = req.root!;
  const at = INSTANCE_ROOT;
  const script: string[] = ['set -e'];
  const mountPoint = (path: string, dir: boolean): void => {
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    if (dir) mkdirSync(path, { recursive: true, mode: 0o755 });
    else writeFileSync(path, '', { mode: 0o644 });
  };
  const bind = (from: string, to: string, opts: string): void => {
    mountPoint(to, statSync(from).isDirectory());
    script.push(`mount --bind ${q(from)} ${q(to)}`, `mount -o remount,bind,${opts} ${q(to)}`);
  };
  mkdirSync(at, { recursive: true, mode: 0o755 });
  execFileSync(busybox, ['mount', '-t', 'tmpfs', '-o', 'mode=755,size=1m,nosuid,nodev', 'tmpfs', at], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (const name of readdirSync(spec.tree).sort()) {
    if (OWN.has(name)) continue;
    const from = join(spec.tree, name);
    const st = lstatSync(from);
    // A link is made again with its own text: it resolves inside the instance's root, never the guest's.
    if (st.isSymbolicLink()) symlinkSync(readlinkSync(from), join(at, name));
    else if (st.isDirectory() || st.isFile()) bind(from, join(at, name), 'ro,nosuid,nodev');
  }
  for (const b of spec.binds) bind(b.from, join(at, b.to), 'ro,nosuid,nodev');
  bind(busybox, join(at, busyboxInside(busybox)), 'ro,nosuid,nodev');
  bind('/tmp', join(at, 'tmp'), 'rw,nosuid,nodev');
  bind(req.runDir, join(at, req.runDir), 'rw,nosuid,nodev,noexec');
  mountPoint(join(at, 'proc'), true);
  script.push(`mount -t proc -o hidepid=invisible,nosuid,nodev,noexec proc ${q(join(at, 'proc'))}`);
  const dev = join(at, 'dev');
  mountPoint(dev, true);
  script.push(`mount -t tmpfs -o mode=755,size=64k,nosuid,noexec tmpfs ${q(dev)}`);
  // Made after /dev's tmpfs is mounted: the script creates what goes on it.
  script.push(...DEVICES.map((d) => `touch ${q(join(dev, d))} && mount --bind /dev/${d} ${q(join(dev, d))}`));
  script.push(`mkdir -m 1777 ${q(join(dev, 'shm'))}`, `ln -s /proc/self/fd ${q(join(dev, 'fd'))}`);
  script.push(...['stdin', 'stdout', 'stderr'].map((n, i) => `ln -s /proc/self/fd/${i} ${q(join(dev, n))}`));
  script.push(`mount -o remount,ro,nosuid,nodev ${q(at)}`);
  execFileSync(busybox, ['sh', '-c', script.join('\n')], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/**
 * The argv that starts `req.argv` in the instance's root: busybox's nsenter changes root (its
 * working directory the new root, never one outside it) and drops to the instance's user and
 * group (no supplementary groups), then busybox's shell, now inside, enters the working directory
 * and becomes the program.
 */
export function instanceArgv(req: SpawnRequest, busybox: string): string[] {
  return [busybox, 'nsenter', `-r${INSTANCE_ROOT}`, `-w${INSTANCE_ROOT}`, `-S${req.uid}`, `-G${req.gid}`, '-F', busyboxInside(busybox), 'sh', '-c', 'cd -- "$0" && exec "$@"', req.cwd, ...req.argv];
}
