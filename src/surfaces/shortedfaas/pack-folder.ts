import { readdirSync } from 'node:fs';
import { Readable } from 'node:stream';

/**
 * A deploy folder as a tar stream, so it goes through the same unpacking and checks as an
 * upload (links that leave it, sizes, entry counts). `.git` is left out.
 */
export async function packFolder(dir: string): Promise<Readable> {
  // Loaded with the first deploy from the folder: a server at rest does not load tar.
  const { create } = await import('tar');
  const entries = readdirSync(dir).filter((e) => e !== '.git').sort();
  return Readable.from(create({ portable: true, cwd: dir, filter: (p) => !/(^|\/)\.git(\/|$)/.test(p) }, entries));
}
