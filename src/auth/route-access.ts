import type { Permission } from './principal.js';

/**
 * What a route needs:
 * - `public`: nothing;
 * - `signed-in`: any valid token; the handler scopes what it answers to the caller (own tokens,
 *   own user record; admins see all);
 * - `global`: a permission, whatever the object;
 * - `function`: a permission on the function named by `{name}`, and membership in its owning
 *   group (admins: any). A function the caller may not read answers 404, as if it did not exist;
 *   `creates` routes may name a new function, and on a name held by a group the caller cannot
 *   read answer 409 `name-taken`; `instance` routes are also open to the function's own instance
 *   token (every other route refuses one);
 * - `execution`: on the execution named by `{id}`: nothing for one a public invocation created
 *   (its random id is the credential), else the permission on its function as for `function`
 *   (an execution of a function the caller may not read answers 404);
 * - `invocation`: a route of a surface that invokes functions (`/fn`, host names): what the
 *   function's `invoke` setting and `--invoke-auth` ask, checked by the invocation pipeline:
 *   nothing for a public function, else `execute` on it and membership in its owning group (a
 *   function the caller may not read answers 404).
 */
export type Access =
  | { kind: 'public' }
  | { kind: 'signed-in' }
  | { kind: 'global'; perm: Exclude<Permission, 'public'> }
  | { kind: 'function'; perm: Exclude<Permission, 'public'>; creates?: boolean; instance?: boolean }
  | { kind: 'execution'; perm: Exclude<Permission, 'public'> }
  | { kind: 'invocation' };

/** The row of every route that invokes a function (see `invocation` above). */
export const invocationAccess: Access = { kind: 'invocation' };

const pub: Access = { kind: 'public' };
const signedIn: Access = { kind: 'signed-in' };
const global = (perm: Exclude<Permission, 'public'>): Access => ({ kind: 'global', perm });
const fn = (perm: Exclude<Permission, 'public'>, creates = false): Access => ({ kind: 'function', perm, ...(creates ? { creates } : {}) });
/** A function route the function's own instances may use with their instance token. */
const objects = (perm: 'read' | 'write'): Access => ({ kind: 'function', perm, instance: true });
const execution = (perm: Exclude<Permission, 'public'>): Access => ({ kind: 'execution', perm });

/**
 * The one permission table: every route of the API, by `METHOD path`, and what it needs. The
 * router refuses to start with a route missing here, and a test walks every route against
 * every role.
 */
export function routeAccess(o: { metricsPublic: boolean }): Record<string, Access> {
  return {
    'GET /healthz': pub,
    'GET /v1/openapi.json': pub,
    'GET /v1/errors': pub,
    'GET /metrics': o.metricsPublic ? pub : global('read'),

    'POST /v1/auth/register': pub,
    'POST /v1/auth/login': pub,
    'POST /v1/auth/refresh': pub,
    'POST /v1/auth/logout': pub,
    'GET /v1/auth/whoami': signedIn,
    'POST /v1/auth/invites': global('admin'),
    // The dashboard's cookie session (api/browser-sessions.ts): log in, read its CSRF token, log out.
    'POST /v1/auth/session': pub,
    'GET /v1/auth/session': signedIn,
    'DELETE /v1/auth/session': signedIn,

    'GET /v1/users': global('admin'),
    'POST /v1/users': global('admin'),
    'GET /v1/users/{name}': signedIn,
    'PATCH /v1/users/{name}': signedIn,
    'DELETE /v1/users/{name}': global('admin'),

    'POST /v1/tokens': signedIn,
    'GET /v1/tokens': signedIn,
    'DELETE /v1/tokens/{id}': signedIn,

    'GET /v1/functions': global('read'),
    'GET /v1/functions/{name}': fn('read'),
    'PATCH /v1/functions/{name}': fn('write'),
    'DELETE /v1/functions/{name}': fn('remove'),
    'POST /v1/functions/{name}/versions': fn('write', true),
    'PUT /v1/functions/{name}/versions/{version}': fn('write', true),
    'GET /v1/functions/{name}/versions': fn('read'),
    'GET /v1/functions/{name}/versions/{version}': fn('read'),
    'PATCH /v1/functions/{name}/versions/{version}': fn('write'),
    'DELETE /v1/functions/{name}/versions/{version}': fn('remove'),
    'GET /v1/functions/{name}/versions/{version}/build-log': fn('read'),
    'POST /v1/functions/{name}/versions/{version}/start': fn('write'),
    'POST /v1/functions/{name}/versions/{version}/stop': fn('write'),
    'GET /v1/functions/{name}/aliases': fn('read'),
    'PUT /v1/functions/{name}/aliases/{alias}': fn('write'),
    'DELETE /v1/functions/{name}/aliases/{alias}': fn('remove'),
    'GET /v1/functions/{name}/instances': fn('read'),
    'GET /v1/functions/{name}/logs': fn('read'),
    'GET /v1/functions/{name}/objects': objects('read'),
    'PUT /v1/functions/{name}/objects/{key}': objects('write'),
    'GET /v1/functions/{name}/objects/{key}': objects('read'),
    // Objects are the function's data, as secrets are the group's: who may write them may delete them.
    'DELETE /v1/functions/{name}/objects/{key}': objects('write'),
    'GET /v1/pool': global('read'),
    // Node addresses and load: the operator's business.
    'GET /v1/cluster': global('admin'),
    // Per-minute traffic (observe/traffic-series.ts): the summary lists only functions the caller may read.
    'GET /v1/traffic': global('read'),
    'GET /v1/functions/{name}/traffic': fn('read'),

    // The history lists only what the caller may read; one entry of another's function is 404.
    'GET /v1/invocations': global('read'),
    'GET /v1/invocations/{id}': global('read'),
    'PUT /v1/functions/{name}/schedules/{id}': fn('write'),
    'GET /v1/functions/{name}/schedules': fn('read'),
    'GET /v1/functions/{name}/schedules/{id}': fn('read'),
    'DELETE /v1/functions/{name}/schedules/{id}': fn('remove'),

    // Secrets: the handler also requires membership in the owning group.
    'POST /v1/secrets': global('write'),
    'GET /v1/secrets': global('read'),
    'PUT /v1/secrets/{name}': global('write'),
    'DELETE /v1/secrets/{name}': global('write'),

    'POST /v1/functions/{name}/executions': fn('execute'),
    'GET /v1/functions/{name}/callback-key': fn('write'),
    'GET /v1/executions': global('read'),
    'GET /v1/executions/{id}': execution('read'),
    'DELETE /v1/executions/{id}': execution('execute'),
    'GET /v1/executions/{id}/result': execution('read'),
    'GET /v1/dead-letters': global('read'),
    'POST /v1/executions/{id}/redrive': execution('execute'),

    // Ad-hoc commands: off unless --allow-run; they belong to no function.
    'POST /v1/run': global('execute'),
  };
}
