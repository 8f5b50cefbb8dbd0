import { createHash } from 'node:crypto';
import { readdir, lstat } from 'node:fs/promises';
import { isFile } from '../../packages/index.js';
import { join } from 'node:path';
import type { Logger } from '../../observe/index.js';
import { FerryError } from '../../errors/index.js';
import { labels } from './package-adapter.js';
import type { ShortedFunctions } from './shorted-functions.js';

/** How often the folder is looked at; a subfolder deploys once unchanged across two looks. */
export const pollMs = 1000;

/**
 * The watched deploy folder (`--deploy-dir`): each subfolder holding a `run.json` or a
 * `ferry.json` is a function named after it. A subfolder is deployed once its files have
 * settled (the same names, sizes and times at two looks in a row), so a folder being copied is
 * never deployed half-way; one that disappears removes its function. At start, what is stored
 * is reconciled with the folder: functions whose folder is gone are removed, folders whose
 * fingerprint matches the deployed version are not deployed again. A failed deploy (a bad
 * manifest, a missing command) is logged naming the file, and the previous version keeps serving.
 */
export class DeployFolder {
  /** Fingerprint at the last look, per subfolder. */
  private readonly seen = new Map<string, string>();
  /** Fingerprint deployed (or that failed: not retried until the folder changes), per function. */
  private readonly done = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(
    private readonly dir: string,
    private readonly fns: ShortedFunctions,
    private readonly log: Logger,
    private readonly pack: (dir: string) => Promise<NodeJS.ReadableStream>,
    /** Mixed into every fingerprint: a change of how folders deploy (a setting) deploys them again. */
    private readonly salt = '',
  ) {}

  async start(): Promise<void> {
    for (const v of await this.fns.list()) {
      const digest = v.manifest.labels?.[labels.digest];
      if (digest) this.done.set(v.function, digest);
    }
    await this.look();
    this.timer = setInterval(() => void this.look(), pollMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async look(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const now = new Map<string, string>();
      for (const e of await readdir(this.dir, { withFileTypes: true }).catch(() => [])) {
        if (!e.isDirectory() || e.name.startsWith('.')) continue;
        // A folder removed while it is read is simply not there this time.
        const print = await fingerprint(join(this.dir, e.name), this.salt).catch(() => undefined);
        if (print === undefined || !(await hasManifest(join(this.dir, e.name)))) continue;
        if (print) now.set(e.name, print);
      }
      for (const name of this.done.keys()) if (!now.has(name)) await this.remove(name);
      for (const [name, print] of now) {
        const settled = this.seen.get(name) === print;
        this.seen.set(name, print);
        if (settled && this.done.get(name) !== print) await this.deploy(name, print);
      }
      for (const name of this.seen.keys()) if (!now.has(name)) this.seen.delete(name);
    } catch (err) {
      this.log.error({ err, dir: this.dir }, 'shortedfaas: cannot read the deploy folder');
    } finally {
      this.busy = false;
    }
  }

  private async deploy(name: string, print: string): Promise<void> {
    this.done.set(name, print);
    const folder = join(this.dir, name);
    try {
      const v = await this.fns.deploy(name, (await this.pack(folder)) as never, print);
      this.log.info({ function: name, version: v.version, folder }, 'shortedfaas: deployed');
    } catch (err) {
      const e = FerryError.from(err);
      // Another write to the function came between the check and the deploy: the next look tries again.
      if (e.code === 'revision-conflict') this.done.delete(name);
      const file = /^run\.json/.test(e.message) ? 'run.json' : /^ferry\.json/.test(e.message) ? 'ferry.json' : '';
      this.log.error({ function: name, file: join(folder, file), code: e.code }, `shortedfaas: ${join(folder, file)}: ${e.message}; the previous version (if any) keeps serving`);
    }
  }

  private async remove(name: string): Promise<void> {
    this.done.delete(name);
    try {
      await this.fns.delete(name);
      this.log.info({ function: name }, 'shortedfaas: removed, its folder is gone');
    } catch (err) {
      this.log.error({ function: name, err }, 'shortedfaas: cannot remove the function');
    }
  }
}

/** Names, kinds, sizes and modification times of everything under `dir` (links not followed). */
async function fingerprint(dir: string, salt: string): Promise<string> {
  const h = createHash('sha256').update(`${salt}\n`);
  const walk = async (d: string, rel: string): Promise<void> => {
    const entries = (await readdir(d)).sort();
    for (const name of entries) {
      const s = await lstat(join(d, name));
      h.update(`${rel}${name}\0${s.mode}\0${s.size}\0${s.mtimeMs}\n`);
      if (s.isDirectory()) await walk(join(d, name), `${rel}${name}/`);
    }
  };
  await walk(dir, '');
  return h.digest('hex').slice(0, 32);
}

async function hasManifest(dir: string): Promise<boolean> {
  return (await isFile(join(dir, 'run.json'))) || (await isFile(join(dir, 'ferry.json')));
}
