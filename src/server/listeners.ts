import { createServer, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatch, ListenerPlan } from '../surfaces/index.js';

/** The node:http servers of a start: their URLs (in plan order) and how they drain. */
export interface Listeners {
  urls: string[];
  /**
   * Stops accepting on every listener and resolves once their requests ended; after `drainMs`
   * open streams and WebSockets are cut (`onTimeout` says so first).
   */
  close(drainMs: number, onTimeout: () => void): Promise<void>;
}

/** Starts one node:http server per plan; a listener that cannot listen stops the start (the others close). */
export async function startListeners(plans: readonly ListenerPlan[], dispatch: (plan: ListenerPlan) => Dispatch): Promise<Listeners> {
  const servers: Server[] = [];
  const upgraded = new Set<Duplex>();
  const urls: string[] = [];
  try {
    for (const plan of plans) {
      const d = dispatch(plan);
      const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, d.request);
      server.on('upgrade', (req, socket: Duplex, head: Buffer) => {
        upgraded.add(socket);
        socket.once('close', () => upgraded.delete(socket));
        d.upgrade(req, socket, head);
      });
      servers.push(server);
      const { host, port } = plan.address;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const addr = server.address();
      const bound = typeof addr === 'object' && addr ? addr.port : port;
      urls.push(`http://${host.includes(':') ? `[${host}]` : host}:${bound}`);
    }
  } catch (err) {
    for (const s of servers) s.close();
    throw err;
  }
  return {
    urls,
    async close(drainMs, onTimeout) {
      const closed = Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
      for (const s of servers) s.closeIdleConnections();
      const timer = setTimeout(() => {
        onTimeout();
        for (const s of servers) s.closeAllConnections();
        for (const s of upgraded) s.destroy();
      }, drainMs);
      // Requests finishing during the drain leave idle keep-alive connections behind: close those too.
      const idle = setInterval(() => {
        for (const s of servers) s.closeIdleConnections();
      }, 100);
      await closed;
      clearTimeout(timer);
      clearInterval(idle);
      for (const s of upgraded) s.destroy();
    },
  };
}

/**
 * A listener's URL as a base for links a caller can follow: a wildcard address (`0.0.0.0`, `::`)
 * becomes the host name the caller reached the server by, with the listener's port.
 */
export function linkBase(listenerUrl: string, requestHost: string): string {
  const u = new URL(listenerUrl);
  if (u.hostname !== '0.0.0.0' && u.hostname !== '[::]') return u.origin;
  let callerHost: string;
  try {
    callerHost = new URL(`http://${requestHost}`).hostname;
  } catch {
    return u.origin; // a Host header that is no host: the listener's own address, as it is
  }
  return `${u.protocol}//${callerHost}${u.port ? `:${u.port}` : ''}`;
}
