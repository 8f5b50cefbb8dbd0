import { createHash, randomBytes } from 'node:crypto';

/** Every Ferry token starts with this, so leaked ones are easy to recognise and scan for. */
export const TOKEN_PREFIX = 'fry_';

/** A new random API token (256 bits). */
export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** Tokens are stored only as sha256: a leaked database does not leak credentials. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A plausible token: prefix plus base64url. Anything else is `invalid-token` without a lookup. */
export function looksLikeToken(token: string): boolean {
  return token.startsWith(TOKEN_PREFIX) && token.length >= 20 && token.length <= 200 && /^[A-Za-z0-9_-]+$/.test(token);
}
