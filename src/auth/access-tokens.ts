import { randomBytes } from 'node:crypto';
import type { KeyStore } from '../core/index.js';
import { FerryError } from '../errors/index.js';

/** The `iss` and `aud` of every access token Ferry signs (also how the gateway recognises one). */
export const ACCESS_TOKEN_ISSUER = 'ferry';
export const ACCESS_TOKEN_AUDIENCE = 'ferry-api';
const issuer = ACCESS_TOKEN_ISSUER;
const audience = ACCESS_TOKEN_AUDIENCE;
const alg = 'HS256';

let joseModule: Promise<typeof import('jose')> | undefined;
/** `jose`, loaded on the first token signed or checked: a server nobody logs in to never pays for it. */
function jose(): Promise<typeof import('jose')> {
  return (joseModule ??= import('jose'));
}

/** A verified access token's claims. */
export interface AccessClaims {
  subject: string;
  id: string;
  expiresAt: number;
}

/**
 * Short-lived access tokens: JWTs signed with a server key (HS256) kept behind the store, so
 * every node of a cluster verifies every other node's tokens. They are never stored; revocation
 * is by expiry (minutes) plus a user check on every use.
 */
export class AccessTokens {
  constructor(
    private readonly keys: KeyStore,
    private readonly ttlMs: number,
  ) {}

  private key(): Promise<Buffer> {
    return this.keys.get('jwt-hs256', () => randomBytes(32));
  }

  get ttlSeconds(): number {
    return Math.max(1, Math.round(this.ttlMs / 1000));
  }

  async sign(subject: string, now = Date.now()): Promise<{ token: string; expiresAt: number }> {
    const exp = Math.floor(now / 1000) + this.ttlSeconds;
    const { SignJWT } = await jose();
    const token = await new SignJWT({})
      .setProtectedHeader({ alg, typ: 'JWT' })
      .setSubject(subject)
      .setIssuer(issuer)
      .setAudience(audience)
      .setJti(randomBytes(12).toString('base64url'))
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(exp)
      .sign(await this.key());
    return { token, expiresAt: exp * 1000 };
  }

  /** Verifies signature and claims; each way a token can be bad has its own error code. */
  async verify(token: string): Promise<AccessClaims> {
    const { errors, jwtVerify } = await jose();
    try {
      const { payload } = await jwtVerify(token, await this.key(), { issuer, audience, algorithms: [alg], clockTolerance: 1 });
      if (typeof payload.sub !== 'string' || typeof payload.exp !== 'number') throw new FerryError('token-malformed', 'the access token lacks its subject or expiry');
      return { subject: payload.sub, id: String(payload.jti ?? ''), expiresAt: payload.exp * 1000 };
    } catch (err) {
      if (err instanceof FerryError) throw err;
      const bearer = { 'www-authenticate': 'Bearer error="invalid_token"' };
      if (err instanceof errors.JWTExpired) throw new FerryError('token-expired', 'the access token has expired: refresh it or log in again', { headers: bearer });
      if (err instanceof errors.JWSSignatureVerificationFailed) throw new FerryError('invalid-token', 'the access token signature does not verify', { headers: bearer });
      throw new FerryError('token-malformed', 'the access token is malformed', { headers: bearer });
    }
  }
}

/** Whether the string has the shape of a compact JWS (three base64url parts). */
export function looksLikeJwt(token: string): boolean {
  return token.length < 4096 && /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}
