import { copyFileSync, lchownSync, lstatSync, mkdirSync, readdirSync, readlinkSync, symlinkSync, chmodSync } from 'node:fs';
import { join } from 'node:path';

/** The copy's owner as the original's; only root may give a file away, so otherwise it stays the copier's. */
function owner(path: string, uid: number, gid: number): void {
  try {
    lchownSync(path, uid, gid);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
  }
}

/**
 * Copies the tree `from` into `to` (made already) with modes and owners, leaving out what cannot
 * be read (the agent is root in the guest and the root is a disk image of its own, so that is
 * only what cannot be read at all): a private file (a Debian root's /etc/shadow, 0640) keeps its
 * owner and mode, so the instance's user still cannot read it. Symbolic links are copied as links.
 * Answers what was left out.
 * Guest-side only (it runs in the agent); imports only Node built-ins.
 */
export function copyReadable(from: string, to: string): string[] {
  const skipped: string[] = [];
  const walk = (src: string, dst: string): void => {
    let entries;
    try {
      entries = readdirSync(src, { withFileTypes: true });
    } catch {
      skipped.push(src);
      return;
    }
    for (const e of entries) {
      const [s, d] = [join(src, e.name), join(dst, e.name)];
      try {
        const st = lstatSync(s);
        if (e.isDirectory()) mkdirSync(d, { mode: st.mode & 0o7777 });
        else if (e.isSymbolicLink()) symlinkSync(readlinkSync(s), d);
        else if (e.isFile()) copyFileSync(s, d);
        else continue; // no devices, FIFOs or sockets in /etc
        owner(d, st.uid, st.gid);
        if (!e.isSymbolicLink()) chmodSync(d, st.mode & 0o7777);
        if (e.isDirectory()) walk(s, d);
      } catch {
        skipped.push(s);
      }
    }
  };
  walk(from, to);
  return skipped;
}
