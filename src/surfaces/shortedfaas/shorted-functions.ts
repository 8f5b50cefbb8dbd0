import type { Readable } from 'node:stream';
import type { VersionRecord } from '../../core/index.js';
import { FerryError } from '../../errors/index.js';
import type { Principal } from '../../auth/index.js';
import { compatPrincipal } from '../compat-user.js';
import { retryOnConflict, type Accounts, type FunctionService } from '../../service/index.js';
import { adaptFolder, labels } from './package-adapter.js';

export interface ShortedFunctionsDeps {
  service: FunctionService;
  accounts: Accounts;
  /** The user everything deployed from the folder belongs to (`--compat-user`). */
  owner: string;
  /** The folder's functions see the host's language libraries (not `--shortedfaas-own-libraries-only`). */
  hostLibraries: boolean;
}

/**
 * ShortedFaaS's functions over Ferry's: the ones whose latest version carries the
 * `shortedfaas.folder` label. A Ferry function of the same name not deployed from the folder is
 * never replaced nor removed from here.
 */
export class ShortedFunctions {
  constructor(private readonly d: ShortedFunctionsDeps) {}

  /** Deploys a folder (as a tar stream) as a new version, which becomes `latest`. */
  async deploy(name: string, tar: Readable, digest: string): Promise<VersionRecord> {
    // The check holds at the write (compare-and-set): a change that came between them is a
    // conflict, answered, not retried, since the stream of the folder is read once.
    const revision = await this.d.service.revision(name);
    if (this.d.service.catalog.has(name) && !(await this.latest(name))) throw new FerryError('name-conflict', `'${name}' is a Ferry function not deployed from the deploy folder`);
    return this.d.service.createVersion(await this.actor(), name, undefined, tar, 'application/x-tar', undefined, {
      prepare: (staging) => adaptFolder(staging, name, digest, this.d.hostLibraries),
      // The surface gives its functions the host's libraries, whoever owns the folder.
      grants: this.d.hostLibraries ? ['hostLibraries'] : [],
      ifRevision: revision,
    });
  }

  async delete(name: string): Promise<void> {
    await retryOnConflict(() => this.d.service.revision(name), async (revision) => {
      if (await this.latest(name)) await this.d.service.deleteFunction(name, revision);
    });
  }

  /** The latest version of a function of this surface, else undefined. */
  async latest(name: string): Promise<VersionRecord | undefined> {
    if (!this.d.service.catalog.has(name)) return undefined;
    try {
      const v = await this.d.service.getVersion(name, this.d.service.resolve(name, undefined).version);
      return v.manifest.labels?.[labels.folder] === name ? v : undefined;
    } catch {
      return undefined;
    }
  }

  /** Every function of this surface with its latest version, in Ferry's order. */
  async list(): Promise<VersionRecord[]> {
    const out: VersionRecord[] = [];
    for (const name of this.d.service.catalog.functionNames()) {
      const v = await this.latest(name);
      if (v) out.push(v);
    }
    return out;
  }

  /** The owner as a principal: what it may create and its quotas apply. */
  async actor(): Promise<Principal> {
    return compatPrincipal(this.d.accounts, this.d.owner, 'shortedfaas');
  }
}
