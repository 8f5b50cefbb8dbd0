import type { Socket } from 'node:net';
import { FerryError } from '../../errors/index.js';

/**
 * Connects as soon as the instance listens: retries ENOENT/ECONNREFUSED quickly (a cold start
 * waits on this), gives up when `signal` aborts. `open` may throw instead of failing the socket.
 */
export function connectWhenListening(open: () => Socket, signal: AbortSignal, intervalMs = 2): Promise<Socket> {
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason instanceof FerryError ? signal.reason : new FerryError('instance-start-failed', 'the instance did not start listening in time'));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    const failed = (err: NodeJS.ErrnoException): void => {
      if (signal.aborted) return;
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
        timer = setTimeout(attempt, intervalMs);
      } else {
        signal.removeEventListener('abort', onAbort);
        reject(new FerryError('instance-start-failed', `cannot reach the instance: ${err.message}`, { cause: err }));
      }
    };
    const attempt = (): void => {
      let socket: Socket;
      try {
        socket = open();
      } catch (err) {
        return failed(err as NodeJS.ErrnoException); // refused before connecting (instance-socket.ts)
      }
      socket.once('connect', () => {
        signal.removeEventListener('abort', onAbort);
        socket.removeAllListeners('error');
        resolve(socket);
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        socket.destroy();
        failed(err);
      });
    };
    attempt();
  });
}
