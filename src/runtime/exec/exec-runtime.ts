import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FerryError } from '../../errors/index.js';
import type { BuildContext, CheckContext, Connector, InstanceLink, LaunchContext, LaunchPlan, Manifest, RootfsNeed, Runtime } from '../../core/index.js';
import { FramesConnector } from '../frames/frames-connector.js';
import { checkCommand, checkManifestCommand, commandCheckPlan, imageCheckPlan, isPackagePath, resolveCommand } from '../command.js';
import { imageCommand } from '../image-command.js';
import { appendPath, hostLibraries } from '../host-libraries.js';

/** Run by Node; it imports ../shim and ../frames, so it needs Ferry's whole runtime directory. */
const shimPath = fileURLToPath(new URL('./shim.js', import.meta.url));

/**
 * CGI-style functions: any executable, run once per call with the request body on stdin and
 * stdout as the answer. A small Node shim in the instance speaks the frame protocol and spawns
 * the command, at most `scaling.concurrency` at a time.
 */
export const execRuntime: Runtime = {
  name: 'exec',
  checkRunsNoCode: true,

  validate(manifest: Manifest): void {
    checkManifestCommand(manifest, 'exec');
  },

  async build(ctx: BuildContext): Promise<void> {
    // An image's command is looked up in its tree by the deploy-time check.
    const [program] = checkManifestCommand(ctx.manifest, 'exec') ?? [];
    if (!ctx.manifest.image && isPackagePath(program!)) {
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
    if (ctx.config.image) {
      // The shim (Ferry's Node) runs the image's command with the image's environment, as its user.
      const image = imageCommand(ctx.config, ctx.packageDir, ctx.env);
      return { ...shimPlan(ctx, image.argv, image.env, image.cwd, []), user: image.user };
    }
    const command = resolveCommand(checkCommand(ctx.config.command, 'exec'), ctx.view);
    const libs = hostLibraries(ctx.config, ctx.view, ['node', 'python']);
    // The host's libraries (hostLibraries) for the programs' interpreters, after the function's own settings.
    const env = { ...ctx.env, ...appendPath(ctx.env, 'NODE_PATH', libs.node), ...appendPath(ctx.env, 'PYTHONPATH', libs.python) };
    return shimPlan(ctx, command.argv, env, ctx.view.packageDir, [...command.rootfs, ...libs.rootfs]);
  },

  check(ctx: CheckContext): LaunchPlan {
    if (ctx.config.image) return imageCheckPlan(ctx);
    return commandCheckPlan(checkCommand(ctx.config.command, 'exec'), ctx);
  },

  connect(link: InstanceLink): Connector {
    return new FramesConnector(link.dial);
  },
};

/** The shim's process, running `command` (argv[0] as the sandbox sees it) once per call. */
function shimPlan(ctx: LaunchContext, command: string[], env: Record<string, string>, cwd: string, rootfs: RootfsNeed[]): LaunchPlan {
  return {
    argv: ctx.view.rootfs.command({ kind: 'node' }, [ctx.view.rootfs.runtimeFile(shimPath)]),
    env: {
      ...env,
      FERRY_SOCKET: ctx.view.channel.frames,
      FERRY_COMMAND: JSON.stringify(command),
      FERRY_CONCURRENCY: String(ctx.config.scaling.concurrency),
      ...(ctx.config.contract ? { FERRY_CONTRACT: ctx.config.contract } : {}),
    },
    cwd,
    rootfs: [{ kind: 'node' }, { kind: 'ferry-runtime' }, ...rootfs],
    channel: 'frames',
  };
}
