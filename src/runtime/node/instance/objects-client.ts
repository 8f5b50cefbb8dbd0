/**
 * The instance's client of Ferry: `ctx.objects`, `ctx.fetch` and `ctx.call`. Everything goes
 * over the instance's Unix socket (FERRY_API_SOCKET), the one way to Ferry whatever the network
 * policy; the server acts on it with the instance's own token, so nothing here handles one.
 * Runs inside the instance: Node built-ins only.
 */
import http from 'node:http';
import { Readable } from 'node:stream';

/** What listings and puts answer about an object. */
export interface ObjectInfo {
  key: string;
  size: number;
  contentType: string;
  etag: string;
  sha256: string;
  createdAt: string;
  updatedAt: string;
}

/** An object read with `get`: consume `body` (or one of the readers) once. */
export interface StoredObject {
  body: ReadableStream<Uint8Array>;
  contentType: string;
  etag: string;
  size: number;
  text(): Promise<string>;
  json(): Promise<unknown>;
  arrayBuffer(): Promise<ArrayBuffer>;
  bytes(): Promise<Uint8Array>;
}

export type ApiBody = string | Uint8Array | ArrayBuffer | Blob | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | null | undefined;

export interface ApiInit {
  method?: string;
  headers?: Record<string, string> | Headers | Array<[string, string]>;
  body?: ApiBody;
  signal?: AbortSignal;
}

/** A refusal from Ferry: the problem document's status, code and detail. */
export class FerryApiError extends Error {
  override name = 'FerryApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
  ) {
    super(`${status} ${code}: ${detail}`);
  }
}

export interface ObjectsClient {
  put(key: string, body: ApiBody, opts?: { contentType?: string }): Promise<ObjectInfo>;
  get(key: string): Promise<StoredObject | undefined>;
  delete(key: string): Promise<boolean>;
  /** Every object under the prefix, in key order (all pages). */
  list(prefix?: string): Promise<ObjectInfo[]>;
  /** One page; pass the answered cursor back for the next, null on the last. */
  listPage(prefix?: string, opts?: { cursor?: string | null; limit?: number }): Promise<{ objects: ObjectInfo[]; cursor: string | null }>;
}

export interface InstanceClient {
  objects: ObjectsClient;
  /** A request to Ferry through the socket: `/fn/...` or this function's object routes. */
  fetch(path: string, init?: ApiInit): Promise<Response>;
  /** Calls another function (`name` or `name@ref`) at `path` (default `/`). */
  call(fn: string, init?: ApiInit & { path?: string }): Promise<Response>;
}

const fnRef = /^[a-z0-9][a-z0-9-]{0,62}(@[a-z0-9][a-z0-9-]{0,62})?$/;

/** The client for this instance, from its environment (FERRY_API_SOCKET, FERRY_API_URL, FERRY_FUNCTION). */
export function instanceClient(env: NodeJS.ProcessEnv): InstanceClient {
  const socket = env.FERRY_API_SOCKET;
  const base = env.FERRY_API_URL ?? 'http://ferry';
  const fn = env.FERRY_FUNCTION ?? '';
  const fetch = (path: string, init: ApiInit = {}): Promise<Response> => {
    if (!socket) return Promise.reject(new Error('this instance has no Ferry API socket (FERRY_API_SOCKET is not set)'));
    const p = path.startsWith(base) ? path.slice(base.length) : path;
    if (!p.startsWith('/')) return Promise.reject(new TypeError(`path '${path}' must start with /`));
    return request(socket, p, init);
  };
  const call = (target: string, init: ApiInit & { path?: string } = {}): Promise<Response> => {
    if (!fnRef.test(target)) return Promise.reject(new TypeError(`'${target}' is not a function name (name or name@ref)`));
    const { path = '/', ...rest } = init;
    return fetch(`/fn/${target}${path.startsWith('/') ? path : `/${path}`}`, rest);
  };
  return { objects: objectsClient(fetch, fn), fetch, call };
}

function objectsClient(fetch: InstanceClient['fetch'], fn: string): ObjectsClient {
  const root = `/v1/functions/${encodeURIComponent(fn)}/objects`;
  // The key as one segment (%2F for /): a `.` or `..` segment must reach Ferry to be refused, not be resolved away by URL rules.
  const at = (key: string): string => `${root}/${encodeURIComponent(key)}`;
  const listPage = async (prefix = '', opts: { cursor?: string | null; limit?: number } = {}) => {
    const q = new URLSearchParams({ prefix });
    if (opts.cursor) q.set('cursor', opts.cursor);
    if (opts.limit !== undefined) q.set('limit', String(opts.limit));
    const res = await fetch(`${root}?${q}`);
    if (!res.ok) throw await refusal(res);
    return (await res.json()) as { objects: ObjectInfo[]; cursor: string | null };
  };
  return {
    async put(key, body, opts = {}) {
      const type = opts.contentType ?? (typeof body === 'string' ? 'text/plain; charset=utf-8' : body instanceof Blob && body.type ? body.type : 'application/octet-stream');
      const res = await fetch(at(key), { method: 'PUT', headers: { 'content-type': type }, body: body ?? '' });
      if (!res.ok) throw await refusal(res);
      return (await res.json()) as ObjectInfo;
    },
    async get(key) {
      const res = await fetch(at(key));
      if (!res.ok) {
        const err = await refusal(res);
        if (err.code === 'object-not-found') return undefined;
        throw err;
      }
      const h = res.headers;
      return {
        body: res.body ?? new Blob([]).stream(),
        contentType: h.get('content-type') ?? 'application/octet-stream',
        etag: h.get('etag') ?? '',
        size: Number(h.get('content-length') ?? 0),
        text: () => res.text(),
        json: () => res.json(),
        arrayBuffer: () => res.arrayBuffer(),
        bytes: async () => new Uint8Array(await res.arrayBuffer()),
      };
    },
    async delete(key) {
      const res = await fetch(at(key), { method: 'DELETE' });
      if (res.ok) return true;
      const err = await refusal(res);
      if (err.code === 'object-not-found') return false;
      throw err;
    },
    async list(prefix = '') {
      const all: ObjectInfo[] = [];
      let cursor: string | null = null;
      do {
        const page: { objects: ObjectInfo[]; cursor: string | null } = await listPage(prefix, { cursor, limit: 1000 });
        all.push(...page.objects);
        cursor = page.cursor;
      } while (cursor);
      return all;
    },
    listPage,
  };
}

async function refusal(res: Response): Promise<FerryApiError> {
  const text = await res.text();
  try {
    const p = JSON.parse(text) as { code?: unknown; detail?: unknown };
    return new FerryApiError(res.status, typeof p.code === 'string' ? p.code : 'error', typeof p.detail === 'string' ? p.detail : text);
  } catch {
    return new FerryApiError(res.status, 'error', text.slice(0, 200));
  }
}

function headerList(h: ApiInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  if (h instanceof Headers) h.forEach((v, k) => (out[k] = v));
  else for (const [k, v] of Array.isArray(h) ? h : Object.entries(h)) out[k.toLowerCase()] = v;
  return out;
}

/** The body as bytes (with a known length) or a stream (sent chunked). */
function payload(body: ApiBody): Buffer | Readable | undefined {
  if (body === null || body === undefined) return undefined;
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof Blob) return Readable.fromWeb(body.stream() as import('node:stream/web').ReadableStream);
  if (body instanceof ReadableStream) return Readable.fromWeb(body as import('node:stream/web').ReadableStream);
  return Readable.from(body);
}

/** One HTTP request over the socket, answered as a web Response whose body streams. */
function request(socketPath: string, path: string, init: ApiInit): Promise<Response> {
  const method = (init.method ?? 'GET').toUpperCase();
  const headers = headerList(init.headers);
  const data = payload(init.body);
  if (Buffer.isBuffer(data)) headers['content-length'] = String(data.length);
  else if (init.body instanceof Blob) headers['content-length'] = String(init.body.size);
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, path, method, headers: { host: 'ferry', ...headers }, ...(init.signal ? { signal: init.signal } : {}) }, (res) => {
      const h = new Headers();
      for (let i = 0; i < res.rawHeaders.length; i += 2) h.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
      const status = res.statusCode ?? 502;
      const empty = method === 'HEAD' || status === 204 || status === 304;
      if (empty) res.resume();
      const body = empty ? null : (Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>);
      resolve(new Response(body, { status, statusText: res.statusMessage ?? '', headers: h }));
    });
    req.on('error', reject);
    if (data instanceof Readable) {
      data.on('error', (err) => req.destroy(err));
      data.pipe(req);
    } else req.end(data);
  });
}
