import { createHash } from 'node:crypto';
import type { UserRecord } from '../../core/index.js';
import { FerryError } from '../../errors/index.js';
import { ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER, effectiveGroups, looksLikeJwt, type Principal } from '../../auth/index.js';
import type { SeedUserIds } from './seed003-user-ids.js';
import { roleOf } from './user-role.js';

/** The `iss` of the tokens Ferry signs with `JWT_SECRET`; the seed's own carry none. */
const ISSUER = 'ferry-seed003';
/** The seed signed its tokens for 24 hours: one of its tokens valid for longer was not made by it. */
const SEED_LIFETIME_S = 24 * 3600;
const bearer = { 'www-authenticate': 'Bearer error="invalid_token"' };

let joseModule: Promise<typeof import('jose')> | undefined;
const jose = (): Promise<typeof import('jose')> => (joseModule ??= import('jose'));

/**
 * Login tokens of the seed-003 API when `JWT_SECRET` is set: HS256 JWTs signed with it, with the
 * seed's claims (`sub` the user's id, `user`, `role`, `exp`), so what the seed's clients or
 * gateway did with them keeps working. Every use looks the user up again: a token of a user since
 * deleted is refused, and the rights are the user's groups now, never the token's `role`. A token
 * the seed itself signed (no `iss`: its `sub` is an id of the seed's, unknown here) stands for the
 * Ferry user its `user` claim names. They are accepted on the seed-003 routes only, never on /v1.
 */
export class SeedTokens {
  constructor(
    private readonly secret: Buffer,
    private readonly ttlMs: number,
    private readonly ids: SeedUserIds,
    private readonly users: () => Promise<UserRecord[]>,
  ) {}

  /** Whether `header` carries a token for this class to check (Ferry's own tokens are the authenticator's). */
  async owns(header: string | undefined): Promise<boolean> {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
    if (!token || !looksLikeJwt(token)) return false;
    try {
      return (await jose()).decodeJwt(token).iss !== ACCESS_TOKEN_ISSUER;
    } catch {
      return true;
    }
  }

  async sign(user: UserRecord): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const { SignJWT } = await jose();
    return new SignJWT({ user: user.name, role: roleOf(user) })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(await this.ids.idOf(user))
      .setIssuer(ISSUER)
      // Ferry's audience: the gateway strips it from every call to a function, as it does Ferry's own.
      .setAudience(ACCESS_TOKEN_AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(now + Math.max(1, Math.round(this.ttlMs / 1000)))
      .sign(this.secret);
  }

  async verify(header: string): Promise<Principal> {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(header)![1]!;
    const { errors, jwtVerify } = await jose();
    let claims: Record<string, unknown>;
    try {
      claims = (await jwtVerify(token, this.secret, { algorithms: ['HS256'], requiredClaims: ['exp'], clockTolerance: 1 })).payload;
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw new FerryError('token-expired', 'the token has expired: log in again', { headers: bearer });
      throw new FerryError('invalid-token', 'Invalid or expired token', { headers: bearer });
    }
    const users = await this.users();
    let user: UserRecord | undefined;
    if (claims.iss === ISSUER && typeof claims.sub === 'string') {
      user = await this.ids.userOf(claims.sub, users);
    } else if (claims.iss === undefined && typeof claims.user === 'string') {
      if ((claims.exp as number) > Date.now() / 1000 + SEED_LIFETIME_S) throw new FerryError('invalid-token', 'the token is valid for longer than the 24 hours its issuer gave', { headers: bearer });
      user = users.find((u) => u.name === claims.user);
    } else {
      throw new FerryError('invalid-token', 'Invalid or expired token', { headers: bearer });
    }
    if (!user) throw new FerryError('token-revoked', 'the user of this token no longer exists', { headers: bearer });
    const tokenId = `seed003:${createHash('sha256').update(token).digest('hex').slice(0, 16)}`;
    return { subject: user.name, groups: effectiveGroups(user.name, user.groups), tokenId, via: 'access-token' };
  }
}
