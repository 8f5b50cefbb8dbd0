import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { FerryError } from '../errors/index.js';

/**
 * The guest's root as a disk: an ext4 image made from the built root tree (`mke2fs -d`: owners,
 * modes, links and mtimes as they are in the tree), which QEMU attaches read-only as a virtio-blk
 * device. A block device instead of a 9p share of the tree: the guest's kernel reads the root
 * through its own page cache instead of a round trip to QEMU's 9p server per file operation, that
 * server is no longer surface for the root, and a guest with no 9p share mounted can be saved and
 * restored (a snapshot). No journal and no metadata checksums: nothing is ever written.
 */
export function writeRootImage(treeDir: string, image: string, bytes: number, files: number): number {
  const mke2fs = ['/usr/sbin/mke2fs', '/sbin/mke2fs'].find((p) => existsSync(p));
  if (!mke2fs) throw new FerryError('internal', 'building the microvm root image needs mke2fs: apt-get install e2fsprogs');
  // Every file takes at least a 4 KiB block, directories and inode tables more: generous, and
  // still sparse on the host where unused.
  const inodes = Math.ceil(files * 1.25) + 4096;
  const mib = Math.ceil(((bytes + files * 4096) * 1.25 + inodes * 256) / 1048576) + 64;
  execFileSync(mke2fs, ['-q', '-F', '-t', 'ext4', '-O', '^has_journal,^metadata_csum', '-b', '4096', '-m', '0', '-N', String(inodes), '-L', 'ferry-root', '-d', treeDir, image, `${mib}M`], { stdio: ['ignore', 'ignore', 'pipe'] });
  return mib;
}
