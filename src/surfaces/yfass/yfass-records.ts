import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ServiceConfig } from './service-config.js';

/** What the YFASS surface keeps of a version beside Ferry's own record of it. */
export interface YfassRecord {
  name: string;
  /** The YFASS spelling (`1.0`); the Ferry version is `ferryVersion` of it. */
  version: string;
  ferryVersion: string;
  alias: string | null;
  config: ServiceConfig | null;
  /** Deployed (`/api/deploy`) and not killed since: kept across a config override. */
  deployed: boolean;
  contentType: string;
}

/**
 * The versions uploaded through YFASS's API, under `<data-dir>/yfass/<name>/<ferry version>/`:
 * `record.json` and the uploaded archive (`contents`), kept because an upload carries no config
 * and Ferry builds the version only once `/api/override` gives one. Each version's folder is
 * written whole in a temporary folder and renamed into place, and `record.json` is replaced by
 * rename, so a crash leaves either the old state or the new one.
 */
export class YfassRecords {
  constructor(private readonly root: string) {}

  async create(rec: YfassRecord, contents: Buffer): Promise<void> {
    const dir = join(this.root, rec.name);
    await mkdir(dir, { recursive: true });
    const tmp = join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
    try {
      await mkdir(tmp);
      await writeFile(join(tmp, 'contents'), contents);
      await writeFile(join(tmp, 'record.json'), JSON.stringify(rec));
      await rename(tmp, join(dir, rec.ferryVersion));
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  async get(name: string, ferryVersion: string): Promise<YfassRecord | undefined> {
    try {
      return JSON.parse(await readFile(join(this.root, name, ferryVersion, 'record.json'), 'utf8')) as YfassRecord;
    } catch {
      return undefined;
    }
  }

  contents(rec: YfassRecord): Promise<Buffer> {
    return readFile(join(this.root, rec.name, rec.ferryVersion, 'contents'));
  }

  async update(rec: YfassRecord): Promise<void> {
    const file = join(this.root, rec.name, rec.ferryVersion, 'record.json');
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify(rec));
    await rename(tmp, file);
  }

  async remove(rec: YfassRecord): Promise<void> {
    const dir = join(this.root, rec.name);
    const gone = join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
    await rename(join(dir, rec.ferryVersion), gone);
    await rm(gone, { recursive: true, force: true });
  }

  /** Whether the function has a version uploaded through YFASS's API. */
  async hasFunction(name: string): Promise<boolean> {
    return (await this.list(name)).length > 0;
  }

  /** Every record (of one function, when named). */
  async list(name?: string): Promise<YfassRecord[]> {
    const names = name === undefined ? await entries(this.root) : [name];
    const out: YfassRecord[] = [];
    for (const n of names) {
      for (const v of await entries(join(this.root, n))) {
        const rec = await this.get(n, v);
        if (rec) out.push(rec);
      }
    }
    return out;
  }
}

async function entries(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((e) => !e.startsWith('.'));
  } catch {
    return [];
  }
}
