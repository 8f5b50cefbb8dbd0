import { readdirSync, readFileSync } from 'node:fs';
import { procStatFields } from '../../src/util/process-start.js';

/** The process state letter from /proc/<pid>/stat (R, S, Z...), or undefined if it is gone. */
export function procState(pid: number): string | undefined {
  return procStatFields(pid)?.[0];
}

/** Live (non-zombie) processes whose command line contains `needle`, this process excluded. */
export function processesMentioning(needle: string): Array<{ pid: number; cmdline: string }> {
  const out: Array<{ pid: number; cmdline: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    } catch {
      continue; // exited while we looked
    }
    if (!cmdline.includes(needle)) continue;
    if (procState(pid) === 'Z') continue;
    out.push({ pid, cmdline });
  }
  return out;
}

/** Whether a process of this pid exists (signal 0). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The live (non-zombie) child processes of `ppid`, from the parent field of /proc/<pid>/stat. */
export function childPids(ppid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, parent] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(parent) === ppid && state !== 'Z') out.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return out;
}
