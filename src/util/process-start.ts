import { readFileSync } from 'node:fs';

/**
 * The fields of /proc/<pid>/stat after the command name (the state is [0]), or undefined when
 * there is no such process. The command name (field 2) may hold spaces and parentheses: the
 * fields are counted after its last ')'.
 */
export function procStatFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/**
 * When process `pid` started (field 22 of /proc/<pid>/stat, in clock ticks since boot), or
 * undefined when there is no such process. A pid and its start time name one process: a pid alone
 * may since have been reused by another (pids wrap, at 32,768 on many hosts), so anything that
 * signals a pid it learnt earlier checks this first.
 */
export function processStartTime(pid: number): string | undefined {
  return procStatFields(pid)?.[19];
}
