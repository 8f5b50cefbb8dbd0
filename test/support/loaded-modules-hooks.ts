/** The loader hooks of `loaded-modules.ts`: each module's URL, as it loads, to the main thread. */
import type { MessagePort } from 'node:worker_threads';

let port: MessagePort | undefined;

export function initialize(data: { port: MessagePort }): void {
  port = data.port;
}

export async function load(url: string, context: object, next: (url: string, context: object) => Promise<unknown>): Promise<unknown> {
  port?.postMessage(url);
  return next(url, context);
}
