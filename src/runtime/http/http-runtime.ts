import { fileURLToPath, pathToFileURL } from 'node:url';
import { FerryError } from '../../errors/index.js';
import type { BuildContext, CheckContext, Connector, InstanceLink, LaunchContext, LaunchPlan, Manifest, RootfsNeed, Runtime, SandboxView } from '../../core/index.js';
import { HttpConnector } from './http-connector.js';
import { checkCommand, checkManifestCommand, commandCheckPlan, imageCheckPlan, resolveCommand } from '../command.js';
import { imageCommand } from '../image-command.js';

/** The relay (runs inside the sandbox in front of the function's server). */
const relayPath = fileURLToPath(new URL('./relay.js', import.meta.url));

/**
 * argv with the relay in front. A server run by the Node.js that runs Ferry (argv starts with the
 * view's command for it) carries the relay in its own process (`--import`): no second Node.js
 * process and its ~45 MB. Any other program gets the relay as a supervisor (another Node.js may
 * lack `--import`).
 */
export function withRelay(argv: string[], view: SandboxView): string[] {
  const relay = view.rootfs.runtimeFile(relayPath);
  const node = view.rootfs.command({ kind: 'node' }, []);
  if (node.every((part, i) => argv[i] === part)) return [...node, '--import', pathToFileURL(relay).href, ...argv.slice(node.length)];
  return [...node, relay, '--', ...argv];
}

/**
 * Functions that are their own HTTP server: `command` starts it, it listens on `PORT` (bound to
 * `HOST`, 127.0.0.1) or on the Unix socket `FERRY_SOCKET`, and Ferry proxies requests, streams
 * and WebSocket upgrades to it.
 */
export const httpRuntime: Runtime = {
  name: 'http',
  checkRunsNoCode: true,

  validate(manifest: Manifest): void {
    checkManifestCommand(manifest, 'http');
  },

  async build(ctx: BuildContext): Promise<void> {
    checkManifestCommand(ctx.manifest, 'http');
    ctx.log('http: no build step');
  },

  launch(ctx: LaunchContext): LaunchPlan {
    if (ctx.config.image) {
      // An image's server listens on its first ExposedPorts when the version fixes no `port`
      // (only in a namespace of its own: on the host's network PORT must be a free one).
      const image = imageCommand(ctx.config, ctx.packageDir, ctx.env);
      const port = ctx.config.port ?? image.exposedPort;
      return { ...serverPlan(ctx, image.argv, image.env, image.cwd, [], port), user: image.user };
    }
    const command = resolveCommand(checkCommand(ctx.config.command, 'http'), ctx.view);
    return serverPlan(ctx, command.argv, ctx.env, ctx.view.packageDir, command.rootfs, ctx.config.port);
  },

  check(ctx: CheckContext): LaunchPlan {
    if (ctx.config.image) return imageCheckPlan(ctx);
    return commandCheckPlan(checkCommand(ctx.config.command, 'http'), ctx);
  },

  connect(link: InstanceLink): Connector {
    return new HttpConnector(link);
  },
};

/** The function's server process (argv[0] as the sandbox sees it), with the relay in front where needed. */
function serverPlan(ctx: LaunchContext, argv: string[], env: Record<string, string>, cwd: string, rootfs: RootfsNeed[], fixedPort: number | undefined): LaunchPlan {
  const socket = ctx.view.channel.http;
  // In a network namespace of its own, a server on PORT is reached through the relay, which
  // listens on the function's socket path once PORT accepts (and steps aside if the function
  // serves that socket itself), so the channel reaches it either way.
  // A fixed port only in a namespace of its own, where no one else listens; on the host's
  // network the port must be a free one.
  const port = ctx.networkIsolated && fixedPort !== undefined ? fixedPort : ctx.port;
  return {
    argv: ctx.networkIsolated ? withRelay(argv, ctx.view) : argv,
    env: {
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
      FERRY_SOCKET: socket,
      ...(ctx.networkIsolated ? { FERRY_RELAY_SOCKET: socket } : {}),
    },
    cwd,
    // The relay runs on Ferry's Node, from Ferry's runtime directory.
    rootfs: ctx.networkIsolated ? [...rootfs, { kind: 'node' }, { kind: 'ferry-runtime' }] : rootfs,
    channel: 'http',
    // Isolated: the port is in the instance's own namespace; a host port of that number is a stranger's.
    ...(!ctx.networkIsolated && { port: ctx.port }),
  };
}
