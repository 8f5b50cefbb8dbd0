import { setTimeout as delay } from 'node:timers/promises';
import { isFerryError } from '../errors/index.js';

/** How often a write is tried in all before its conflict is the caller's answer. */
const attempts = 10;

/**
 * Runs `write` with the function's revision read now (0 when there is no such function), again
 * with a fresh one while it fails with `revision-conflict`: another writer, in this process or
 * another, changed the function between the read and the write, so what `write` decided is
 * decided again on what is stored then. The compare-and-set in the store takes the place of a
 * lock: it holds across processes, and nobody waits on a writer that died.
 */
export async function retryOnConflict<T>(revisionOf: () => Promise<number | undefined>, write: (revision: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const revision = (await revisionOf()) ?? 0;
    try {
      return await write(revision);
    } catch (err) {
      if (attempt >= attempts || !(isFerryError(err) && err.code === 'revision-conflict')) throw err;
      // A random pause, growing, so that writers that keep colliding spread out.
      await delay(Math.random() * 5 * attempt);
    }
  }
}
