import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readlinkSync, realpathSync, symlinkSync, utimesSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * A root tree made of host files at their host paths: a program, its shared libraries (through
 * `ldd`), whole directories (a stdlib). Links are kept as links, with what they point to; the
 * host's merged-/usr links (/lib -> usr/lib) are made as they are, so every path the host's
 * loader and programs use resolves the same way inside.
 */
export class HostTree {
  private readonly done = new Set<string>();
  bytes = 0;
  files = 0;

  constructor(private readonly root: string) {
    for (const top of ['/bin', '/sbin', '/lib', '/lib64']) {
      const st = lstatSync(top, { throwIfNoEntry: false });
      if (st?.isSymbolicLink()) {
        const target = readlinkSync(top);
        mkdirSync(join(root, resolve('/', target)), { recursive: true });
        symlinkSync(target, join(root, top));
        this.done.add(top);
      }
    }
  }

  /** Adds `path` (a file, link or directory; directories whole but for names `skip` matches). */
  add(path: string, skip?: RegExp): void {
    // The directory is taken resolved (a parent may be a merged-/usr link), the name as it is.
    const at = join(realpathSync(dirname(path)), path.replace(/^.*\//, ''));
    if (this.done.has(at)) return;
    this.done.add(at);
    const st = lstatSync(at);
    const dest = join(this.root, at);
    mkdirSync(dirname(dest), { recursive: true });
    if (st.isSymbolicLink()) {
      const target = readlinkSync(at);
      if (!existsSync(dest)) symlinkSync(target, dest);
      this.add(resolve(dirname(at), target), skip);
    } else if (st.isDirectory()) {
      mkdirSync(dest, { recursive: true, mode: st.mode & 0o7777 });
      for (const name of readdirSync(at)) if (!skip?.test(name)) this.add(join(at, name), skip);
    } else if (st.isFile()) {
      copyFileSync(at, dest);
      // Python's .pyc files are valid only for their source's mtime: a copy with a new one makes
      // the guest's interpreter compile every module it imports again, on each start.
      utimesSync(dest, st.atime, st.mtime);
      this.bytes += st.size;
      this.files++;
      if (/\.so(\.|$)/.test(at) || (st.mode & 0o111) !== 0) this.addLibrariesOf(at);
    }
  }

  /** The shared libraries an ELF file loads (nothing for a script or a static binary). */
  private addLibrariesOf(file: string): void {
    let out: string;
    try {
      out = execFileSync('ldd', [file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      return; // not dynamic
    }
    for (const m of out.matchAll(/(?:=>\s*)?(\/[^\s]+)\s+\(0x/g)) this.add(m[1]!);
  }
}
