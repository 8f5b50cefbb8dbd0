/** Sealed secrets in a KV bucket (`<prefix>_secrets`), keyed `<owner>.<name>` (tokens); the store never sees a clear value. */
import type { SecretStore } from '../../core/store.js';
import type { SecretRecord } from '../../core/records.js';
import type { Bucket } from './bucket.js';
import { token } from './layout.js';

type Stored = Omit<SecretRecord, 'sealed'> & { sealed: string };

const fromStored = ({ sealed, ...rest }: Stored): SecretRecord => ({ ...rest, sealed: Buffer.from(sealed, 'base64') });
const keyOf = (owner: string, name: string): string => `${token(owner)}.${token(name)}`;
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export class NatsSecrets implements SecretStore {
  constructor(private readonly bucket: Bucket) {}

  /** Keeps the first `createdAt`, like an upsert. */
  async put(rec: SecretRecord): Promise<boolean> {
    const { sealed, ...rest } = rec;
    const { before } = await this.bucket.change<Stored>(keyOf(rec.owner, rec.name), (cur) => ({ ...rest, sealed: sealed.toString('base64'), createdAt: cur?.createdAt ?? rec.createdAt }));
    return before !== undefined;
  }

  async get(owner: string, name: string): Promise<SecretRecord | undefined> {
    const e = await this.bucket.get<Stored>(keyOf(owner, name));
    return e && fromStored(e.value);
  }

  async list(owners: string[] | undefined): Promise<SecretRecord[]> {
    const filters = owners === undefined ? ['>'] : [...new Set(owners)].map((o) => `${token(o)}.*`);
    const all = (await Promise.all(filters.map((f) => this.bucket.scan<Stored>(f)))).flat();
    return all.map((e) => fromStored(e.value)).sort((a, b) => compare(a.owner, b.owner) || compare(a.name, b.name));
  }

  async delete(owner: string, name: string): Promise<boolean> {
    const { before } = await this.bucket.change<Stored>(keyOf(owner, name), () => null);
    return before !== undefined;
  }
}
