import type { Socket } from 'node:net';

/**
 * Pipes two connections into each other, bytes both ways, until either is gone; then both are.
 * Built-ins only: it runs inside the build sandbox too (source-relay.ts).
 */
export function pipeSockets(a: Socket, b: Socket): void {
  const destroy = (): void => {
    a.destroy();
    b.destroy();
  };
  for (const s of [a, b]) {
    s.on('error', destroy);
    s.on('close', destroy);
  }
  a.pipe(b);
  b.pipe(a);
}
