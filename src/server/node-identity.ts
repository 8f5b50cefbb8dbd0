import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';

/**
 * Who holds a lease on an execution: this node (an id kept in `file`, the server slot's own in
 * the data dir, so the next start of the same node recognises its own leases) and this boot (new at every start, so what the
 * previous boot held can be told apart and put back at once).
 */
export async function nodeIdentity(file: string): Promise<{ node: string; boot: string }> {
  let node: string;
  try {
    node = (await readFile(file, 'utf8')).trim();
    if (!/^[0-9a-f]{16,64}$/.test(node)) throw new Error(`${file} is damaged`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    node = randomBytes(8).toString('hex');
    await writeFile(file, `${node}\n`, { mode: 0o600, flag: 'wx' }).catch(async (e: NodeJS.ErrnoException) => {
      // Another process created it first: use that one.
      if (e.code !== 'EEXIST') throw e;
      node = (await readFile(file, 'utf8')).trim();
    });
  }
  return { node, boot: randomBytes(8).toString('hex') };
}
