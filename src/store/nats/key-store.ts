/**
 * Server keys in a KV bucket (`<prefix>_keys`), shared by every node: `<name>` is a key (and the
 * first key of the key set of that name), `<name>.<n>` the set's n-th key (n = 2, 3, ...; the
 * highest is current). Each is written once with `create`: of two nodes making the same key at
 * once, one key wins and both use it; a rotation adds a key, never rewrites one.
 */
import type { KeySet, KeyStore } from '../../core/store.js';
import { keyId } from '../../core/key-id.js';
import { FerryError } from '../../errors/index.js';
import type { Bucket } from './bucket.js';

const keyName = /^[a-z0-9][a-z0-9-]{0,62}$/;

function check(name: string): void {
  if (!keyName.test(name)) throw new FerryError('internal', `bad key name '${name}'`);
}

export class NatsKeys implements KeyStore {
  private readonly cache = new Map<string, Promise<Buffer>>();
  private readonly sets = new Map<string, Promise<KeySet>>();

  constructor(private readonly bucket: Bucket) {}

  get(name: string, create: () => Buffer): Promise<Buffer> {
    check(name);
    return cached(this.cache, name, () => this.once(name, create));
  }

  keySet(name: string, create: () => Buffer, opts: { refresh?: boolean } = {}): Promise<KeySet> {
    if (opts.refresh) this.sets.delete(name);
    return cached(this.sets, name, () => this.readSet(name, create));
  }

  async rotate(name: string, create: () => Buffer): Promise<KeySet> {
    const before = await this.readSet(name, create);
    // If another node rotated to this number first, its key is the new one.
    await this.once(`${name}.${before.keys.length + 1}`, create);
    const after = this.readSet(name, create);
    this.sets.set(name, after);
    return after;
  }

  private async readSet(name: string, create: () => Buffer): Promise<KeySet> {
    check(name);
    const first = await this.once(name, create);
    const later = (await this.bucket.scan<string>(`${name}.*`))
      .map((e) => ({ n: Number(e.key.slice(name.length + 1)), key: decode(e.key, e.value) }))
      .filter((k) => Number.isInteger(k.n))
      .sort((a, b) => a.n - b.n);
    const keys = [first, ...later.map((k) => k.key)].map((key) => ({ id: keyId(key), key }));
    return { current: keys.at(-1)!, keys };
  }

  /** The key stored under `name`, made with `create` and stored if there is none yet. */
  private async once(name: string, create: () => Buffer): Promise<Buffer> {
    for (;;) {
      const cur = await this.bucket.get<string>(name);
      if (cur) return decode(name, cur.value);
      await this.bucket.create(name, create().toString('base64'));
    }
  }
}

function decode(name: string, text: string): Buffer {
  const key = Buffer.from(text, 'base64');
  if (key.length < 16) throw new FerryError('internal', `key ${name} in the NATS key bucket is damaged: restore it from a backup (tokens or secrets it protects cannot be read without it)`);
  return key;
}

/** The promise for `name` from `map`, started by `load` if absent; a failure is not kept. */
function cached<T>(map: Map<string, Promise<T>>, name: string, load: () => Promise<T>): Promise<T> {
  let p = map.get(name);
  if (!p) {
    p = load();
    map.set(name, p);
    p.catch(() => map.delete(name));
  }
  return p;
}
