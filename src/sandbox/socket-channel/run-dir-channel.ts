import { createServer, connect, type Server, type Socket } from 'node:net';
import { lchown, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Duplex } from 'node:stream';
import { FerryError } from '../../errors/index.js';
import { NOT_LISTENING, type ChannelAddresses, type ChannelProtocol, type InstanceStreamHandler } from '../../core/index.js';
import { connectInstanceSocket, UNTRUSTED_SOCKET, type UntrustedSocketError } from './instance-socket.js';

/** The channel's socket names in a run dir: where each protocol listens, and the instance API. */
export const channelSockets = { frames: 'ferry.sock', http: 'http.sock', api: 'api.sock' } as const;

/** The channel's addresses in a run dir seen at `runDir` (inside the sandbox, or the host's path). */
export function runDirAddresses(runDir: string): ChannelAddresses {
  return { frames: posix.join(runDir, channelSockets.frames), http: posix.join(runDir, channelSockets.http), api: posix.join(runDir, channelSockets.api) };
}

/** What a run-dir channel needs to know of its instance. */
export interface RunDirChannelOptions {
  /** Host path of the instance's run dir. */
  runDir: string;
  /** What the instance listens for (absent: it listens for nothing; `dial` rejects). */
  protocol: ChannelProtocol | undefined;
  /** The host user the instance runs as: owner of what it makes, and of the API socket (absent: Ferry's own). */
  owner: { uid: number; gid: number } | undefined;
  /** Whether the instance's TCP ports are the host's (no network namespace of its own). */
  hostNetwork: boolean;
  /**
   * A socket owned by this uid is one still being made, not listening yet: gVisor's gofer binds
   * the instance's socket on the host as root and then gives it to the instance's user. It is
   * never connected to; the dial is tried again, and refused if it stays so.
   */
  settlingOwner?: number;
}

/**
 * The channel of the `bwrap` and `process` drivers: Unix sockets in the instance's run dir. The
 * instance listens on `ferry.sock` / `http.sock`; Ferry dials it through instance-socket.ts, which
 * refuses links and sockets the instance's user does not own. Ferry listens on `api.sock` for
 * the instance's calls, a socket made with mode 0600 and given to the instance's user, and removed
 * (never followed) when the instance is gone.
 */
export class RunDirChannel {
  private server: Server | undefined;

  constructor(private readonly o: RunDirChannelOptions) {}

  dial(): Promise<Duplex> {
    const protocol = this.o.protocol;
    if (!protocol) return Promise.reject(new FerryError('internal', 'this sandbox was started with no channel to dial'));
    const path = join(this.o.runDir, channelSockets[protocol]);
    const settling = this.o.settlingOwner;
    const dialed = opened(() => connectInstanceSocket(path, this.o.owner?.uid ?? process.getuid?.() ?? 0));
    if (settling === undefined) return dialed;
    return dialed.catch((err: unknown) => {
      const e = err as Partial<UntrustedSocketError>;
      if (e.code === UNTRUSTED_SOCKET && e.found?.socket && e.found.uid === settling) throw Object.assign(new Error(`not listening yet: ${e.message}`), { code: NOT_LISTENING, cause: err });
      throw err;
    });
  }

  /** TCP on the host's loopback: only where the instance shares the host's network. */
  get dialPort(): ((port: number) => Promise<Duplex>) | undefined {
    return this.o.hostNetwork ? (port) => opened(() => connect(port, '127.0.0.1')) : undefined;
  }

  /** Listens on `api.sock`; resolves once the instance can connect to it. */
  async serve(onStream: InstanceStreamHandler): Promise<void> {
    const path = join(this.o.runDir, channelSockets.api);
    const server = createServer({ allowHalfOpen: false }, (s) => onStream(s));
    this.server = server;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        // The socket gets its mode as it is made (a Unix socket's bind happens within listen(),
        // synchronously, so the umask covers nothing else), and its owner with lchown below: no
        // chmod or chown that would follow a link put in its place (the run dir is the
        // instance's to write).
        const umask = process.umask(0o177);
        try {
          server.listen(path, () => {
            server.off('error', reject);
            resolve();
          });
        } finally {
          process.umask(umask);
        }
      });
      if (this.o.owner) await lchown(path, this.o.owner.uid, this.o.owner.gid);
    } catch (err) {
      this.close();
      throw new FerryError('instance-start-failed', `cannot serve the instance API at ${path}: ${(err as Error).message}`);
    }
  }

  /** The instance is gone: no more calls from it; its socket goes (unlinked: a link is not followed). */
  close(): void {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.close();
    void rm(join(this.o.runDir, channelSockets.api), { force: true }).catch(() => {});
  }
}

/**
 * A socket once connected. Nothing there yet (no such name, refused) rejects NOT_LISTENING; a
 * refusal of instance-socket.ts (thrown before connecting) and any other error reject as they are.
 */
function opened(open: () => Socket): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    let socket: Socket;
    try {
      socket = open();
    } catch (err) {
      return reject(notYet(err as NodeJS.ErrnoException));
    }
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      // Its owner listens for errors from here on; 'close' follows one either way.
      socket.on('error', () => {});
      resolve(socket);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      socket.destroy();
      reject(notYet(err));
    });
  });
}

function notYet(err: NodeJS.ErrnoException): Error {
  if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') return Object.assign(new Error(`not listening yet: ${err.message}`), { code: NOT_LISTENING, cause: err });
  return err;
}
