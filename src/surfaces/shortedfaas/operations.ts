import type { OpenApiPaths, SurfaceRoute } from '../surface.js';

const about: Record<string, { id: string; summary: string; responses: Record<string, string> }> = {
  '/f/{name}': { id: 'shortedfaasCall', summary: 'Call the function of the deploy folder {name}: the body is its input', responses: { '200': 'stdout (a program that exited 0), or what the lambda returned', '415': 'the Content-Type is not one run.json accepts', '500': 'the program exited non-zero or the lambda threw: no body' } },
  '/a/{name}': { id: 'shortedfaasCallAsync', summary: 'Call it in the background; X-Callback-Url and X-Task-Token post {"output", "task-token"} when done', responses: { '202': '{id, status, location}; the result is at /r/{name}/{id}' } },
  '/r/{name}/{id}': { id: 'shortedfaasResult', summary: 'The result of an asynchronous call', responses: { '200': 'the output', '202': 'not finished yet', '500': 'it failed: no body' } },
  '/history': { id: 'shortedfaasHistory', summary: 'The last calls of the functions of the deploy folder (?limit=N, default 100)', responses: { '200': '[{id, function, time, exitCode, status}], newest first' } },
  '/history/{id}': { id: 'shortedfaasHistoryCall', summary: 'One call: exit code, HTTP status, what it wrote to stderr; with auth on and recordPayloads, its input and output', responses: { '200': '{id, function, time, exitCode, status, errors, http, input?, output?}', '404': 'no such call of a ShortedFaaS function' } },
  '/list': { id: 'shortedfaasList', summary: 'The functions of the deploy folder', responses: { '200': '[{name, route, kind, runtime, version, accepts}]' } },
};

/** The OpenAPI operations of the ShortedFaaS surface. */
export function shortedOperations(routes: readonly SurfaceRoute[]): OpenApiPaths {
  const out: OpenApiPaths = {};
  for (const r of routes) {
    const a = about[r.path]!;
    const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    out[r.path] = {
      [r.method.toLowerCase()]: {
        operationId: a.id,
        summary: a.summary,
        tags: ['shortedfaas'],
        parameters: params,
        security: r.access.kind === 'public' ? [{}] : [{}, { bearer: [] }],
        'x-ferry-access': r.access,
        responses: Object.fromEntries(Object.entries(a.responses).map(([k, d]) => [k, { description: d }])),
      },
    };
  }
  return out;
}
