import { codes } from '../errors/index.js';
import type { Access } from '../auth/index.js';
import type { RouteDef } from './route.js';

const problemSchema = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail', 'code'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string', enum: Object.keys(codes) },
    instance: { type: 'string' },
  },
};

const archiveTypes = ['application/x-tar', 'application/gzip', 'application/zip', 'application/x-docker-archive', 'application/vnd.oci.image.layout.v1+tar'];

/** The API's operations, built from the route table, so the two cannot drift. */
export function apiOperations(routes: Array<{ def: RouteDef; access: Access }>): Record<string, Record<string, Record<string, unknown>>> {
  const paths: Record<string, Record<string, Record<string, unknown>>> = {};
  for (const { def: r, access } of routes) {
    const names = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
    const params = names.map((name, i) => ({ name, in: 'path', required: true, schema: { type: 'string' }, ...(r.rest && i === names.length - 1 ? { description: 'the rest of the path: may hold `/` (as is, or as %2F)' } : {}) }));
    for (const q of r.query ?? []) params.push({ name: q.name, in: 'query', required: false, schema: { type: q.type ?? 'string' } } as never);
    const op: Record<string, unknown> = {
      operationId: `${r.method.toLowerCase()}${r.path.replace(/\{(\w+)\}/g, 'By-$1').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c?: string) => (c ? c.toUpperCase() : ''))}`,
      summary: r.summary,
      tags: [r.tag],
      parameters: params,
      security: access.kind === 'public' ? [] : [{ bearer: [] }],
      'x-ferry-access': access,
      responses: {
        [String(r.success.status)]: { description: r.success.description, ...(r.success.status === 204 ? {} : { content: { [r.success.contentType ?? 'application/json']: {} } }) },
        default: { description: 'An error', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
      },
    };
    if (r.body === 'archive') op.requestBody = { required: true, content: Object.fromEntries(archiveTypes.map((t) => [t, { schema: { type: 'string', format: 'binary' } }])) };
    if (r.body === 'binary') op.requestBody = { required: true, content: { '*/*': { schema: { type: 'string', format: 'binary' } } } };
    if (r.body === 'json') op.requestBody = { required: true, content: { 'application/json': { schema: r.bodySchema ?? { type: 'object' } } } };
    (paths[r.path] ??= {})[r.method.toLowerCase()] = op;
  }
  return paths;
}

/** An OpenAPI 3.1 document around `paths` (the operations of every HTTP surface that is on). */
export function openApiDocument(paths: Record<string, Record<string, unknown>>, version: string): object {
  return {
    openapi: '3.1.0',
    info: { title: 'Ferry API', version, description: 'Ferry over HTTP: the management API (/v1) and the invocation surfaces (/fn/{name}[@{ref}]/..., host names)' },
    paths,
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } }, schemas: { Problem: problemSchema } },
  };
}

/** The document of the API alone (a server's own document covers all its surfaces). */
export function buildOpenApi(routes: Array<{ def: RouteDef; access: Access }>, version: string): object {
  return openApiDocument(apiOperations(routes), version);
}
