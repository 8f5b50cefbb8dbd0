import { createHash } from 'node:crypto';
import type { Principal, UserRecord } from '../../core/index.js';
import { FerryError } from '../../errors/index.js';
import { isAdmin } from '../../auth/index.js';
import type { Accounts, SecretMeta, Secrets } from '../../service/index.js';
import { uuidShape } from './uuid-shape.js';
import { need } from './need.js';
import type { SeedTokens } from './seed003-tokens.js';
import type { SeedUserIds } from './seed003-user-ids.js';
import { roleOf } from './user-role.js';

/** A user as the seed-003 API shows it; its id a UUID of its own (seed003-user-ids.ts), as the seed's. */
export interface SeedUser {
  id: string;
  username: string;
  role: 'admin' | 'user';
  created_at: string;
}

/** A secret's metadata as the seed-003 API shows it: never its value. */
export interface SeedSecret {
  id: string;
  name: string;
  created_at: string;
  updated_at: string;
}

/**
 * Seed-003's users and secrets over Ferry's accounts and secrets. Its `admin` role is Ferry's
 * `permission:admin`; `user` is what Ferry's registration gives (`--default-groups`). A secret's
 * id is derived from its owning group and name, so it needs no table of its own.
 */
export class SeedAccounts {
  constructor(
    private readonly accounts: Accounts,
    private readonly secrets: Secrets,
    private readonly ids: SeedUserIds,
    /** Set with `JWT_SECRET`: logins answer its tokens rather than Ferry's access tokens. */
    private readonly tokens: SeedTokens | undefined,
  ) {}

  /**
   * `POST /auth/register` `{username, password, role?}`: `role` `admin` only when an admin asks
   * (then also while registration is closed); anyone else registers as Ferry's registration
   * setting allows.
   */
  async register(actor: Principal | undefined, body: unknown, address: string): Promise<SeedUser> {
    const b = object(body, '{"username": "...", "password": "...", "role": "user"}');
    const role = b.role ?? 'user';
    if (role !== 'user' && role !== 'admin') throw new FerryError('invalid-body', 'role: "user" or "admin"');
    if (typeof b.username !== 'string' || typeof b.password !== 'string') throw new FerryError('invalid-body', 'expected {"username": "...", "password": "..."}');
    if (actor && isAdmin(actor)) {
      const u = await this.accounts.createUser({ name: b.username, password: b.password, ...(role === 'admin' ? { groups: ['permission:admin'] } : {}) });
      return this.userView(u);
    }
    if (role === 'admin') throw new FerryError('forbidden', 'only an admin may register a user with the admin role');
    const session = await this.accounts.register({ name: b.username, password: b.password }, address);
    return this.userView((await this.accounts.listUsers()).find((u) => u.name === session.user)!);
  }

  /**
   * `POST /auth/login` `{username, password}` -> `{token}`: with `JWT_SECRET`, a token signed with
   * it (seed-003 routes only); else Ferry's access token (it works on /v1 too).
   */
  async login(body: unknown, address: string): Promise<{ token: string }> {
    const b = object(body, '{"username": "...", "password": "..."}');
    const credentials = { name: b.username, password: b.password };
    if (this.tokens) return { token: await this.tokens.sign(await this.accounts.checkPassword(credentials, address)) };
    return { token: (await this.accounts.login(credentials, address)).accessToken };
  }

  async listUsers(actor: Principal): Promise<SeedUser[]> {
    if (!isAdmin(actor)) throw new FerryError('forbidden', 'listing users needs the admin role');
    return Promise.all((await this.accounts.listUsers()).map((u) => this.userView(u)));
  }

  /** `GET /api/users/{id}`: `id` the user's UUID (or, as Ferry answered before it had them, its name). */
  async getUser(actor: Principal, id: string): Promise<SeedUser> {
    if (!UUID.test(id)) return this.userView(await this.accounts.getUser(actor, id));
    const user = await this.ids.userOf(id.toLowerCase(), await this.accounts.listUsers());
    if (!user) throw new FerryError('user-not-found', `no user '${id}'`);
    return this.userView(await this.accounts.getUser(actor, user.name));
  }

  private async userView(u: UserRecord): Promise<SeedUser> {
    return { id: await this.ids.idOf(u), username: u.name, role: roleOf(u), created_at: new Date(u.createdAt).toISOString() };
  }

  async createSecret(actor: Principal, body: unknown): Promise<SeedSecret> {
    need(actor, 'write');
    const b = object(body, '{"name": "...", "value": "..."}');
    return secretView(await this.secrets.create(actor, { name: b.name, value: b.value }));
  }

  async listSecrets(actor: Principal): Promise<SeedSecret[]> {
    need(actor, 'read');
    return (await this.secrets.list(actor, undefined)).map(secretView);
  }

  async getSecret(actor: Principal, id: string): Promise<SeedSecret> {
    need(actor, 'read');
    return secretView(await this.findSecret(actor, id));
  }

  /** `PUT /api/secrets/{id}` `{value}`. */
  async updateSecret(actor: Principal, id: string, body: unknown): Promise<SeedSecret> {
    need(actor, 'write');
    const m = await this.findSecret(actor, id);
    const b = object(body, '{"value": "..."}');
    return secretView((await this.secrets.put(actor, m.name, { value: b.value }, m.group)).meta);
  }

  async removeSecret(actor: Principal, id: string): Promise<void> {
    need(actor, 'write');
    const m = await this.findSecret(actor, id);
    await this.secrets.remove(actor, m.name, m.group);
  }

  private async findSecret(actor: Principal, id: string): Promise<SecretMeta> {
    const m = (await this.secrets.list(actor, undefined)).find((s) => secretId(s) === id);
    if (!m) throw new FerryError('secret-not-found', `no secret '${id.slice(0, 80)}'`);
    return m;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A UUID-shaped id of a secret: its owning group and name, hashed. */
function secretId(m: SecretMeta): string {
  return uuidShape(createHash('sha256').update(`${m.group}\0${m.name}`).digest('hex'));
}

function secretView(m: SecretMeta): SeedSecret {
  return { id: secretId(m), name: m.name, created_at: m.createdAt, updated_at: m.updatedAt };
}

function object(v: unknown, shape: string): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new FerryError('invalid-body', `the body must be ${shape}`);
  return v as Record<string, unknown>;
}
