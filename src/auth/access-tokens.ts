import { randomBytes } from 'node:crypto';
import type { KeySet, KeyStore } from '../core/index.js';
import { FerryError } from '../errors/index.js';

/** The `iss` and `aud` of every access token Ferry signs (also how the gateway recognises one). */
export const ACCESS_TOKEN_ISSUER = 'ferry';
export const ACCESS_TOKEN_AUDIENCE = 'ferry-api';
const issuer = ACCESS_TOKEN_ISSUER;
const audience = ACCESS_TOKEN_AUDIENCE;
const alg = 'HS256';
/** The key set access tokens are signed with. */
export const ACCESS_TOKEN_KEY_SET = 'jwt-hs256';

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
 * Short-lived access tokens: JWTs signed with a server key (HS256) of a key set kept behind the
 * store, so every node of a cluster verifies every other node's tokens. A token names its key in
 * `kid`; it verifies against any key of the set, so tokens signed before a rotation keep working
 * until they expire (one from before key ids, with no `kid`, against the set's first key). They
 * are never stored; revocation is by expiry (minutes) plus a user check on every use.
 */
export class AccessTokens {
  constructor(
    private readonly keys: KeyStore,
    private readonly ttlMs: number,
  ) {}

  private keySet(refresh = false): Promise<KeySet> {
    return this.keys.keySet(ACCESS_TOKEN_KEY_SET, () => randomBytes(32), { refresh });
  }

  /** The key a token's `kid` names: read again once if unknown (another node rotated). */
  private async keyFor(kid: string | undefined): Promise<Buffer> {
    const find = (set: KeySet): Buffer | undefined => (kid === undefined ? set.keys[0]!.key : set.keys.find((k) => k.id === kid)?.key);
    const key = find(await this.keySet()) ?? find(await this.keySet(true));
    if (!key) throw new FerryError('invalid-token', 'the access token names a signing key this server does not have', { headers: { 'www-authenticate': 'Bearer error="invalid_token"' } });
    return key;
  }

  get ttlSeconds(): number {
    return Math.max(1, Math.round(this.ttlMs / 1000));
  }

  async sign(subject: string, now = Date.now()): Promise<{ token: string; expiresAt: number }> {
    const exp = Math.floor(now / 1000) + this.ttlSeconds;
    const { SignJWT } = await jose();
    const { current } = await this.keySet();
    const token = await new SignJWT({})
      .setProtectedHeader({ alg, typ: 'JWT', kid: current.id })
      .setSubject(subject)
      .setIssuer(issuer)
      .setAudience(audience)
      .setJti(randomBytes(12).toString('base64url'))
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(exp)
      .sign(current.key);
    return { token, expiresAt: exp * 1000 };
  }

  /** Verifies signature and claims; each way a token can be bad has its own error code. */
  async verify(token: string): Promise<AccessClaims> {
    const { errors, jwtVerify } = await jose();
    try {
      const { payload } = await jwtVerify(token, (header) => this.keyFor(header.kid), { issuer, audience, algorithms: [alg], clockTolerance: 1 });
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
