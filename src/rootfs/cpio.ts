import { gzipSync } from 'node:zlib';

/** One entry of an initramfs archive. Owner and group are always 0: nothing of the builder's uid leaks in. */
export interface CpioEntry {
  name: string;
  /** Full st_mode: type and permission bits (0o100755 a file, 0o040755 a directory, 0o020600 a character device). */
  mode: number;
  data?: Buffer;
  /** A device's major and minor numbers. */
  rdev?: [number, number];
}

/**
 * A cpio archive in the kernel's `newc` format, uncompressed (the kernel unpacks it as it is).
 * Made in Node (no host cpio), with fixed owners and times, so the same inputs make the same bytes.
 */
export function cpioArchive(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  const pad = (n: number): Buffer => Buffer.alloc((4 - (n % 4)) % 4);
  const hex = (n: number): string => n.toString(16).padStart(8, '0');
  let ino = 1;
  for (const e of [...entries, { name: 'TRAILER!!!', mode: 0 }] as CpioEntry[]) {
    const data = e.data ?? Buffer.alloc(0);
    const name = Buffer.from(`${e.name}\0`);
    const isDir = (e.mode & 0o170000) === 0o040000;
    // ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
    const fields = [ino++, e.mode, 0, 0, isDir ? 2 : 1, 0, data.length, 0, 0, e.rdev?.[0] ?? 0, e.rdev?.[1] ?? 0, name.length, 0];
    const header = Buffer.from(`070701${fields.map(hex).join('')}`);
    parts.push(header, name, pad(header.length + name.length), data, pad(data.length));
  }
  return Buffer.concat(parts);
}

/** An initramfs: `cpioArchive`, gzip-compressed. */
export function initramfs(entries: CpioEntry[]): Buffer {
  return gzipSync(cpioArchive(entries), { level: 6 });
}
