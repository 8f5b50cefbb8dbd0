import { ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER, looksLikeJwt } from './access-tokens.js';
import { TOKEN_PREFIX } from './tokens.js';

/**
 * The headers a Ferry credential travels in. The authenticator reads only `Authorization`;
 * `Proxy-Authorization` is addressed to the proxy in front of the function, which is Ferry.
 */
const credentialHeaders = new Set(['authorization', 'proxy-authorization']);

/** The cookie that names a dashboard session (api/browser-sessions.ts): a Ferry credential too. */
export const SESSION_COOKIE = 'ferry_session';

/** A `fry_` token (API, refresh, invite or instance token) anywhere in a header value. */
const ferryToken = new RegExp(`(?:^|[^A-Za-z0-9_-])${TOKEN_PREFIX}[A-Za-z0-9_-]{16,}`);
const jwtIn = /[A-Za-z0-9_-]+\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]*/g;

/**
 * Whether a header value carries a Ferry credential: a `fry_` token, in any scheme, or an access
 * token Ferry signed (a JWT with Ferry's issuer and audience; its signature does not matter, a
 * forged one is stripped as well). Other schemes and other issuers' JWTs are the function's.
 */
export function carriesFerryCredential(value: string): boolean {
  if (ferryToken.test(value)) return true;
  for (const m of value.matchAll(jwtIn)) {
    if (!looksLikeJwt(m[0])) continue;
    try {
      const claims = JSON.parse(Buffer.from(m[1]!, 'base64url').toString('utf8')) as { iss?: unknown; aud?: unknown };
      const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
      if (claims.iss === ACCESS_TOKEN_ISSUER || aud.includes(ACCESS_TOKEN_AUDIENCE)) return true;
    } catch {
      /* not a JWT after all */
    }
  }
  return false;
}

/**
 * The raw header list (`[name, value, ...]`) without any copy of a credential header that
 * carries a Ferry credential, or undefined when there is none (the common case, no copy made).
 * Every copy is looked at: with two `Authorization` headers, Node's `req.headers` shows only the
 * first, and a check of one copy would let the other through.
 */
export function withoutFerryCredentials(raw: readonly string[]): string[] | undefined {
  let out: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const cookie = isCookieHeader(raw[i]!) ? withoutSessionCookie(raw[i + 1]!) : undefined;
    const strip = cookie !== undefined || (isCredentialHeader(raw[i]!) && carriesFerryCredential(raw[i + 1]!));
    if (strip && !out) out = raw.slice(0, i);
    else if (!strip && out) out.push(raw[i]!, raw[i + 1]!);
    // The function keeps the other cookies of the header; an emptied header goes.
    if (cookie) out!.push(raw[i]!, cookie);
  }
  return out;
}

function isCookieHeader(name: string): boolean {
  return name.length === 6 && name.toLowerCase() === 'cookie';
}

/**
 * A `Cookie` value without the dashboard's session cookie ('' when nothing else is left), or
 * undefined when it has none. The browser sends that cookie with every request to Ferry's origin,
 * `/fn/...` calls included, and whoever holds it acts as the dashboard's user.
 */
function withoutSessionCookie(value: string): string | undefined {
  const pairs = value.split(';');
  const kept = pairs.filter((p) => p.slice(0, p.indexOf('=')).trim() !== SESSION_COOKIE);
  return kept.length === pairs.length ? undefined : kept.map((p) => p.trim()).filter((p) => p !== '').join('; ');
}

/** `Authorization` or `Proxy-Authorization`, in any case. */
export function isCredentialHeader(name: string): boolean {
  return (name.length === 13 || name.length === 19) && credentialHeaders.has(name.toLowerCase());
}
