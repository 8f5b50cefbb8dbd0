import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Why the sandbox user (uid, gid, no other groups) cannot pass through to `dataDir`, or
 * undefined when it can. Sandboxes are started as that user, and bwrap opens the packages and
 * run dirs under the data dir as it: one directory on the way that lets nobody else through (a
 * 0700 home, say) fails every instance. Parts that do not exist yet are Ferry's to make.
 */
export function dataDirUnreachable(dataDir: string, uid: number, gid: number): string | undefined {
  const chain: string[] = [];
  for (let p = resolve(dataDir); ; p = dirname(p)) {
    chain.unshift(p);
    if (p === '/') break;
  }
  for (const p of chain) {
    let st;
    try {
      st = statSync(p);
    } catch {
      return undefined;
    }
    const bit = st.uid === uid ? 0o100 : st.gid === gid ? 0o010 : 0o001;
    if ((st.mode & bit) === 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      return `${p} (mode ${mode}, owner uid ${st.uid}) does not let the sandbox user (uid ${uid}) through: every instance would fail to start. Choose a data dir it can reach (--data-dir /var/lib/ferry), or let it through: chmod o+x ${p}`;
    }
  }
  return undefined;
}
