import type { RouteDef } from '../route.js';
import { errorEntries, errorsPage } from '../errors-doc.js';

/** What each error code means and what to do: the page every problem's `type` points at. */
export function makeErrorRoutes(): RouteDef[] {
  return [
    {
      method: 'GET', path: '/v1/errors', tag: 'system',
      summary: 'The error codes: what each means and what to do; an HTML page (each code is its fragment, the `type` of a problem), or `{errors: [...]}` to Accept: application/json',
      success: { status: 200, description: 'HTML, or JSON `{errors: [{code, status, title, fix}]}`', contentType: 'text/html' },
      handler: async (c) => {
        const entries = errorEntries();
        if (/application\/json/.test(c.req.headers.accept ?? '') && !/text\/html/.test(c.req.headers.accept ?? '')) return { body: { errors: entries } };
        // No script, no style, nothing from elsewhere: a page that can only be read.
        return { body: errorsPage(entries), headers: { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "default-src 'none'", vary: 'accept' } };
      },
    },
  ];
}
