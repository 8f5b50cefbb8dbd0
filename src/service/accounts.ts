import type { Store, TokenKind, TokenRecord, UserRecord } from '../core/index.js';
import { FerryError } from '../errors/index.js';
import {
  checkPasswordStrength,
  generateToken,
  hashPassword,
  hashToken,
  isAdmin,
  verifyPassword,
  type AccessTokens,
  type LoginThrottle,
  type Principal,
} from '../auth/index.js';
import { shortId } from '../util/ids.js';

/** User names: ASCII letters, digits and hyphens; they become `singular:<name>` groups. */
const userName = /^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/;
/** Groups a user may be given. `root` is the boot admin's alone; `singular:*` is implicit. */
const grantable = /^(permission:(read|write|execute|remove|admin)|custom:[a-z0-9][a-z0-9-]{0,62})$/;
const dayMs = 86_400_000;
const maxTokenMs = 3650 * dayMs;

export interface AccountOptions {
  store: Store;
  access: AccessTokens;
  throttle: LoginThrottle;
  registration: 'closed' | 'open' | 'invite';
  defaultGroups: string[];
  refreshTtlMs: number;
  /** Called after anything that changes what an existing token may do (revocation, groups). */
  changed(): void;
}

/** What a login or refresh answers. The refresh token is single use: each refresh rotates it. */
export interface Session {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  refreshToken: string;
  refreshExpiresIn: number;
  user: string;
}

/** The users, logins and tokens of the tenancy layer. */
export class Accounts {
  constructor(private readonly o: AccountOptions) {}

  // --- sessions -------------------------------------------------------------------------------

  async register(body: unknown, address: string): Promise<Session> {
    if (this.o.registration === 'closed') throw new FerryError('registration-closed', 'this server does not take registrations (--registration closed): ask an admin for an account');
    const b = obj(body, '{"name": "...", "password": "..."' + (this.o.registration === 'invite' ? ', "invite": "..."}' : '}'));
    const name = parseUserName(b.name);
    const password = checkPasswordStrength(b.password);
    if (this.o.registration === 'invite') {
      if (typeof b.invite !== 'string' || !(await this.o.store.tokens.consume(hashToken(b.invite), Date.now()))) {
        throw new FerryError('invalid-invite', 'registration needs a valid, unused invite (POST /v1/auth/invites by an admin)');
      }
    }
    await this.o.store.users.create(await this.newUser(name, password, this.o.defaultGroups));
    return this.login({ name, password }, address);
  }

  async login(body: unknown, address: string): Promise<Session> {
    return this.session((await this.checkPassword(body, address)).name);
  }

  /** The user a name and password stand for, throttled as a login is; no session is made. */
  async checkPassword(body: unknown, address: string): Promise<UserRecord> {
    const b = obj(body, '{"name": "...", "password": "..."}');
    if (typeof b.name !== 'string' || typeof b.password !== 'string') throw new FerryError('invalid-body', 'expected {"name": "...", "password": "..."}');
    const name = b.name.slice(0, 64);
    await this.o.throttle.check(name, address);
    const user = userName.test(name) ? await this.o.store.users.get(name) : undefined;
    if (!(await verifyPassword(b.password, user?.passwordHash))) {
      await this.o.throttle.fail(name, address);
      throw new FerryError('invalid-credentials', 'wrong user name or password');
    }
    await this.o.throttle.succeed(name, address);
    return user!;
  }

  async refresh(body: unknown): Promise<Session> {
    const b = obj(body, '{"refreshToken": "..."}');
    if (typeof b.refreshToken !== 'string') throw new FerryError('invalid-body', 'expected {"refreshToken": "..."}');
    const rec = await this.o.store.tokens.findByHash(hashToken(b.refreshToken));
    if (!rec || rec.kind !== 'refresh') throw new FerryError('invalid-token', 'no such refresh token');
    if (rec.revokedAt !== null) throw new FerryError('token-revoked', 'the refresh token was used or revoked; log in again');
    if (rec.expiresAt !== null && rec.expiresAt <= Date.now()) throw new FerryError('token-expired', 'the refresh token has expired; log in again');
    // Consumed atomically: of two concurrent refreshes with one token, one wins.
    if (!(await this.o.store.tokens.consume(rec.hash, Date.now()))) throw new FerryError('token-revoked', 'the refresh token was used or revoked; log in again');
    if (!(await this.o.store.users.get(rec.subject))) throw new FerryError('token-revoked', 'the user no longer exists');
    return this.session(rec.subject);
  }

  async logout(body: unknown): Promise<void> {
    const b = obj(body, '{"refreshToken": "..."}');
    if (typeof b.refreshToken !== 'string') throw new FerryError('invalid-body', 'expected {"refreshToken": "..."}');
    const rec = await this.o.store.tokens.findByHash(hashToken(b.refreshToken));
    if (rec?.kind === 'refresh') await this.o.store.tokens.revoke(rec.id, Date.now());
  }

  async invite(actor: Principal, body: unknown): Promise<{ invite: string; expiresAt: string }> {
    const ttl = lifetime(body ?? {}, 7 * dayMs);
    const { token, rec } = await this.storeToken('invite', actor.subject, 'invite', ttl);
    return { invite: token, expiresAt: new Date(rec.expiresAt!).toISOString() };
  }

  private async session(user: string): Promise<Session> {
    const access = await this.o.access.sign(user);
    const { token } = await this.storeToken('refresh', user, 'login', this.o.refreshTtlMs);
    return {
      accessToken: access.token,
      tokenType: 'Bearer',
      expiresIn: this.o.access.ttlSeconds,
      refreshToken: token,
      refreshExpiresIn: Math.round(this.o.refreshTtlMs / 1000),
      user,
    };
  }

  // --- users ----------------------------------------------------------------------------------

  async createUser(body: unknown): Promise<UserRecord> {
    const b = obj(body, '{"name": "...", "password": "...", "groups": [...]}');
    const name = parseUserName(b.name);
    const password = b.password === undefined ? null : checkPasswordStrength(b.password);
    const groups = b.groups === undefined ? this.o.defaultGroups : parseGroups(b.groups);
    const rec = await this.newUser(name, password, groups);
    await this.o.store.users.create(rec);
    return rec;
  }

  listUsers(): Promise<UserRecord[]> {
    return this.o.store.users.list();
  }

  /** A user's record: its own, or anyone's for an admin. */
  async getUser(actor: Principal, name: string): Promise<UserRecord> {
    if (actor.subject !== name && !isAdmin(actor)) throw new FerryError('forbidden', 'reading another user needs permission:admin');
    const u = await this.o.store.users.get(name);
    if (!u) throw new FerryError('user-not-found', `no user named '${name}'`);
    return u;
  }

  /** Users change their own password; admins change anyone's password and groups. */
  async patchUser(actor: Principal, name: string, body: unknown): Promise<UserRecord> {
    const b = obj(body, '{"password": "..."} or {"groups": [...]}');
    for (const k of Object.keys(b)) if (k !== 'password' && k !== 'groups') throw new FerryError('invalid-body', `unknown key '${k}': a user has password and groups`);
    const admin = isAdmin(actor);
    if (actor.subject !== name && !admin) throw new FerryError('forbidden', 'changing another user needs permission:admin');
    if (b.groups !== undefined && !admin) throw new FerryError('forbidden', 'changing groups needs permission:admin');
    const current = await this.o.store.users.get(name);
    if (!current) throw new FerryError('user-not-found', `no user named '${name}'`);
    let groups: string[] | undefined;
    if (b.groups !== undefined) {
      groups = parseGroups(b.groups);
      // The boot admin stays root: otherwise no one could ever be root again.
      if (current.groups.includes('root')) groups = ['root', ...groups];
    }
    const passwordHash = b.password === undefined ? undefined : await hashPassword(checkPasswordStrength(b.password));
    const u = await this.o.store.users.update(name, { ...(passwordHash ? { passwordHash } : {}), ...(groups ? { groups } : {}), updatedAt: Date.now() });
    if (!u) throw new FerryError('user-not-found', `no user named '${name}'`);
    this.o.changed();
    return u;
  }

  async deleteUser(actor: Principal, name: string): Promise<void> {
    const u = await this.o.store.users.get(name);
    if (!u) throw new FerryError('user-not-found', `no user named '${name}'`);
    if (u.groups.includes('root')) throw new FerryError('forbidden', 'the boot admin cannot be deleted');
    if (name === actor.subject) throw new FerryError('forbidden', 'an admin cannot delete itself');
    await this.o.store.users.delete(name, Date.now());
    this.o.changed();
  }

  // --- API tokens -----------------------------------------------------------------------------

  /** `{"days": 10}` or `{"seconds": 60}`, optional `"user"` (admins) and `"label"`. */
  async createToken(actor: Principal, body: unknown): Promise<{ token: string; rec: TokenRecord }> {
    const b = obj(body ?? {}, '{"days": 30, "user": "...", "label": "..."}');
    for (const k of Object.keys(b)) if (!['days', 'seconds', 'user', 'label'].includes(k)) throw new FerryError('invalid-body', `unknown key '${k}'`);
    const user = b.user === undefined ? actor.subject : parseUserName(b.user);
    if (user !== actor.subject && !isAdmin(actor)) throw new FerryError('forbidden', 'a token for another user needs permission:admin');
    if (!(await this.o.store.users.get(user))) throw new FerryError('user-not-found', `no user named '${user}'`);
    if (b.label !== undefined && (typeof b.label !== 'string' || b.label.length > 100)) throw new FerryError('invalid-body', 'label: a string of at most 100 characters');
    return this.storeToken('api', user, (b.label as string | undefined) ?? '', lifetime(b, 30 * dayMs));
  }

  /** The caller's API tokens; an admin may ask for another user's (`user`) or everyone's (`all`). */
  async listTokens(actor: Principal, user: string | undefined, all: boolean): Promise<TokenRecord[]> {
    if ((all || (user !== undefined && user !== actor.subject)) && !isAdmin(actor)) throw new FerryError('forbidden', "listing other users' tokens needs permission:admin");
    return this.o.store.tokens.list({ kind: 'api', ...(all ? {} : { subject: user ?? actor.subject }) });
  }

  async revokeToken(actor: Principal, id: string): Promise<void> {
    const rec = await this.o.store.tokens.get(id);
    // Someone else's token answers 404 to a non-admin: token ids are not to be probed.
    if (!rec || rec.kind !== 'api' || (rec.subject !== actor.subject && !isAdmin(actor))) throw new FerryError('token-not-found', `no token with id '${id}'`);
    await this.o.store.tokens.revoke(id, Date.now());
    this.o.changed();
  }

  private async storeToken(kind: TokenKind, subject: string, label: string, ttlMs: number): Promise<{ token: string; rec: TokenRecord }> {
    const token = generateToken();
    const now = Date.now();
    const rec: TokenRecord = { id: shortId(), kind, hash: hashToken(token), prefix: token.slice(0, 10), subject, groups: [], label, createdAt: now, expiresAt: now + ttlMs, revokedAt: null };
    await this.o.store.tokens.create(rec);
    return { token, rec };
  }

  private async newUser(name: string, password: string | null, groups: string[]): Promise<UserRecord> {
    const now = Date.now();
    return { name, passwordHash: password === null ? null : await hashPassword(password), groups: [...new Set(groups)], createdAt: now, updatedAt: now };
  }
}

function obj(body: unknown, shape: string): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new FerryError('invalid-body', `expected ${shape}`);
  return body as Record<string, unknown>;
}

export function parseUserName(v: unknown): string {
  if (typeof v !== 'string' || !userName.test(v)) throw new FerryError('invalid-name', 'a user name has 1 to 63 ASCII letters, digits and hyphens, starting with a letter or digit');
  return v;
}

function parseGroups(v: unknown): string[] {
  if (!Array.isArray(v) || v.length > 64) throw new FerryError('invalid-body', 'groups: an array of at most 64 groups');
  for (const g of v) {
    if (typeof g !== 'string' || !grantable.test(g)) {
      throw new FerryError('invalid-body', `groups: '${String(g).slice(0, 80)}' is not permission:read|write|execute|remove|admin or custom:<name> (root is the boot admin's; singular:<user> is implicit)`);
    }
  }
  return [...new Set(v as string[])];
}

/** A lifetime from `days` or `seconds` (positive, at most ten years), or the default. */
function lifetime(b: unknown, fallback: number): number {
  const o = b as { days?: unknown; seconds?: unknown };
  if (o.days !== undefined && o.seconds !== undefined) throw new FerryError('invalid-body', 'give days or seconds, not both');
  const ms = o.days !== undefined ? Number(o.days) * dayMs : o.seconds !== undefined ? Number(o.seconds) * 1000 : fallback;
  if ((o.days !== undefined && typeof o.days !== 'number') || (o.seconds !== undefined && typeof o.seconds !== 'number') || !Number.isFinite(ms) || ms <= 0 || ms > maxTokenMs) {
    throw new FerryError('invalid-body', 'days / seconds: a positive number, at most 3650 days');
  }
  return Math.round(ms);
}
