import { accessSync, constants, statSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FerryError } from '../../errors/index.js';
import type { BuildContext, CheckContext, Connector, Endpoint, LaunchContext, LaunchPlan, Manifest, Runtime } from '../../core/index.js';
import { FramesConnector } from '../frames/frames-connector.js';
import { checkCommand, commandCheckPlan, isPackagePath, resolveCommand } from '../command.js';
import { appendPath, hostLibraries } from '../host-libraries.js';

const shimPath = fileURLToPath(new URL('./shim.js', import.meta.url));
/** The shim imports ../shim and ../frames: the sandbox must see the whole runtime directory. */
const runtimeDir = dirname(dirname(shimPath));


/**
 * CGI-style functions: any executable, run once per call with the request body on stdin and
 * stdout as the answer. A small Node shim in the instance speaks the frame protocol and spawns
 * the command, at most `scaling.concurrency` at a time.
 */
export const execRuntime: Runtime = {
  name: 'exec',

  validate(manifest: Manifest): void {
    checkCommand(manifest.command, 'exec');
  },

  async build(ctx: BuildContext): Promise<void> {
    const [program] = checkCommand(ctx.manifest.command, 'exec');
    if (isPackagePath(program!)) {
      // Caught at upload rather than as a 500 on every call.
      const path = join(ctx.dir, program!);
      let ok = false;
      try {
        ok = statSync(path).isFile();
        accessSync(path, constants.X_OK);
      } catch {
        ok = false;
      }
      if (!ok) throw new FerryError('invalid-manifest', `command '${program}' is not an executable file in the package (missing, or no x bit)`);
    }
    ctx.log('exec: no build step');
  },

  launch(ctx: LaunchContext): LaunchPlan {
    const command = resolveCommand(checkCommand(ctx.config.command, 'exec'), ctx.view);
    const libs = hostLibraries(ctx.config);
    return {
      argv: [process.execPath, shimPath],
      env: {
        ...ctx.env,
        // The host's libraries (hostLibraries) for the programs' interpreters, after the function's own settings.
        ...appendPath(ctx.env, 'NODE_PATH', libs.node),
        ...appendPath(ctx.env, 'PYTHONPATH', libs.python),
        FERRY_SOCKET: posix.join(ctx.view.runDir, 'ferry.sock'),
        FERRY_COMMAND: JSON.stringify(command.argv),
        FERRY_CONCURRENCY: String(ctx.config.scaling.concurrency),
      },
      cwd: ctx.view.packageDir,
      hostPaths: [process.execPath, runtimeDir, ...command.hostPaths, ...libs.node, ...libs.python],
      endpoint: { kind: 'frames', socketPath: join(ctx.hostRunDir, 'ferry.sock') },
    };
  },

  check(ctx: CheckContext): LaunchPlan {
    return commandCheckPlan(checkCommand(ctx.config.command, 'exec'), ctx);
  },

  connect(endpoint: Endpoint): Connector {
    if (endpoint.kind !== 'frames') throw new FerryError('internal', `exec runtime cannot speak to a '${endpoint.kind}' endpoint`);
    return new FramesConnector(endpoint.socketPath, endpoint.owner);
  },
};
