import type { Principal } from '../../core/index.js';
import { FerryError } from '../../errors/index.js';
import { isAdmin } from '../../auth/index.js';
import type { Accounts } from '../../service/index.js';

/** A user as YFASS's user API shows it. */
export interface YfassUser {
  name: string;
  groups: string[];
}

/**
 * YFASS's user API over Ferry's accounts: the same users, groups and API tokens as `/v1`. ADMIN
 * is `permission:admin` (or root); ROOT is Ferry's `root` group, which only the boot admin holds.
 */
export class YfassUsers {
  constructor(private readonly accounts: Accounts) {}

  /** `POST /api/user/add` `{name, groups?}`: a user with no password (it signs in with tokens). */
  async add(actor: Principal, body: unknown): Promise<YfassUser> {
    admin(actor);
    const b = object(body, '{"name": "...", "groups": [...]}');
    only(b, ['name', 'groups']);
    const u = await this.accounts.createUser({ name: b.name, groups: b.groups ?? [] });
    return { name: u.name, groups: u.groups };
  }

  async get(actor: Principal, name: string): Promise<YfassUser> {
    const u = await this.accounts.getUser(actor, name);
    return { name: u.name, groups: u.groups };
  }

  /** `DELETE /api/user/remove/{user}`: ROOT only, as in YFASS. */
  async remove(actor: Principal, name: string): Promise<void> {
    if (!actor.groups.includes('root')) throw new FerryError('forbidden', 'removing a user needs ROOT (the root group)');
    await this.accounts.deleteUser(actor, name);
  }

  /** `POST /api/user/request-token` `{duration (days, default 10), user}`: the token itself. */
  async requestToken(actor: Principal, body: unknown): Promise<string> {
    admin(actor);
    const b = object(body, '{"duration": 10, "user": "..."}');
    only(b, ['duration', 'user']);
    const days = b.duration ?? 10;
    if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > 3650) throw new FerryError('invalid-body', 'duration must be a whole number of days from 1 to 3650');
    if (typeof b.user !== 'string') throw new FerryError('invalid-body', 'user must be a user name');
    return (await this.accounts.createToken(actor, { days, user: b.user, label: 'yfass' })).token;
  }

  /** `PUT /api/user/modify` `{name, groups?}`: replaces the user's groups. */
  async modify(actor: Principal, body: unknown): Promise<YfassUser> {
    admin(actor);
    const b = object(body, '{"name": "...", "groups": [...]}');
    only(b, ['name', 'groups']);
    if (typeof b.name !== 'string') throw new FerryError('invalid-body', 'name must be a user name');
    const u = b.groups === undefined ? await this.accounts.getUser(actor, b.name) : await this.accounts.patchUser(actor, b.name, { groups: b.groups });
    return { name: u.name, groups: u.groups };
  }
}

function admin(actor: Principal): void {
  if (!isAdmin(actor)) throw new FerryError('forbidden', 'this needs ADMIN (permission:admin)');
}

function object(v: unknown, shape: string): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new FerryError('invalid-body', `the body must be ${shape}`);
  return v as Record<string, unknown>;
}

function only(b: Record<string, unknown>, keys: string[]): void {
  for (const k of Object.keys(b)) if (!keys.includes(k)) throw new FerryError('invalid-body', `unknown key '${k}'`);
}
