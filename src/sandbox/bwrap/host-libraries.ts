import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readSync, realpathSync } from 'node:fs';
import { basename } from 'node:path';
import { FerryError } from '../../errors/index.js';

/**
 * The host's ELF loader and shared libraries of Ferry's own programs (Node, the sandbox helper),
 * for sandboxes whose root is a container image: there they are bound under /.ferry/lib and the
 * programs start through the bound loader, so the image's libc (musl, another glibc, none) never
 * matters and the image's library directories are never searched first.
 */

/** Where the host's loader and libraries appear inside an image root. */
export const FERRY_LIB_DIR = '/.ferry/lib';

/** One library a program needs: its name as the loader looks for it, and the host file. */
export interface HostLibrary {
  name: string;
  path: string;
}

const interpreters = new Map<string, string | undefined>();
const libraries = new Map<string, HostLibrary[]>();

/** PT_INTERP of a 64-bit little-endian ELF file (its loader); undefined for a static program. */
export function elfInterpreter(file: string): string | undefined {
  if (interpreters.has(file)) return interpreters.get(file);
  const fd = openSync(file, 'r');
  try {
    const read = (length: number, position: number): Buffer => {
      const b = Buffer.alloc(length);
      readSync(fd, b, 0, length, position);
      return b;
    };
    const head = read(64, 0);
    if (head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2 || head[5] !== 1) throw new FerryError('internal', `${file} is not a 64-bit little-endian ELF program`);
    const phoff = Number(head.readBigUInt64LE(32));
    const phentsize = head.readUInt16LE(54);
    const phnum = head.readUInt16LE(56);
    let interp: string | undefined;
    for (let i = 0; i < phnum && !interp; i++) {
      const ph = read(phentsize, phoff + i * phentsize);
      if (ph.readUInt32LE(0) !== 3) continue; // PT_INTERP
      const bytes = read(Number(ph.readBigUInt64LE(32)), Number(ph.readBigUInt64LE(8)));
      interp = bytes.subarray(0, bytes.indexOf(0) < 0 ? bytes.length : bytes.indexOf(0)).toString('utf8');
    }
    interpreters.set(file, interp);
    return interp;
  } finally {
    closeSync(fd);
  }
}

/** The loader and every library of `file`, as its loader lists them (`ld.so --list`); [] for a static program. */
export function hostLibraries(file: string): HostLibrary[] {
  const hit = libraries.get(file);
  if (hit) return hit;
  const interp = elfInterpreter(file);
  if (!interp) return [];
  const r = spawnSync(interp, ['--list', file], { encoding: 'utf8', env: {}, timeout: 10_000 });
  if (r.status !== 0) throw new FerryError('internal', `cannot list the libraries of ${file}: ${(r.stderr || r.error?.message || '').trim()}`);
  const out: HostLibrary[] = [{ name: basename(interp), path: realpathSync(interp) }];
  for (const line of r.stdout.split('\n')) {
    // `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)`; the vdso and the loader have no `=>`.
    const m = /^\s*(\S+) => (\/\S+) \(0x[0-9a-f]+\)$/.exec(line);
    if (m) out.push({ name: m[1]!, path: realpathSync(m[2]!) });
  }
  libraries.set(file, out);
  return out;
}

/** argv prefix that starts the host program `file` inside an image root: its bound loader, only /.ferry/lib searched first. */
export function launcherFor(file: string): string[] {
  const interp = elfInterpreter(file);
  return interp ? [`${FERRY_LIB_DIR}/${basename(interp)}`, '--library-path', FERRY_LIB_DIR] : [];
}
