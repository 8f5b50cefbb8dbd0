import { pipeline } from 'node:stream/promises';
import type { ServerResponse } from 'node:http';
import { etagOf, matchesNoneMatch, type Objects } from '../../service/index.js';
import { isAdmin } from '../../auth/index.js';
import type { ObjectRecord } from '../../core/index.js';
import type { RouteDef } from '../route.js';

/** Headers of an object's answer. Stored types are the uploader's choice: never sniffed, never active. */
function objectHeaders(r: ObjectRecord): Record<string, string> {
  return {
    etag: etagOf(r),
    'last-modified': new Date(r.updatedAt).toUTCString(),
    'cache-control': 'private, no-cache',
    'x-content-type-options': 'nosniff',
    'content-security-policy': "sandbox; default-src 'none'",
  };
}

function head(res: ServerResponse, status: number, r: ObjectRecord): void {
  res.writeHead(status, status === 304 ? objectHeaders(r) : { ...objectHeaders(r), 'content-type': r.contentType, 'content-length': String(r.size) });
}

/**
 * Per-function objects: bodies stream both ways, keys span path segments (`{key}` is the rest of
 * the path). The function's own instances use these routes too, through their socket.
 */
export function makeObjectRoutes(objects: Objects): RouteDef[] {
  return [
    {
      method: 'GET', path: '/v1/functions/{name}/objects', tag: 'objects',
      summary: "List the function's objects under a prefix, a page at a time",
      query: [
        { name: 'prefix', description: 'only keys starting with this' },
        { name: 'cursor', description: 'the cursor of the previous page' },
        { name: 'limit', description: 'most objects per page (default 100, max 1000)', type: 'integer' },
      ],
      success: { status: 200, description: '`{objects: [{key, size, contentType, etag, sha256, createdAt, updatedAt}], cursor}`; cursor is null on the last page' },
      handler: async (c) => ({ body: await objects.list(c.params.name!, { prefix: c.query.get('prefix'), cursor: c.query.get('cursor'), limit: c.query.get('limit') }) }),
    },
    {
      method: 'PUT', path: '/v1/functions/{name}/objects/{key}', rest: true, tag: 'objects', body: 'binary',
      summary: 'Store an object (streamed; Content-Type kept, sha256 ETag); replaces one under the key',
      success: { status: 201, description: 'The object (200 when it replaced one)' },
      handler: async (c) => {
        // Admins are exempt from --quota-object-bytes, as from every quota.
        const { meta, created } = await objects.put(c.params.name!, c.params.key!, c.req.headers, c.req, { exempt: c.principal !== undefined && isAdmin(c.principal) });
        return { status: created ? 201 : 200, body: meta, headers: { etag: meta.etag } };
      },
    },
    {
      method: 'GET', path: '/v1/functions/{name}/objects/{key}', rest: true, tag: 'objects',
      summary: 'Read an object (streamed); If-None-Match with its ETag answers 304',
      success: { status: 200, description: 'The content, with its Content-Type and ETag', contentType: '*/*' },
      handler: async (c) => {
        const name = c.params.name!;
        const key = c.params.key!;
        const res = c.res;
        if (c.req.method === 'HEAD') {
          const r = await objects.head(name, key);
          head(res, matchesNoneMatch(c.req.headers['if-none-match'], etagOf(r)) ? 304 : 200, r);
          res.end();
          return undefined;
        }
        const { record, body } = await objects.open(name, key);
        if (matchesNoneMatch(c.req.headers['if-none-match'], etagOf(record))) {
          body.destroy();
          head(res, 304, record);
          res.end();
          return undefined;
        }
        head(res, 200, record);
        // A client that goes away ends the copy; nothing is left to answer then.
        await pipeline(body, res).catch(() => body.destroy());
        return undefined;
      },
    },
    {
      method: 'DELETE', path: '/v1/functions/{name}/objects/{key}', rest: true, tag: 'objects',
      summary: 'Delete an object',
      success: { status: 204, description: 'Deleted' },
      handler: async (c) => {
        await objects.remove(c.params.name!, c.params.key!);
        return { status: 204 };
      },
    },
  ];
}
