import { join, posix } from 'node:path';
import { FerryError } from '../../errors/index.js';
import type { BuildContext, Connector, Endpoint, LaunchContext, LaunchPlan, Manifest, Runtime } from '../../core/index.js';
import { HttpConnector } from './http-connector.js';
import { checkCommand, resolveCommand } from '../command.js';

/** File name of the Unix socket an `http` function may listen on instead of `PORT`. */
export const httpSocketName = 'http.sock';

/**
 * Functions that are their own HTTP server: `command` starts it, it listens on `PORT` (bound to
 * `HOST`, 127.0.0.1) or on the Unix socket `FERRY_SOCKET`, and Ferry proxies requests, streams
 * and WebSocket upgrades to it.
 */
export const httpRuntime: Runtime = {
  name: 'http',

  validate(manifest: Manifest): void {
    checkCommand(manifest.command, 'http');
  },

  async build(ctx: BuildContext): Promise<void> {
    checkCommand(ctx.manifest.command, 'http');
    ctx.log('http: no build step');
  },

  launch(ctx: LaunchContext): LaunchPlan {
    const command = resolveCommand(checkCommand(ctx.config.command, 'http'), ctx.view);
    return {
      argv: command.argv,
      env: {
        ...ctx.env,
        PORT: String(ctx.port),
        HOST: '127.0.0.1',
        FERRY_SOCKET: posix.join(ctx.view.runDir, httpSocketName),
      },
      cwd: ctx.view.packageDir,
      hostPaths: command.hostPaths,
      endpoint: { kind: 'http', port: ctx.port, host: '127.0.0.1', socketPath: join(ctx.hostRunDir, httpSocketName) },
    };
  },

  connect(endpoint: Endpoint): Connector {
    if (endpoint.kind !== 'http') throw new FerryError('internal', `http runtime cannot speak to a '${endpoint.kind}' endpoint`);
    return new HttpConnector(endpoint);
  },
};
