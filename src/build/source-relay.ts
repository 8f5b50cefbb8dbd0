import { chmod, chown } from 'node:fs/promises';
import * as net from 'node:net';
import { join } from 'node:path';
import { pipeSockets } from './inside/pipe-sockets.js';
import type { SourceRelay } from './sources.js';

/** The server's side of the relayed sources of one build. */
export interface RelaySockets {
  /** File names of the sockets in the work dir, one per relay, in order. */
  names: string[];
  close(): void;
}

/**
 * Serves one Unix socket per relayed source in the build's work dir (`source-<n>.sock`, owned by
 * the sandbox user, mode 0600) and connects each connection to that source's host:port, and only
 * there: the socket is the build's one way out, whatever the build sends on it.
 */
export async function startRelaySockets(dir: string, relays: SourceRelay[], uid: number | undefined): Promise<RelaySockets> {
  const servers: net.Server[] = [];
  const open = new Set<net.Socket>();
  const close = (): void => {
    for (const s of servers) s.close();
    for (const c of open) c.destroy();
  };
  const names: string[] = [];
  try {
    for (const [n, relay] of relays.entries()) {
      const name = `source-${n}.sock`;
      const path = join(dir, name);
      const server = net.createServer({ allowHalfOpen: true }, (build) => {
        const source = net.connect({ host: relay.target.host, port: relay.target.port, allowHalfOpen: true });
        for (const s of [build, source]) {
          open.add(s);
          s.once('close', () => open.delete(s));
        }
        pipeSockets(build, source);
      });
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, resolve);
      });
      await chmod(path, 0o600);
      if (uid !== undefined) await chown(path, uid, uid);
      names.push(name);
    }
  } catch (err) {
    close();
    throw err;
  }
  return { names, close };
}
