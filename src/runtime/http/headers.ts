/**
 * Header filtering for the HTTP proxy. Hop-by-hop headers (RFC 9110 §7.6.1) describe one
 * connection, not the message: the gateway's connection to the client and Ferry's connection to the
 * instance are different connections, so these never cross.
 */
const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Header names listed in a Connection header are hop-by-hop too. */
function connectionTokens(raw: string[]): Set<string> | undefined {
  let tokens: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length !== 10 || raw[i]!.toLowerCase() !== 'connection') continue;
    for (const t of raw[i + 1]!.split(',')) {
      const name = t.trim().toLowerCase();
      if (name) (tokens ??= new Set()).add(name);
    }
  }
  return tokens;
}

/**
 * Request headers for the instance, flat as Node's `rawHeaders`. Drops hop-by-hop headers,
 * `expect` (the gateway already answered `100 Continue`) and any client `x-request-id`; adds
 * Ferry's `x-request-id` and, for a body of no declared length (it was chunked, or came from a
 * front end that did not say), `transfer-encoding: chunked`, so Node frames the body it re-sends
 * whatever the method (it frames a GET's body only when told).
 */
export function requestHeaders(raw: string[], requestId: string, hasBody: boolean): string[] {
  const extra = connectionTokens(raw);
  const out: string[] = [];
  let chunked = false;
  let sized = false;
  let host = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (hopByHop.has(lower) || extra?.has(lower)) {
      if (lower === 'transfer-encoding') chunked = true;
      continue;
    }
    if (lower === 'x-request-id' || lower === 'expect') continue;
    if (lower === 'host') host = true;
    if (lower === 'content-length') sized = true;
    out.push(name, raw[i + 1]!);
  }
  // HTTP/1.1 requires Host; stored (asynchronous) requests may lack one.
  if (!host) out.push('host', 'localhost');
  if (hasBody && (chunked || !sized)) out.push('transfer-encoding', 'chunked');
  out.push('x-request-id', requestId);
  return out;
}

/** Response headers for the client: the instance's headers minus hop-by-hop ones, plus `extra`. */
export function responseHeaders(raw: string[], extra: string[]): string[] {
  const tokens = connectionTokens(raw);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (hopByHop.has(lower) || tokens?.has(lower)) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  for (let i = 0; i < extra.length; i++) out.push(extra[i]!);
  return out;
}

/**
 * The request head of an Upgrade request, as bytes to write on a raw connection to the instance.
 * Keeps Upgrade and Connection (they are the point here) and sets Ferry's `x-request-id`.
 */
export function upgradeHead(method: string, url: string, raw: string[], requestId: string): string {
  let head = `${method} ${url} HTTP/1.1\r\n`;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === 'x-request-id') continue;
    head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  }
  return `${head}x-request-id: ${requestId}\r\n\r\n`;
}
