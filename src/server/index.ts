import type { ServerOptions } from '../config/index.js';
import { createServer } from './create-server.js';

export { createServer, type FerryServer } from './create-server.js';

/**
 * `ferry server`: starts Ferry, prints the admin token on first start, and on SIGINT/SIGTERM
 * drains and resolves (exit 0). Nothing is left running. `started` runs once it listens.
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
  log.info({ url: server.url, dataDir: opts.dataDir, driver: opts.driver }, `Ferry listening on ${server.url}`);
  await new Promise<void>((resolve) => {
    const stop = (sig: string): void => {
      log.info({ signal: sig }, 'shutting down');
      server.close().then(resolve, (err) => {
        log.error({ err }, 'error while shutting down');
        resolve();
      });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  // Everything was stopped; should a handle still hold the event loop (a bug), say so and exit
  // rather than hang a supervisor's restart.
  setTimeout(() => {
    log.warn('still busy 2 s after shutting down; exiting anyway');
    process.exit(0);
  }, 2000).unref();
}
