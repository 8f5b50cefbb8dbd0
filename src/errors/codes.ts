/**
 * The one registry of Ferry's error codes. Every error answer carries one of these codes in
 * `application/problem+json`; `docs/errors.md` documents each, and a test keeps the two in step.
 */
export const codes = {
  // request shape
  'malformed-json': { status: 400, title: 'The request body is not valid JSON' },
  'invalid-body': { status: 422, title: 'The request body does not have the expected shape' },
  'unsupported-media-type': { status: 415, title: 'The Content-Type is not accepted here' },
  'invalid-name': { status: 422, title: 'A name does not match [a-z0-9][a-z0-9-]{0,62}' },
  'invalid-manifest': { status: 422, title: 'The ferry.json manifest is invalid' },
  'invalid-env': { status: 422, title: 'An environment variable name is reserved or invalid' },
  'invalid-query': { status: 400, title: 'A query parameter is invalid' },
  'body-too-large': { status: 413, title: 'The request body exceeds the size limit' },
  // archives and builds
  'archive-invalid': { status: 422, title: 'The archive cannot be read' },
  'archive-unsafe-path': { status: 422, title: 'The archive holds a path outside the package' },
  'archive-unsafe-link': { status: 422, title: 'The archive holds a link that resolves outside the package' },
  'archive-unsafe-entry': { status: 422, title: 'The archive holds a device, fifo or other special entry' },
  'archive-too-many-entries': { status: 413, title: 'The archive holds too many entries' },
  'archive-too-large': { status: 413, title: 'The archive unpacks to more than the size limit' },
  'build-failed': { status: 422, title: 'The build step of the version failed' },
  // auth
  'unauthorized': { status: 401, title: 'A bearer token is required' },
  'invalid-token': { status: 401, title: 'The bearer token was not issued by this server' },
  'token-malformed': { status: 401, title: 'The bearer token is malformed' },
  'token-expired': { status: 401, title: 'The bearer token has expired' },
  'token-revoked': { status: 401, title: 'The bearer token was revoked' },
  'invalid-credentials': { status: 401, title: 'The user name or password is wrong' },
  'too-many-attempts': { status: 429, title: 'Too many failed attempts; retry later' },
  'registration-closed': { status: 403, title: 'This server does not take registrations' },
  'invalid-invite': { status: 403, title: 'The invite is unknown, used or expired' },
  'weak-password': { status: 422, title: 'The password is too short or too long' },
  'forbidden': { status: 403, title: 'The token does not allow this action' },
  'quota-exceeded': { status: 403, title: "The owning group's quota does not allow this" },
  // resources
  'route-not-found': { status: 404, title: 'No route matches this path' },
  'method-not-allowed': { status: 405, title: 'The route does not accept this method' },
  'function-not-found': { status: 404, title: 'No such function' },
  'version-not-found': { status: 404, title: 'No such version of the function' },
  'alias-not-found': { status: 404, title: 'No such alias of the function' },
  'user-not-found': { status: 404, title: 'No such user' },
  'invocation-not-found': { status: 404, title: 'No such invocation in the history' },
  'schedule-not-found': { status: 404, title: 'No such schedule of the function' },
  'token-not-found': { status: 404, title: 'No such token' },
  'user-exists': { status: 409, title: 'A user with this name already exists' },
  'name-taken': { status: 409, title: 'The function name belongs to another group' },
  'name-conflict': { status: 409, title: 'The name is a function the compat API did not create, or one a case apart' },
  'secret-not-found': { status: 404, title: 'No such secret in the group' },
  'secret-exists': { status: 409, title: 'A secret with this name already exists in the group' },
  'secret-unavailable': { status: 422, title: 'A secret the version lists does not exist or may not be read by its owner' },
  'object-not-found': { status: 404, title: 'No such object of the function' },
  'invalid-key': { status: 422, title: 'The object key is invalid' },
  'object-too-large': { status: 413, title: 'The object exceeds the size limit' },
  'version-exists': { status: 409, title: 'The version already exists; versions are immutable' },
  'version-in-use': { status: 409, title: 'An alias still points at this version' },
  'invalid-alias': { status: 422, title: 'The alias is reserved or its target is invalid' },
  // invocation
  'queue-full': { status: 503, title: 'All instances are busy and the wait queue is full' },
  'invoke-timeout': { status: 504, title: 'The function did not answer within its timeout' },
  'instance-crashed': { status: 502, title: 'The instance serving the request exited' },
  'instance-oom': { status: 502, title: 'The instance was killed for using more memory than limits.memoryMb' },
  'instance-start-failed': { status: 502, title: 'An instance of the function could not start' },
  'function-error': { status: 500, title: 'The function raised an error' },
  'shutting-down': { status: 503, title: 'The server is shutting down' },
  // asynchronous executions
  'invalid-header': { status: 400, title: 'A request header is invalid' },
  'callback-refused': { status: 422, title: 'The callback URL points at a loopback, private or local address' },
  // fetching a package from a URL (tinyFaaS's uploadURL)
  'url-refused': { status: 422, title: 'The URL points at a loopback, private or local address, or is not http(s)' },
  'url-fetch-failed': { status: 502, title: 'The archive could not be fetched from the URL' },
  'execution-queue-full': { status: 429, title: 'Too many executions are queued or running' },
  'execution-not-found': { status: 404, title: 'No such execution' },
  'execution-not-cancellable': { status: 409, title: 'Only a queued execution can be cancelled' },
  'no-result': { status: 404, title: 'The execution has no result' },
  'internal': { status: 500, title: 'An internal error occurred' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof codes;
