import { FerryError } from '../../errors/index.js';
import { executionStatuses, type ExecutionRecord, type ExecutionStatus } from '../../core/index.js';
import { isAdmin, onFunction, withoutFerryCredentials, type Principal } from '../../auth/index.js';
import { acceptedAnswer, asyncOptions, readBody, storedRequest, type Executions, type FunctionService } from '../../service/index.js';
import type { RouteDef } from '../route.js';
import { executionSummary, executionView, type ExecutionReader } from '../execution-views.js';

function intParam(raw: string | null, dflt: number, min: number, max: number, name: string): number {
  if (raw === null || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new FerryError('invalid-query', `${name}: '${raw.slice(0, 40)}' is not an integer from ${min} to ${max}`);
  return n;
}

/** The paging query of the execution lists. */
const pageQuery = [
  { name: 'cursor', description: '`next` of the previous page' },
  { name: 'limit', description: 'page size (default 50, at most 1000)', type: 'integer' as const },
];

function pageParams(q: URLSearchParams): { limit: number; before: number | undefined } {
  const cursor = q.get('cursor');
  return { limit: intParam(q.get('limit'), 50, 1, 1000, 'limit'), before: cursor === null ? undefined : intParam(cursor, 0, 1, Number.MAX_SAFE_INTEGER, 'cursor') };
}

/** Every header but Ferry's credentials: on the API, Authorization is always Ferry's (every copy). */
function withoutAuthorization(raw: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() !== 'authorization') out.push(raw[i]!, raw[i + 1]!);
  return withoutFerryCredentials(out) ?? out;
}

/** Asynchronous executions: submit, read (long-poll), list, cancel; the callback signing key. */
export function makeExecutionRoutes(svc: FunctionService, ex: () => Executions, maxBodyBytes: number): RouteDef[] {
  /** What `p` (undefined: a public execution read with no token) may see of `rec`. */
  const readerOf = (p: Principal | undefined, rec: ExecutionRecord): ExecutionReader => {
    const config = svc.catalog.target(rec.function, rec.version)?.config;
    const credentials = ex().credentialHeaders;
    return {
      mayRead: p !== undefined && onFunction(p, 'read', svc.catalog.owner(rec.function) ?? '') === 'yes',
      verboseErrors: config?.errors === 'verbose',
      headers: config?.recordCredentials ? (flat) => flat : (flat) => credentials.redact(flat),
    };
  };
  /** The functions `p` may read: just `fn` when given (404 when `p` may not), undefined for all of them. */
  const readableFunctions = async (p: Principal, fn: string | undefined): Promise<string[] | undefined> => {
    if (fn !== undefined) {
      if (onFunction(p, 'read', svc.catalog.owner(fn) ?? '') !== 'yes') throw new FerryError('function-not-found', `no function named '${fn}'`);
      return [fn];
    }
    return isAdmin(p) ? undefined : (await svc.listFunctions(p)).map((f) => f.name);
  };
  const found = async (id: string) => {
    const rec = await ex().get(id);
    if (!rec) throw new FerryError('execution-not-found', `no execution '${id}'`);
    return rec;
  };
  return [
    {
      method: 'POST', path: '/v1/functions/{name}/executions', tag: 'executions',
      summary: 'Run the function asynchronously: the body (any type) is its request body; 202 once stored',
      query: [
        { name: 'ref', description: 'version or alias (default: latest)' },
        { name: 'path', description: 'path and query the function sees (default /)' },
        { name: 'method', description: 'HTTP method the function sees (default POST)' },
      ],
      success: { status: 202, description: '`{id, status, location}`; Location: /v1/executions/{id}' },
      handler: async (c) => {
        const target = svc.resolve(c.params.name!, c.query.get('ref') ?? undefined);
        const path = c.query.get('path') ?? '/';
        if (!path.startsWith('/') || path.length > 4096) throw new FerryError('invalid-query', 'path: must start with / (at most 4096 characters)');
        const method = (c.query.get('method') ?? 'POST').toUpperCase();
        if (!/^[A-Z]{1,16}$/.test(method)) throw new FerryError('invalid-query', `method: '${method.slice(0, 20)}' is not an HTTP method`);
        const headers = withoutAuthorization(c.req.rawHeaders);
        const opts = asyncOptions(headers, ex().policy);
        const body = await readBody(c.req, maxBodyBytes);
        const out = await ex().submit({ target, public: false, request: storedRequest(method, path, headers, body), ...opts });
        const answer = acceptedAnswer(out, false);
        return { status: 202, headers: answer.headers, body: answer.body };
      },
    },
    {
      method: 'GET', path: '/v1/functions/{name}/callback-key', tag: 'executions',
      summary: 'The key the callbacks of this function are signed with (HMAC-SHA256)',
      success: { status: 200, description: '`{function, key, algorithm, header}`' },
      handler: async (c) => ({
        body: { function: c.params.name!, key: await ex().callbackKey(c.params.name!), algorithm: 'HMAC-SHA256', header: 'Ferry-Signature', signed: '<t>.<body>' },
      }),
    },
    {
      method: 'GET', path: '/v1/executions', tag: 'executions',
      summary: 'Executions, newest first, of the functions the caller may read',
      query: [
        { name: 'function', description: 'only this function' },
        { name: 'status', description: 'queued, running, succeeded, failed, timed-out or cancelled' },
        ...pageQuery,
      ],
      success: { status: 200, description: '`{executions: [...], next}`' },
      handler: async (c) => {
        const p = c.principal!;
        const fn = c.query.get('function') ?? undefined;
        const status = c.query.get('status') ?? undefined;
        if (status !== undefined && !executionStatuses.includes(status as ExecutionStatus)) throw new FerryError('invalid-query', `status: must be one of ${executionStatuses.join(', ')}`);
        const { limit, before } = pageParams(c.query);
        const functions = await readableFunctions(p, fn);
        // One more than asked: whether there is a next page is known without an empty last page.
        const list = await ex().list({ function: fn, functions, status: status as ExecutionStatus | undefined, before, limit: limit + 1 });
        const page = list.slice(0, limit);
        const next = list.length > limit ? String(page.at(-1)!.seq) : null;
        return { body: { executions: page.map(executionSummary), next } };
      },
    },
    {
      method: 'GET', path: '/v1/dead-letters', tag: 'executions',
      summary: 'Dead letters: executions whose runs failed for good (retries spent), newest first, of the functions the caller may read',
      query: [
        { name: 'function', description: 'only this function' },
        ...pageQuery,
      ],
      success: { status: 200, description: '`{deadLetters: [...], next}`' },
      handler: async (c) => {
        const { limit, before } = pageParams(c.query);
        const functions = await readableFunctions(c.principal!, c.query.get('function') ?? undefined);
        const page = await ex().deadLetters({ functions, before, limit });
        const deadLetters = page.items.map((d) => ({ ...executionSummary(d.execution), deadLetter: { reason: d.reason, deliveries: d.deliveries, at: new Date(d.at).toISOString() } }));
        return { body: { deadLetters, next: page.next === null ? null : String(page.next) } };
      },
    },
    {
      method: 'POST', path: '/v1/executions/{id}/redrive', tag: 'executions',
      summary: 'Re-drive a dead letter: the execution is queued again at once, its retries afresh',
      success: { status: 200, description: 'The execution, queued again' },
      handler: async (c) => {
        const rec = await ex().redrive(c.params.id!);
        return { body: executionView(rec, undefined, readerOf(c.principal, rec)) };
      },
    },
    {
      method: 'GET', path: '/v1/executions/{id}', tag: 'executions',
      summary: 'One execution: status, result, timings, attempts, callback and its log lines; wait=N long-polls',
      query: [
        { name: 'wait', description: 'seconds (at most 60) to wait for the execution to end', type: 'integer' },
        { name: 'logs', description: '0: leave the log lines out', type: 'boolean' },
      ],
      success: { status: 200, description: 'The execution' },
      handler: async (c) => {
        const id = c.params.id!;
        const wait = intParam(c.query.get('wait'), 0, 0, 60, 'wait');
        let gone = false;
        // The response closing before it finished: the client went away.
        c.res.once('close', () => (gone = !c.res.writableFinished));
        const rec = wait > 0 ? await ex().wait(id, wait * 1000, () => gone) : await ex().get(id);
        if (!rec) throw new FerryError('execution-not-found', `no execution '${id}'`);
        const reader = readerOf(c.principal, rec);
        // The function's log lines are for its readers: they hold what it printed and threw.
        const withLogs = reader.mayRead && !/^(0|false|no)$/i.test(c.query.get('logs') ?? '');
        return { body: executionView(rec, withLogs ? await ex().logsOf(rec) : undefined, reader) };
      },
    },
    {
      method: 'DELETE', path: '/v1/executions/{id}', tag: 'executions',
      summary: 'Cancel a queued execution',
      success: { status: 200, description: 'The cancelled execution' },
      handler: async (c) => {
        const rec = await ex().cancel(c.params.id!);
        return { body: executionView(rec, undefined, readerOf(c.principal, rec)) };
      },
    },
    {
      method: 'GET', path: '/v1/executions/{id}/result', tag: 'executions',
      summary: "The result body as the function answered it (its Content-Type), whatever its size",
      success: { status: 200, description: 'The body; X-Ferry-Result-Status carries the status the function answered', contentType: 'application/octet-stream' },
      handler: async (c) => {
        const rec = await found(c.params.id!);
        const body = rec.result ? await ex().resultBody(rec.id) : undefined;
        if (!rec.result || !body) throw new FerryError('no-result', `execution '${rec.id}' is ${rec.status} and has no result`);
        let type = 'application/octet-stream';
        for (let i = 0; i < rec.result.headers.length; i += 2) if (rec.result.headers[i]!.toLowerCase() === 'content-type') type = rec.result.headers[i + 1]!;
        c.res.writeHead(200, { 'content-type': type, 'content-length': body.length, 'x-ferry-result-status': String(rec.result.status) });
        c.res.end(c.req.method === 'HEAD' ? undefined : body);
        return undefined;
      },
    },
  ];
}
