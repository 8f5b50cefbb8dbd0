import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { chmod, mkdir, open, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { processStartTime } from '../util/process-start.js';

/**
 * Instances whose server died without stopping them (SIGKILL, a crash, power to the container
 * cut while the host lives on) are found again on the next start through a record per instance,
 * `<pid dir>/<instance-id>`: the pid and its start time, so that a pid the kernel has since given
 * to an unrelated process is left alone.
 *
 * The records live in a directory of the server's own (`<data-dir>/pids`, 0700), never in a run
 * dir: the instance can write its run dir, and a record it forged would have the server kill a
 * host process of its choosing (or hang on a FIFO). They are read as if they could have been
 * tampered with all the same: opened O_NOFOLLOW|O_NONBLOCK, only regular files of the server's
 * uid, at most `MAX_RECORD` bytes.
 */
const MAX_RECORD = 64;
const ID = /^[A-Za-z0-9_-]{1,64}$/;


/** Creates the server's pid dir (0700: no instance and no other local user may write in it). */
export async function preparePidDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

/** Records which process an instance is (atomically: a crash leaves the old record or the new). */
async function writePidRecord(dir: string, instanceId: string, pid: number): Promise<void> {
  if (!ID.test(instanceId)) throw new TypeError(`bad instance id ${instanceId}`);
  const started = processStartTime(pid);
  const tmp = join(dir, `.${instanceId}.tmp`);
  await writeFile(tmp, `${pid} ${started ?? ''}\n`, { mode: 0o600 });
  await rename(tmp, join(dir, instanceId));
}

/**
 * Keeps the record of an instance's process while it runs. Best effort: without one, what a killed
 * server left is still found by its cgroups (the bwrap driver's cleanup).
 */
export function recordWhileRunning(dir: string, instanceId: string, child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const written = writePidRecord(dir, instanceId, child.pid).catch(() => {});
  child.once('exit', () => void written.then(() => rm(join(dir, instanceId), { force: true })).catch(() => {}));
}

/** A record's text, or undefined unless it is a small regular file of this process's uid. */
async function readRecord(path: string): Promise<string | undefined> {
  let file;
  try {
    file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined; // a symbolic link (ELOOP), gone, unreadable
  }
  try {
    const st = await file.stat();
    if (!st.isFile() || st.uid !== process.getuid?.() || st.size > MAX_RECORD) return undefined;
    const buf = Buffer.alloc(MAX_RECORD);
    const { bytesRead } = await file.read(buf, 0, MAX_RECORD, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await file.close();
  }
}

/** Kills what previous boots left running and removes their records; answers how many process groups it killed. */
export async function reapOrphans(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let killed = 0;
  for (const name of names) {
    const path = join(dir, name);
    const text = ID.test(name) ? await readRecord(path) : undefined;
    await rm(path, { force: true, recursive: true }).catch(() => {});
    if (text === undefined) continue;
    const [pidText, started] = text.trim().split(' ');
    const pid = Number(pidText);
    if (!Number.isInteger(pid) || pid <= 1 || !started) continue;
    if ((processStartTime(pid)) !== started) continue;
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
