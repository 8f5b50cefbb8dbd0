import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Instances whose server died without stopping them (SIGKILL, a crash, power to the container
 * cut while the host lives on) are found again on the next start through the pid file each
 * instance's run dir holds, and killed with their whole process group. The process start time
 * is kept too, so a pid the kernel has since given to an unrelated process is left alone.
 */
const PID_FILE = 'instance.pid';

/** Start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat). */
async function startTime(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Records which process an instance is, in its run dir. */
export async function writePidFile(runDir: string, pid: number): Promise<void> {
  const started = await startTime(pid);
  await writeFile(join(runDir, PID_FILE), `${pid} ${started ?? ''}\n`);
}

/** Kills what previous boots left running; answers how many process groups it killed. */
export async function reapOrphans(runRoot: string): Promise<number> {
  let dirs: string[];
  try {
    dirs = await readdir(runRoot);
  } catch {
    return 0;
  }
  let killed = 0;
  for (const dir of dirs) {
    let text: string;
    try {
      text = await readFile(join(runRoot, dir, PID_FILE), 'utf8');
    } catch {
      continue;
    }
    const [pidText, started] = text.trim().split(' ');
    const pid = Number(pidText);
    if (!Number.isInteger(pid) || pid <= 1 || !started) continue;
    if ((await startTime(pid)) !== started) continue;
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    killed++;
  }
  return killed;
}
