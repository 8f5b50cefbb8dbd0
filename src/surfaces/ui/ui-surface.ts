import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpSurface, OpenApiPaths } from '../surface.js';

const pub = { kind: 'public' } as const;

/** Whether a path is the dashboard's: `/` and `/dashboard` lead to it, `/ui` and below are it. */
function isUiPath(url: string): boolean {
  const path = url.split('?')[0]!;
  return path === '/' || path === '/dashboard' || path === '/ui' || path.startsWith('/ui/');
}

let pages: Promise<typeof import('./ui-pages.js')> | undefined;

/**
 * The web dashboard: static files from the package (`dist/web`, built from `web/`), with a
 * strict Content-Security-Policy. Everything it does goes through `/v1` with a session cookie
 * (api/browser-sessions.ts). The serving code loads on the first request for it: a server nobody
 * opens the page of never pays for it.
 */
export function uiSurface(): HttpSurface<true> {
  return {
    name: 'ui',
    routes: [
      { method: 'GET', path: '/', access: pub },
      { method: 'GET', path: '/dashboard', access: pub },
      { method: 'GET', path: '/ui', access: pub },
      { method: 'GET', path: '/ui/{file}', rest: true, access: pub },
    ],
    match: (req: IncomingMessage) => (isUiPath(req.url ?? '/') ? true : undefined),
    handle: async (req: IncomingMessage, res: ServerResponse) => (await (pages ??= import('./ui-pages.js'))).serveUi(req, res),
    operations: (): OpenApiPaths => ({
      '/ui/{file}': {
        get: {
          operationId: 'getDashboardFile',
          summary: 'The web dashboard (/ui/ is its page; / and /dashboard redirect there); its files, with an ETag',
          tags: ['dashboard'],
          parameters: [{ name: 'file', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            '200': { description: 'The file' },
            '304': { description: 'Unchanged (If-None-Match)' },
            default: { description: 'An error', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
          },
          security: [],
        },
      },
    }),
  };
}
