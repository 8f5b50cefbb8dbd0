/**
 * Which `ferry` command covers each route of the management API (`/v1`). A test walks the
 * server's OpenAPI document and fails on a route that is in neither table, or on a command here
 * that the program does not have, so a new route cannot ship without its command.
 */
export const routeCommands: Record<string, string> = {
  'GET /v1/openapi.json': 'openapi',
  'GET /v1/errors': 'errors',
  'POST /v1/auth/register': 'register',
  'POST /v1/auth/login': 'login',
  'GET /v1/auth/whoami': 'whoami',
  'POST /v1/auth/invites': 'invites create',
  'GET /v1/users': 'users list',
  'POST /v1/users': 'users create',
  'GET /v1/users/{name}': 'users get',
  'PATCH /v1/users/{name}': 'users set',
  'DELETE /v1/users/{name}': 'users rm',
  'POST /v1/tokens': 'tokens create',
  'GET /v1/tokens': 'tokens list',
  'DELETE /v1/tokens/{id}': 'tokens revoke',
  'POST /v1/secrets': 'secrets create',
  'GET /v1/secrets': 'secrets list',
  'PUT /v1/secrets/{name}': 'secrets set',
  'DELETE /v1/secrets/{name}': 'secrets rm',
  'GET /v1/functions': 'functions list',
  'GET /v1/functions/{name}': 'functions get',
  'PATCH /v1/functions/{name}': 'functions owner',
  'DELETE /v1/functions/{name}': 'delete',
  'POST /v1/functions/{name}/versions': 'deploy',
  'PUT /v1/functions/{name}/versions/{version}': 'deploy',
  'GET /v1/functions/{name}/versions': 'versions list',
  'GET /v1/functions/{name}/versions/{version}': 'versions get',
  'PATCH /v1/functions/{name}/versions/{version}': 'config set',
  'DELETE /v1/functions/{name}/versions/{version}': 'versions rm',
  'GET /v1/functions/{name}/versions/{version}/build-log': 'versions build-log',
  'POST /v1/functions/{name}/versions/{version}/start': 'start',
  'POST /v1/functions/{name}/versions/{version}/stop': 'stop',
  'GET /v1/functions/{name}/instances': 'instances',
  'GET /v1/pool': 'pool',
  'GET /v1/cluster': 'cluster status',
  'GET /v1/functions/{name}/aliases': 'aliases list',
  'PUT /v1/functions/{name}/aliases/{alias}': 'aliases set',
  'DELETE /v1/functions/{name}/aliases/{alias}': 'aliases rm',
  'GET /v1/functions/{name}/logs': 'logs',
  'GET /v1/functions/{name}/objects': 'objects ls',
  'PUT /v1/functions/{name}/objects/{key}': 'objects put',
  'GET /v1/functions/{name}/objects/{key}': 'objects get',
  'DELETE /v1/functions/{name}/objects/{key}': 'objects rm',
  'GET /v1/invocations': 'invocations list',
  'GET /v1/invocations/{id}': 'invocations get',
  'PUT /v1/functions/{name}/schedules/{id}': 'schedules set',
  'GET /v1/functions/{name}/schedules': 'schedules list',
  'GET /v1/functions/{name}/schedules/{id}': 'schedules get',
  'DELETE /v1/functions/{name}/schedules/{id}': 'schedules rm',
  'POST /v1/functions/{name}/executions': 'executions start',
  'GET /v1/functions/{name}/callback-key': 'executions callback-key',
  'GET /v1/executions': 'executions list',
  'GET /v1/executions/{id}': 'executions get',
  'DELETE /v1/executions/{id}': 'executions cancel',
  'GET /v1/executions/{id}/result': 'executions result',
  'POST /v1/run': 'run',
  'GET /v1/traffic': 'traffic',
  'GET /v1/dead-letters': 'executions dead-letters',
  'POST /v1/executions/{id}/redrive': 'executions redrive',
  'GET /v1/functions/{name}/traffic': 'traffic',
};

/**
 * Routes no command covers, and why (docs/cli.md lists them too). A browser session's refresh
 * token is for programs that hold a login session; the CLI trades its login for an API token
 * (`ferry login`), which `ferry logout` revokes through `DELETE /v1/tokens/{id}`.
 */
export const uncoveredRoutes: Record<string, string> = {
  'POST /v1/auth/refresh': 'the CLI keeps an API token, not a refresh token (ferry login)',
  'POST /v1/auth/logout': 'the CLI keeps an API token, not a refresh token; ferry logout revokes it',
  'POST /v1/auth/session': "the web dashboard's cookie session; the CLI keeps an API token",
  'GET /v1/auth/session': "the web dashboard's cookie session; the CLI keeps an API token",
  'DELETE /v1/auth/session': "the web dashboard's cookie session; the CLI keeps an API token",
};
