import { readdir, readFile } from 'node:fs/promises';

/** Each live process's parent, from `/proc/<pid>/stat` (the fields after the name's closing parenthesis). */
async function parents(): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  const names = await readdir('/proc').catch(() => [] as string[]);
  await Promise.all(
    names.filter((n) => /^\d+$/.test(n)).map(async (n) => {
      const stat = await readFile(`/proc/${n}/stat`, 'utf8').catch(() => '');
      // The name may hold spaces and parentheses: the state and ppid follow its last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (Number.isInteger(ppid)) out.set(Number(n), ppid);
    }),
  );
  return out;
}

/** VmRSS of one process in bytes (0 once it is gone, or for a kernel thread). */
async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  return kb ? Number(kb[1]) * 1024 : 0;
}

/**
 * The resident memory of `pid` and every process below it, in bytes: what an instance without a
 * memory cgroup uses. Undefined once `pid` is gone. Shared pages count once per process, so it
 * overstates a tree that shares much; a memory cgroup, where there is one, counts them once.
 */
export async function processTreeMemory(pid: number): Promise<number | undefined> {
  const parentOf = await parents();
  if (!parentOf.has(pid)) return undefined;
  const tree = new Set([pid]);
  // Parents may be listed after their children: repeat until no process joins.
  for (let grew = true; grew; ) {
    grew = false;
    for (const [child, parent] of parentOf) {
      if (!tree.has(child) && tree.has(parent)) {
        tree.add(child);
        grew = true;
      }
    }
  }
  const sizes = await Promise.all([...tree].map(rssBytes));
  return sizes.reduce((a, b) => a + b, 0);
}
