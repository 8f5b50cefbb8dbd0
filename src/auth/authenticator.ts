import { FerryError } from '../errors/index.js';
import type { Store } from '../core/index.js';
import { hashToken, looksLikeToken } from './tokens.js';
import type { Principal } from './principal.js';

/** How long a verified token is trusted from memory before the store is asked again. */
const CACHE_MS = 5_000;

/**
 * Turns an `Authorization` header into a Principal. Token checks on invocations sit on the hot
 * path, so verified tokens are cached briefly (revocation takes effect within CACHE_MS).
 */
export class Authenticator {
  private readonly cache = new Map<string, { principal: Principal; until: number; expiresAt: number | null }>();

  constructor(private readonly store: Store) {}

  async authenticate(header: string | undefined): Promise<Principal> {
    if (!header) throw new FerryError('unauthorized', 'this route needs Authorization: Bearer <token>', { headers: { 'www-authenticate': 'Bearer' } });
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new FerryError('invalid-token', 'the Authorization header must be "Bearer <token>"', { headers: { 'www-authenticate': 'Bearer error="invalid_token"' } });
    const token = m[1]!;
    if (!looksLikeToken(token)) throw new FerryError('invalid-token', 'the token is malformed', { headers: { 'www-authenticate': 'Bearer error="invalid_token"' } });
    const hash = hashToken(token);
    const now = Date.now();
    const hit = this.cache.get(hash);
    if (hit && hit.until > now && (hit.expiresAt === null || hit.expiresAt > now)) return hit.principal;
    const rec = await this.store.findTokenByHash(hash);
    if (!rec || rec.revokedAt !== null || (rec.expiresAt !== null && rec.expiresAt <= now)) {
      this.cache.delete(hash);
      throw new FerryError('invalid-token', 'the token is not valid', { headers: { 'www-authenticate': 'Bearer error="invalid_token"' } });
    }
    const principal: Principal = { subject: rec.subject, groups: rec.groups, tokenId: rec.id };
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(hash, { principal, until: now + CACHE_MS, expiresAt: rec.expiresAt });
    return principal;
  }
}
