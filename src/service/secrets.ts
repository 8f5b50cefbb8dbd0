import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { reservedEnvName, secretNamePattern, type DeployTarget, type InstancePool, type KeySet, type SecretRecord, type Store } from '../core/index.js';
import { FerryError } from '../errors/index.js';
import { allows, isAdmin, memberOf, type Principal } from '../auth/index.js';
import type { Catalog } from './catalog.js';

const namePattern = new RegExp(secretNamePattern);
const ownerPattern = /^(singular:[A-Za-z0-9][A-Za-z0-9-]{0,62}|custom:[a-z0-9][a-z0-9-]{0,62})$/;
const maxValueBytes = 64 * 1024;
/** The key set secrets are sealed with. */
export const SECRETS_KEY_SET = 'secrets-aes256';

/** What listings show of a secret: never its value. */
export interface SecretMeta {
  name: string;
  group: string;
  createdAt: string;
  updatedAt: string;
}

export interface SecretsOptions {
  store: Store;
  catalog: Catalog;
  pool: InstancePool;
  /** Reports a failed roll after a change (the change itself stands). */
  warn(message: string, err: unknown): void;
}

/**
 * Secrets: values sealed with AES-256-GCM under the current key of a key set behind the store
 * (`secrets-aes256`; the record names the key, so a value sealed before a rotation, or by another
 * node, opens with the key it was sealed with), bound
 * to their owner and name (as additional data, so a sealed value moved to another row does not
 * open). A function gets, as environment variables, the secrets its version lists that its
 * owning group may read: the group's own, and for a `singular:<user>` owner also those of the
 * user's `custom:` groups. A value is decrypted only to start an instance; it never appears in
 * an answer, an error or a log line.
 */
export class Secrets {
  constructor(private readonly o: SecretsOptions) {}

  private keySet(refresh = false): Promise<KeySet> {
    return this.o.store.keys.keySet(SECRETS_KEY_SET, () => randomBytes(32), { refresh });
  }

  /** The key a record was sealed with: read again once if unknown (another node rotated). */
  private async keyOf(rec: SecretRecord): Promise<Buffer> {
    const find = (set: KeySet): Buffer | undefined => (rec.keyId === undefined ? set.keys[0]!.key : set.keys.find((k) => k.id === rec.keyId)?.key);
    const key = find(await this.keySet()) ?? find(await this.keySet(true));
    if (!key) throw new FerryError('internal', `secret '${rec.name}' of ${rec.owner} is sealed with key ${rec.keyId}, which this server does not have`);
    return key;
  }

  private async seal(owner: string, name: string, value: string): Promise<{ sealed: Buffer; keyId: string }> {
    const { current } = await this.keySet();
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', current.key, iv);
    c.setAAD(Buffer.from(`${owner}\0${name}`));
    const data = Buffer.concat([c.update(value, 'utf8'), c.final()]);
    return { sealed: Buffer.concat([iv, c.getAuthTag(), data]), keyId: current.id };
  }

  private async open(rec: SecretRecord): Promise<string> {
    const d = createDecipheriv('aes-256-gcm', await this.keyOf(rec), rec.sealed.subarray(0, 12));
    d.setAAD(Buffer.from(`${rec.owner}\0${rec.name}`));
    d.setAuthTag(rec.sealed.subarray(12, 28));
    try {
      return Buffer.concat([d.update(rec.sealed.subarray(28)), d.final()]).toString('utf8');
    } catch {
      // Never the value or the key in the message.
      throw new FerryError('internal', `secret '${rec.name}' of ${rec.owner} cannot be decrypted: the secrets key in the data dir does not match`);
    }
  }

  /** The owning group a call acts on: `group`, else `singular:<actor>`; the actor must be in it. */
  private scope(actor: Principal, group: string | undefined, perm: 'read' | 'write'): string {
    const owner = group ?? `singular:${actor.subject}`;
    if (!ownerPattern.test(owner)) throw new FerryError('invalid-query', `group: '${owner.slice(0, 80)}' is not singular:<user> or custom:<name>`);
    if (!memberOf(actor, owner)) throw new FerryError('forbidden', `you are not in group '${owner}'`);
    if (!allows(actor, perm)) throw new FerryError('forbidden', `this action needs permission:${perm}`);
    return owner;
  }

  async create(actor: Principal, body: unknown): Promise<SecretMeta> {
    const b = parseBody(body, true);
    const owner = this.scope(actor, b.group, 'write');
    if (await this.o.store.secrets.get(owner, b.name!)) throw new FerryError('secret-exists', `secret '${b.name}' of ${owner} already exists; PUT /v1/secrets/${b.name} replaces it`);
    return this.write(owner, b.name!, b.value);
  }

  async put(actor: Principal, name: string, body: unknown, group: string | undefined): Promise<{ meta: SecretMeta; created: boolean }> {
    const b = parseBody({ ...(body as object), name }, false);
    const owner = this.scope(actor, group ?? b.group, 'write');
    const created = !(await this.o.store.secrets.get(owner, name));
    const meta = await this.write(owner, name, b.value);
    return { meta, created };
  }

  private async write(owner: string, name: string, value: string): Promise<SecretMeta> {
    const now = Date.now();
    const before = await this.o.store.secrets.get(owner, name);
    const rec: SecretRecord = { owner, name, ...(await this.seal(owner, name, value)), createdAt: before?.createdAt ?? now, updatedAt: now };
    await this.o.store.secrets.put(rec);
    await this.rollUsers(owner, name);
    return meta(rec);
  }

  /** Metadata of the secrets of the actor's groups (admins: all, or one `group`). */
  async list(actor: Principal, group: string | undefined): Promise<SecretMeta[]> {
    if (group !== undefined) return (await this.o.store.secrets.list([this.scope(actor, group, 'read')])).map(meta);
    if (isAdmin(actor)) return (await this.o.store.secrets.list(undefined)).map(meta);
    if (!allows(actor, 'read')) throw new FerryError('forbidden', 'this action needs permission:read');
    const owners = actor.groups.filter((g) => ownerPattern.test(g));
    return (await this.o.store.secrets.list(owners)).map(meta);
  }

  async remove(actor: Principal, name: string, group: string | undefined): Promise<void> {
    const owner = this.scope(actor, group, 'write');
    if (!(await this.o.store.secrets.delete(owner, name))) throw new FerryError('secret-not-found', `no secret '${name}' in ${owner}`);
    await this.rollUsers(owner, name);
  }

  /** The groups whose secrets a function owned by `owner` may read, most specific first. */
  private async readableBy(owner: string): Promise<string[]> {
    const m = /^singular:(.+)$/.exec(owner);
    if (!m) return [owner];
    const user = await this.o.store.users.get(m[1]!);
    return [owner, ...(user?.groups ?? []).filter((g) => g.startsWith('custom:')).sort()];
  }

  private async find(owner: string, name: string): Promise<SecretRecord | undefined> {
    for (const g of await this.readableBy(owner)) {
      const rec = await this.o.store.secrets.get(g, name);
      if (rec) return rec;
    }
    return undefined;
  }

  /** At deploy and PATCH: every listed secret must exist and be readable by the owner. */
  async check(owner: string, names: readonly string[]): Promise<void> {
    const missing: string[] = [];
    for (const n of names) if (!(await this.find(owner, n))) missing.push(n);
    if (missing.length) {
      throw new FerryError('secret-unavailable', `secrets ${missing.join(', ')} do not exist in ${owner} or a group it may read; create them with POST /v1/secrets first`, { extras: { secrets: missing } });
    }
  }

  /** At instance start: the listed secrets as environment variables (fails closed if one is gone). */
  async envFor(target: DeployTarget): Promise<Record<string, string>> {
    const names = target.config.secrets;
    if (names.length === 0) return {};
    const owner = this.o.catalog.owner(target.function);
    if (owner === undefined) throw new FerryError('function-not-found', `no function named '${target.function}'`);
    const env: Record<string, string> = {};
    for (const n of names) {
      const rec = await this.find(owner, n);
      if (!rec) throw new FerryError('secret-unavailable', `secret '${n}' is no longer available to ${owner}; the instance was not started`);
      env[n] = await this.open(rec);
    }
    return env;
  }

  /**
   * The values of the named secrets `actor` may read itself (its own and its `custom:` groups',
   * most specific first), for one call of a function it runs; names it may not read are left out.
   */
  async valuesFor(actor: Principal, names: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (!allows(actor, 'read')) return out;
    const groups = [`singular:${actor.subject}`, ...actor.groups.filter((g) => g.startsWith('custom:')).sort()];
    for (const n of names) {
      if (!namePattern.test(n)) continue;
      for (const g of groups) {
        const rec = await this.o.store.secrets.get(g, n);
        if (rec) {
          out.set(n, await this.open(rec));
          break;
        }
      }
    }
    return out;
  }

  /** Running versions that use the secret get new instances with the new value (rolling, no failed call). */
  private async rollUsers(owner: string, name: string): Promise<void> {
    for (const t of this.o.catalog.targets()) {
      if (!t.config.secrets.includes(name)) continue;
      const fnOwner = this.o.catalog.owner(t.function);
      if (fnOwner === undefined || !(await this.readableBy(fnOwner)).includes(owner)) continue;
      // A new revision makes the pool replace every instance started with the old value.
      await this.o.pool.roll({ ...t, revision: `${t.revision.split('#')[0]}#secrets-${Date.now()}` }).catch((err: unknown) => this.o.warn(`could not replace the instances of ${t.function}@${t.version} after a secret changed`, err));
    }
  }
}

function meta(r: SecretRecord): SecretMeta {
  return { name: r.name, group: r.owner, createdAt: new Date(r.createdAt).toISOString(), updatedAt: new Date(r.updatedAt).toISOString() };
}

function parseBody(body: unknown, needName: boolean): { name?: string; value: string; group?: string } {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new FerryError('invalid-body', 'expected {"name": "...", "value": "..."}');
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) if (!['name', 'value', 'group'].includes(k)) throw new FerryError('invalid-body', `unknown key '${k}': a secret has name, value and group`);
  if (needName || b.name !== undefined) {
    if (typeof b.name !== 'string' || !namePattern.test(b.name)) throw new FerryError('invalid-name', 'a secret name is an environment variable name: letters, digits and _, not starting with a digit, at most 128');
    if (reservedEnvName(b.name)) throw new FerryError('invalid-env', `'${b.name}' is reserved (PORT, FERRY_* and HTTP_* are set by Ferry)`, { extras: { name: b.name } });
  }
  // The value is checked for type and size only: it is never echoed back, not even in an error.
  if (typeof b.value !== 'string') throw new FerryError('invalid-body', 'value: a string');
  if (Buffer.byteLength(b.value) > maxValueBytes) throw new FerryError('body-too-large', `a secret value is at most ${maxValueBytes} bytes`);
  if (b.group !== undefined && typeof b.group !== 'string') throw new FerryError('invalid-body', 'group: a string');
  return { ...(typeof b.name === 'string' ? { name: b.name } : {}), value: b.value, ...(typeof b.group === 'string' ? { group: b.group } : {}) };
}
