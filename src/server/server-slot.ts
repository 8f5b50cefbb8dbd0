import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Which server process of a data dir this is. Several `ferry server` processes may share a data
 * dir (they see each other's writes through the store), but what a process keeps for its own
 * instances must stay its own: each slot has its own run dir, pid records, node id (what its
 * queue leases carry), sandbox scope (cgroups, pool slots) and scratch dirs, so a second server
 * neither wipes the first's run dir nor reaps its instances nor takes back its leases at start.
 *
 * Slot n is held by `<dataDir>/servers/<n>.pid` holding the pid of a live process. A start takes
 * the lowest slot whose file is missing or names a dead process, so a restarted server (after a
 * clean stop or kill -9) gets its slot back, with what the last holder left to clean up. Slot 0's
 * names are those of a data dir from before slots (`run/`, `pids/`, `node-id`); slot n > 0 adds
 * `.n` to each.
 *
 * The races accepted: two servers starting at the same moment on a slot whose holder died may
 * both take it (each writes its pid and reads it back, which narrows it to the instant between);
 * a dead holder's pid reused by another live process keeps its slot taken, and the start moves on
 * to the next slot, leaving that slot's leftovers until a server takes it again.
 */
export interface ServerSlot {
  n: number;
  /** `base` for this slot: `base` for slot 0, `base.n` after it. */
  name(base: string): string;
  /** Gives the slot up (at a clean stop): the next start takes it at once. */
  release(): Promise<void>;
}

/** Slots tried before a start gives up: far more server processes than one data dir should have. */
const MAX_SLOTS = 64;

/** Claims the lowest free slot of the data dir for this process. */
export async function claimServerSlot(dataDir: string): Promise<ServerSlot> {
  const dir = join(dataDir, 'servers');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const mine = `${process.pid}\n`;
  for (let n = 0; n < MAX_SLOTS; n++) {
    const file = join(dir, `${n}.pid`);
    const taken = await writeFile(file, mine, { flag: 'wx', mode: 0o600 }).then(
      () => false,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'EEXIST') return true;
        throw err;
      },
    );
    if (taken) {
      if (alive(await readFile(file, 'utf8').catch(() => ''))) continue;
      // The holder died: take the slot over, then read it back (another start may have too).
      const temp = `${file}.${process.pid}`;
      await writeFile(temp, mine, { mode: 0o600 });
      await rename(temp, file);
      if ((await readFile(file, 'utf8')) !== mine) continue;
    }
    return {
      n,
      name: (base) => (n === 0 ? base : `${base}.${n}`),
      release: async () => {
        if ((await readFile(file, 'utf8').catch(() => '')) === mine) await rm(file, { force: true });
      },
    };
  }
  throw new Error(`${MAX_SLOTS} server processes already run on the data dir ${dataDir} (${dir})`);
}

/** Whether the pid file's content names a live process other than this one. */
function alive(content: string): boolean {
  const pid = Number(content.trim());
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it lives, as another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
