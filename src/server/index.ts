import type { ServerOptions } from '../config/index.js';
import { createServer } from './create-server.js';

export { createServer, type FerryServer } from './create-server.js';

/**
 * `ferry server`: starts Ferry, prints the admin token on first start, and on SIGINT/SIGTERM
 * drains and resolves (exit 0). Nothing is left running. A second signal during the drain is
 * noted; a third exits at once (1). `started` runs once it listens.
 */
export async function runServer(opts: ServerOptions, started?: () => void): Promise<void> {
  const server = await createServer(opts);
  started?.();
  const log = server.logger;
  if (!server.isolated) {
    process.stderr.write(`\n  WARNING: sandbox driver '${opts.driver}' runs functions WITHOUT isolation, as this user.\n  Run only code you trust. Responses carry x-ferry-sandbox: none.\n`);
  }
  if (server.adminToken) {
    // Printed once, on stderr so it stays out of structured log pipelines; also in the data dir.
    process.stderr.write(`\nFerry admin token (shown once; also in ${opts.dataDir}/admin-token):\n\n  ${server.adminToken}\n\n`);
  }
  // The handlers go in before the line that says the server listens: whoever waits for that line
  // may signal at once.
  const stopped = new Promise<void>((resolve) => {
    let signals = 0;
    const stop = (sig: string): void => {
      signals++;
      // A second signal must not kill the drain half-way (instances and their mounts would be
      // left for the next start); only a third, an operator insisting, stops at once.
      if (signals === 2) {
        log.warn({ signal: sig, drainTimeoutMs: opts.drainTimeoutMs }, 'already shutting down: in-flight calls get up to the drain timeout; a third signal stops at once');
        return;
      }
      if (signals > 2) {
        log.warn({ signal: sig }, 'stopping at once: instances left running are cleaned up at the next start');
        process.exit(1);
      }
      log.info({ signal: sig }, 'shutting down');
      server.close().then(resolve, (err) => {
        log.error({ err }, 'error while shutting down');
        resolve();
      });
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
  log.info({ url: server.url, dataDir: opts.dataDir, driver: opts.driver }, `Ferry listening on ${server.url}`);
  await stopped;
  // Everything was stopped; should a handle still hold the event loop (a bug), say so and exit
  // rather than hang a supervisor's restart.
  setTimeout(() => {
    log.warn('still busy 2 s after shutting down; exiting anyway');
    process.exit(0);
  }, 2000).unref();
}
