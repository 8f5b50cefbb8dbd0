/**
 * The control headers of a call a gateway hands a worker. The function's own request goes as it
 * is (method, path, headers, body); these ride beside it, and a client can never set them: the
 * gateway drops every request header with this prefix before adding its own.
 */
export const CLUSTER_HEADER_PREFIX = 'x-ferry-cluster-';

export const clusterHeaders = {
  /** The token of `cluster-auth.ts`. */
  auth: 'x-ferry-cluster-auth',
  function: 'x-ferry-cluster-function',
  version: 'x-ferry-cluster-version',
  /** The target's revision as the gateway resolved it: a worker behind on the change feed catches up. */
  revision: 'x-ferry-cluster-revision',
  requestId: 'x-ferry-cluster-request-id',
  /** `1`: an asynchronous run (it waits behind synchronous calls for an instance). */
  background: 'x-ferry-cluster-background',
  /** On an answer: the worker could not run the call; the code of its FerryError (the body says why). */
  error: 'x-ferry-cluster-error',
} as const;

/** The headers of `raw` (flat) without any cluster control header. */
export function withoutClusterHeaders(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length > CLUSTER_HEADER_PREFIX.length && name.toLowerCase().startsWith(CLUSTER_HEADER_PREFIX)) continue;
    out.push(name, raw[i + 1]!);
  }
  return out;
}

/** The first value of header `name` (lower case) in a flat list. */
export function headerValue(raw: readonly string[], name: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) return raw[i + 1];
  return undefined;
}
