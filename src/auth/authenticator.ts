import { FerryError } from '../errors/index.js';
import type { Store } from '../core/index.js';
import { hashToken, looksLikeToken, TOKEN_PREFIX } from './tokens.js';
import { effectiveGroups, type Principal } from './principal.js';
import { looksLikeJwt, type AccessTokens } from './access-tokens.js';
import type { InstanceTokens } from './instance-tokens.js';

/** How long a verified token is trusted from memory before the store is asked again. */
const CACHE_MS = 5_000;

const bearer = { 'www-authenticate': 'Bearer error="invalid_token"' };

/**
 * Turns an `Authorization` header into a Principal: a stored API token (`fry_...`) or a login's
 * access token (a JWT). Token checks on invocations sit on the hot path, so verified tokens are
 * cached briefly: revocation and group changes take effect within CACHE_MS.
 */
export class Authenticator {
  private readonly cache = new Map<string, { principal: Principal; until: number; expiresAt: number | null }>();

  constructor(
    private readonly store: Store,
    private readonly access: AccessTokens,
    /** Tokens of running instances; checked before the cache so a revocation applies at once. */
    private readonly instances?: InstanceTokens,
  ) {}

  /** `req`: the request the header came with, which tells where it arrived (instance tokens). */
  async authenticate(header: string | undefined, req?: object): Promise<Principal> {
    if (!header) throw new FerryError('unauthorized', 'this route needs Authorization: Bearer <token>', { headers: { 'www-authenticate': 'Bearer' } });
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new FerryError('token-malformed', 'the Authorization header must be "Bearer <token>"', { headers: bearer });
    const token = m[1]!;
    const hash = hashToken(token);
    const instance = this.instances?.find(hash);
    if (instance) {
      // Only on the instance's own socket: a token that leaks out of an instance (its
      // environment, an answer) is worth nothing on Ferry's TCP listener.
      if (this.instances!.admitted(req)) return instance;
      throw new FerryError('invalid-token', "an instance token is accepted only on its instance's own API socket (FERRY_API_SOCKET)", { headers: bearer });
    }
    const now = Date.now();
    const hit = this.cache.get(hash);
    if (hit && hit.until > now && (hit.expiresAt === null || hit.expiresAt > now)) return hit.principal;
    const { principal, expiresAt } = token.startsWith(TOKEN_PREFIX) ? await this.apiToken(token, hash, now) : await this.accessToken(token);
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(hash, { principal, until: now + CACHE_MS, expiresAt });
    return principal;
  }

  /** Forgets cached verdicts (after a revocation or a group change, so it applies at once here). */
  forget(): void {
    this.cache.clear();
  }

  private async apiToken(token: string, hash: string, now: number): Promise<{ principal: Principal; expiresAt: number | null }> {
    if (!looksLikeToken(token)) throw new FerryError('token-malformed', 'the API token is malformed', { headers: bearer });
    const rec = await this.store.tokens.findByHash(hash);
    if (!rec || rec.kind !== 'api') throw new FerryError('invalid-token', 'no such API token', { headers: bearer });
    if (rec.revokedAt !== null) throw new FerryError('token-revoked', 'the API token was revoked', { headers: bearer });
    if (rec.expiresAt !== null && rec.expiresAt <= now) throw new FerryError('token-expired', 'the API token has expired', { headers: bearer });
    const user = await this.store.users.get(rec.subject);
    // A token whose subject is no user (the boot admin's from before users existed) keeps its own groups.
    const groups = user ? user.groups : rec.groups;
    return { principal: { subject: rec.subject, groups: effectiveGroups(rec.subject, groups), tokenId: rec.id, via: 'api-token' }, expiresAt: rec.expiresAt };
  }

  private async accessToken(token: string): Promise<{ principal: Principal; expiresAt: number | null }> {
    if (!looksLikeJwt(token)) throw new FerryError('token-malformed', 'the token is neither an API token (fry_...) nor an access token', { headers: bearer });
    const claims = await this.access.verify(token);
    const user = await this.store.users.get(claims.subject);
    if (!user) throw new FerryError('token-revoked', 'the user of this access token no longer exists', { headers: bearer });
    return { principal: { subject: user.name, groups: effectiveGroups(user.name, user.groups), tokenId: claims.id, via: 'access-token' }, expiresAt: claims.expiresAt };
  }
}
