import { Readable } from 'node:stream';
import type { InstancePool, VersionRecord } from '../../core/index.js';
import { FerryError } from '../../errors/index.js';
import type { Principal } from '../../auth/index.js';
import { compatPrincipal } from '../compat-user.js';
import { retryOnConflict, type Accounts, type FunctionLogs, type FunctionService } from '../../service/index.js';
import { adaptPackage, nameLabel } from './package-adapter.js';
import type { TinyDeploy } from './upload-request.js';

export interface TinyFunctionsDeps {
  service: FunctionService;
  pool: InstancePool;
  logs: FunctionLogs;
  accounts: Accounts;
  /** The user everything created here belongs to (`--compat-user`). */
  owner: string;
}

/**
 * tinyFaaS's management use cases over Ferry's functions. It sees only the functions created
 * through it (their versions carry the `tinyfaas.name` label, the tinyFaaS spelling); the Ferry
 * function is the lower-cased name, so two names differing only in case are refused.
 */
export class TinyFunctions {
  constructor(private readonly d: TinyFunctionsDeps) {}

  /**
   * Deploys `zip` (a zip archive) as the function: a new version that becomes `latest` once its
   * instances serve; earlier versions go once their calls in flight have ended.
   */
  async deploy(d: TinyDeploy, zip: Buffer, subfolder = ''): Promise<void> {
    const name = d.name.toLowerCase();
    // The case check and the write under compare-and-set: a deploy or delete of the name that
    // came between them makes the check run again (in any server process).
    await retryOnConflict(() => this.d.service.revision(name), async (revision) => {
      const spelling = await this.spellingOf(name);
      if (spelling === null) throw new FerryError('name-conflict', `'${name}' is a Ferry function not created through the tinyFaaS API`);
      if (spelling !== undefined && spelling !== d.name) throw new FerryError('name-conflict', `'${d.name}' differs only in case from the function '${spelling}'`);
      const before = spelling === undefined ? [] : await this.d.service.listVersions(name);
      const actor = await this.actor();
      await this.d.service.createVersion(actor, name, undefined, Readable.from([zip]), 'application/zip', undefined, {
        prepare: (staging) => adaptPackage(staging, subfolder, d),
        serveFirst: true,
        ifRevision: revision,
      });
      for (const v of before) void this.retire(v);
    });
  }

  /** The tinyFaaS names, in the order Ferry lists its functions. */
  async list(): Promise<string[]> {
    const out: string[] = [];
    for (const name of this.d.service.catalog.functionNames()) {
      const spelling = await this.spellingOf(name);
      if (spelling) out.push(spelling);
    }
    return out;
  }

  async delete(tinyName: string): Promise<void> {
    await retryOnConflict(() => this.d.service.revision(tinyName.toLowerCase()), async (revision) => {
      const name = await this.known(tinyName);
      await this.d.service.deleteFunction(name, revision);
    });
  }

  async wipe(): Promise<void> {
    for (const tinyName of await this.list()) await this.delete(tinyName).catch(() => {});
  }

  /** The function's log lines as text (`undefined`: every function of the tinyFaaS API). */
  async logs(tinyName: string | undefined): Promise<string> {
    const names = tinyName === undefined ? await this.list() : [tinyName];
    let text = '';
    for (const n of names) {
      const lines = await this.d.logs.query(await this.known(n), { limit: 10_000 });
      for (const l of lines) text += `${new Date(l.time).toISOString()} ${n} ${l.stream}: ${l.line}\n`;
      if (tinyName === undefined) text += '\n';
    }
    return text;
  }

  /** The Ferry name of a function of the tinyFaaS API, spelt exactly; else `function-not-found`. */
  private async known(tinyName: string): Promise<string> {
    const name = tinyName.toLowerCase();
    if (/^[a-zA-Z0-9]+$/.test(tinyName) && (await this.spellingOf(name)) === tinyName) return name;
    throw new FerryError('function-not-found', `no tinyFaaS function named '${tinyName}'`);
  }

  /**
   * The tinyFaaS spelling of a Ferry function: undefined when there is no such function, null
   * when it was not created through this API.
   */
  private async spellingOf(name: string): Promise<string | null | undefined> {
    if (!this.d.service.catalog.has(name)) return undefined;
    let latest: VersionRecord;
    try {
      latest = await this.d.service.getVersion(name, this.d.service.resolve(name, undefined).version);
    } catch {
      return null;
    }
    return latest.manifest.labels?.[nameLabel] ?? null;
  }

  /** Removes an earlier version once no call runs on it (calls that resolved it just before the switch included). */
  private async retire(v: VersionRecord): Promise<void> {
    const until = Date.now() + (v.manifest.limits?.timeoutMs ?? 30_000) + 1000;
    await sleep(500);
    while (Date.now() < until && this.d.pool.list(v.function).some((i) => i.version === v.version && i.inFlight > 0)) await sleep(100);
    await this.d.service.deleteVersion(v.function, v.version).catch(() => {});
  }

  /** The owner as a principal: what it may create and its quotas apply. */
  private async actor(): Promise<Principal> {
    return compatPrincipal(this.d.accounts, this.d.owner, 'tinyfaas');
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
