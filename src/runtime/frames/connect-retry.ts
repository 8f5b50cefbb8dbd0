import type { Socket } from 'node:net';
import { FerryError } from '../../errors/index.js';

/**
 * Connects as soon as the instance listens: retries ENOENT/ECONNREFUSED quickly (a cold start
 * waits on this), gives up when `signal` aborts.
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
    const attempt = (): void => {
      const socket = open();
      socket.once('connect', () => {
        signal.removeEventListener('abort', onAbort);
        socket.removeAllListeners('error');
        resolve(socket);
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        socket.destroy();
        if (signal.aborted) return;
        if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
          timer = setTimeout(attempt, intervalMs);
        } else {
          signal.removeEventListener('abort', onAbort);
          reject(new FerryError('instance-start-failed', `cannot reach the instance: ${err.message}`, { cause: err }));
        }
      });
    };
    attempt();
  });
}
