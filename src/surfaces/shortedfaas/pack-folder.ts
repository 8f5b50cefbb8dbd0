import { readdirSync } from 'node:fs';
import { Readable } from 'node:stream';
import { create } from 'tar';

/**
 * A deploy folder as a tar stream, so it goes through the same unpacking and checks as an
 * upload (links that leave it, sizes, entry counts). `.git` is left out.
 */
export function packFolder(dir: string): Readable {
  const entries = readdirSync(dir).filter((e) => e !== '.git').sort();
  return Readable.from(create({ portable: true, cwd: dir, filter: (p) => !/(^|\/)\.git(\/|$)/.test(p) }, entries));
}
