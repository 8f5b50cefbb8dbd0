import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { plainAddress, type IpList } from '../../util/ip-list.js';
import type { BrowserSessions } from '../browser-sessions.js';
import { clientAddress } from '../client-address.js';
import type { RouteDef } from '../route.js';

const loginBody = {
  oneOf: [
    { type: 'object', required: ['name', 'password'], properties: { name: { type: 'string' }, password: { type: 'string', format: 'password' } }, additionalProperties: false },
    { type: 'object', required: ['token'], properties: { token: { type: 'string', format: 'password' } }, additionalProperties: false },
  ],
};

/** Whether the browser reached Ferry over TLS: its own socket, or a proxy of `--trust-proxy` that says so. */
function overTls(req: IncomingMessage, trusted: IpList): boolean {
  if ((req.socket as TLSSocket).encrypted === true) return true;
  const peer = req.socket.remoteAddress ?? '';
  return trusted.has(plainAddress(peer) ?? peer) && String(req.headers['x-forwarded-proto'] ?? '').split(',').at(-1)!.trim() === 'https';
}

/**
 * The dashboard's session: log in (a password or a token) to a cookie, read the session's CSRF
 * token, log out. Only a browser needs these; every other client sends its token itself.
 */
export function makeSessionRoutes(sessions: BrowserSessions, trustedProxies: IpList): RouteDef[] {
  return [
    {
      method: 'POST', path: '/v1/auth/session', tag: 'auth', body: 'json', bodySchema: loginBody,
      summary: 'Browser login: sets the HttpOnly, SameSite=Strict session cookie; answers the session with its CSRF token (for X-CSRF-Token on changes)',
      success: { status: 201, description: '`{user, groups, csrf, expiresAt}`' },
      handler: async (c) => {
        const { view, setCookie } = await sessions.open(await c.json(), c.req, clientAddress(c.req, trustedProxies), overTls(c.req, trustedProxies));
        return { status: 201, body: view, headers: { 'set-cookie': setCookie, 'cache-control': 'no-store' } };
      },
    },
    {
      method: 'GET', path: '/v1/auth/session', tag: 'auth',
      summary: "The browser session of the request's cookie, with its CSRF token (a caller with a token: csrf null)",
      success: { status: 200, description: '`{user, groups, csrf, expiresAt}`' },
      handler: async (c) => ({ body: sessions.view(c.req, c.principal!), headers: { 'cache-control': 'no-store' } }),
    },
    {
      method: 'DELETE', path: '/v1/auth/session', tag: 'auth',
      summary: 'Browser logout: ends the session and clears its cookie',
      success: { status: 204, description: 'Ended' },
      handler: async (c) => ({ status: 204, headers: { 'set-cookie': await sessions.close(c.req) } }),
    },
  ];
}
