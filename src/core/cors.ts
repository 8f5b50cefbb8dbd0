import { originPattern } from '../util/origin-pattern.js';

/**
 * Cross-origin resource sharing (the Fetch standard's CORS protocol) as a rule over header values:
 * which origins a policy admits, how a preflight is answered, which headers an actual answer
 * carries. The gateway answers preflights itself (the function never sees them); see
 * docs/functions.md "cors" and docs/security.md for what it does and does not protect.
 */

/** A function's `cors` in `ferry.json` (the names AWS API Gateway uses for the same settings). */
export interface CorsPolicy {
  /** Exact origins (`https://app.example.com`), `*`, or a suffix form `https://*.example.com`. */
  allowOrigins: string[];
  /** Methods a preflight may ask for; `*`: any. Default: `*`. */
  allowMethods?: string[];
  /** Request headers beyond the CORS-safelisted ones; `*`: any. Default: none. */
  allowHeaders?: string[];
  /** Response headers the page's script may read beyond the safelisted ones. */
  exposeHeaders?: string[];
  /** Whether the page may send cookies and credentials (never with an `*` origin). */
  allowCredentials?: boolean;
  /** How long a browser may cache a preflight's answer, in seconds. Default: 600. */
  maxAge?: number;
}

const token = { type: 'string', pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$" } as const;

/** JSON Schema of `cors` (in the manifest and a PATCH alike). */
export const corsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['allowOrigins'],
  properties: {
    allowOrigins: {
      type: 'array',
      minItems: 1,
      maxItems: 100,
      items: { type: 'string', pattern: originPattern },
    },
    allowMethods: { type: 'array', maxItems: 32, items: token },
    allowHeaders: { type: 'array', maxItems: 100, items: token },
    exposeHeaders: { type: 'array', maxItems: 100, items: token },
    allowCredentials: { type: 'boolean' },
    maxAge: { type: 'integer', minimum: 0, maximum: 86_400 },
  },
  // Credentials with every origin admitted would let any site read a user's answers.
  if: { properties: { allowCredentials: { const: true } }, required: ['allowCredentials'] },
  then: { properties: { allowOrigins: { type: 'array', not: { type: 'array', contains: { const: '*' } } } } },
} as const;

/** Whether `origin` (the request's `Origin` header) is one the policy admits. */
export function originAllowed(policy: CorsPolicy, origin: string): boolean {
  const o = origin.toLowerCase();
  for (const rule of policy.allowOrigins) {
    if (rule === '*' || rule === o) return true;
    // `https://*.example.com` admits `https://a.example.com` and `https://a.b.example.com`.
    const star = rule.indexOf('://*.');
    if (star < 0) continue;
    const scheme = rule.slice(0, star + 3);
    const suffix = rule.slice(star + 4);
    if (o.length <= scheme.length + suffix.length || !o.startsWith(scheme) || !o.endsWith(suffix)) continue;
    if (/^[a-z0-9][a-z0-9.-]*$/.test(o.slice(scheme.length, o.length - suffix.length))) return true;
  }
  return false;
}

/** What a preflight asks: the `Origin`, `Access-Control-Request-Method` and `-Headers` it carries. */
export interface PreflightRequest {
  origin: string;
  method: string;
  /** Lower-case names, as the browser lists them. */
  headers: string[];
}

/**
 * A preflight's answer: the headers that admit it, or the reason it is refused (the answer then
 * carries no allow header, which is how a browser learns no).
 */
export function preflightAnswer(policy: CorsPolicy, req: PreflightRequest): { headers: string[] } | { refused: string } {
  if (!originAllowed(policy, req.origin)) return { refused: `origin '${req.origin}' is not allowed` };
  const methods = policy.allowMethods ?? ['*'];
  if (!methods.includes('*') && !methods.some((m) => m.toUpperCase() === req.method.toUpperCase())) return { refused: `method '${req.method}' is not allowed` };
  const allowed = (policy.allowHeaders ?? []).map((h) => h.toLowerCase());
  if (!allowed.includes('*')) {
    const missing = req.headers.find((h) => !allowed.includes(h));
    if (missing !== undefined) return { refused: `request header '${missing}' is not allowed` };
  }
  // Answered by name, not `*`: with credentials a browser reads `*` as a name.
  const headers = ['access-control-allow-origin', req.origin, 'access-control-allow-methods', req.method, 'vary', 'Origin'];
  if (req.headers.length) headers.push('access-control-allow-headers', req.headers.join(', '));
  if (policy.allowCredentials) headers.push('access-control-allow-credentials', 'true');
  headers.push('access-control-max-age', String(policy.maxAge ?? 600));
  return { headers };
}

/**
 * The CORS headers of an actual (or simple) answer: the origin itself (never `*`, so credentials
 * work and caches keep answers apart by `Vary: Origin`) when admitted; only `Vary` when not.
 */
export function responseCorsHeaders(policy: CorsPolicy, origin: string | undefined): string[] {
  if (origin === undefined || !originAllowed(policy, origin)) return ['vary', 'Origin'];
  const headers = ['access-control-allow-origin', origin, 'vary', 'Origin'];
  if (policy.allowCredentials) headers.push('access-control-allow-credentials', 'true');
  if (policy.exposeHeaders?.length) headers.push('access-control-expose-headers', policy.exposeHeaders.join(', '));
  return headers;
}

/** `Access-Control-Request-Headers` as the list of names it holds (lower case, no empties). */
export function requestedHeaders(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
}
