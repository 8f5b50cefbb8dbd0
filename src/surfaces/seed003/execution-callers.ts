import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Who submitted each seed-003 execution: a file per execution under `<data-dir>/seed003/callers`,
 * named by the execution's idempotency key, a random UUID Ferry never shows (so no other caller
 * can make an execution that claims it). The contract's secrets and objects are served with this
 * user's rights, looked up when the run asks, so a right taken away meanwhile is gone.
 */
export class ExecutionCallers {
  constructor(private readonly dir: string) {}

  /** A new key bound to `user`, written (atomically) before the execution that carries it. */
  async bind(user: string): Promise<string> {
    const key = randomUUID();
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = join(this.dir, `.${key}.tmp`);
    await writeFile(tmp, user, { mode: 0o600 });
    await rename(tmp, join(this.dir, key));
    return key;
  }

  async callerOf(key: string | null): Promise<string | undefined> {
    if (key === null || !/^[0-9a-f-]{36}$/.test(key)) return undefined;
    return readFile(join(this.dir, key), 'utf8').catch(() => undefined);
  }

  /**
   * Removes bindings older than `ms`: their executions have ended and been pruned by then (a
   * queued one older than Ferry's retention is pruned with the rest).
   */
  async prune(ms: number): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const before = Date.now() - ms;
    for (const name of names) {
      const path = join(this.dir, name);
      const st = await stat(path).catch(() => undefined);
      if (st && st.mtimeMs < before) await rm(path, { force: true });
    }
  }
}
