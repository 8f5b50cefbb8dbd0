import { existsSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FerryError } from '../../errors/index.js';
import { PYTHON_SITE_DIR } from '../../core/index.js';
import type { BuildContext, CheckContext, Connector, EffectiveConfig, InstanceLink, LaunchContext, LaunchPlan, LoadSpec, Manifest, PooledLaunchContext, RootfsNeed, Runtime, SandboxView } from '../../core/index.js';
import { FramesConnector } from '../frames/frames-connector.js';
import { loadSpecOf, setsStartupEnv } from '../pooled.js';
import { hostLibraries } from '../host-libraries.js';

/** shim.py and its helper modules, copied next to this file by scripts/copy-assets.mjs. */
const shimPath = fileURLToPath(new URL('./shim.py', import.meta.url));
/** The interpreter and Ferry's runtime directory (the shim and its modules). */
const needs: RootfsNeed[] = [{ kind: 'python3' }, { kind: 'ferry-runtime' }];
const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Read by the interpreter, the loader or the C library only at start (time reads TZ at import). */
const startupOnlyEnv = /^(PYTHON|LD_|LC_|LANG$|LANGUAGE$|TZ$)/;

/** Splits `path/to/file.py[:function]`; the function defaults to `handler`. */
export function parsePythonHandler(handler: string): { file: string; fn: string } {
  const colon = handler.lastIndexOf(':');
  if (colon < 0) return { file: handler, fn: 'handler' };
  return { file: handler.slice(0, colon), fn: handler.slice(colon + 1) };
}

/** The handler file must stay inside the package: relative, no `..`, and a Python identifier after `:`. */
function checkHandler(handler: string | undefined): { file: string; fn: string } {
  if (!handler) throw new FerryError('invalid-manifest', "runtime 'python' needs \"handler\": \"<file.py>[:<function>]\"");
  const { file, fn } = parsePythonHandler(handler);
  if (!file || file.startsWith('/') || file.split(/[/\\]/).includes('..')) {
    throw new FerryError('invalid-manifest', `handler '${handler}': the file must be a relative path inside the package, without '..'`);
  }
  if (!identifier.test(fn)) {
    throw new FerryError('invalid-manifest', `handler '${handler}': '${fn}' is not a Python function name`);
  }
  return { file, fn };
}

/**
 * -u: unbuffered stdio so log lines reach the host as they are written; -X utf8: stdio is UTF-8
 * whatever the (often empty) locale inside the sandbox says; -S: no site module, so neither the
 * host's site-packages nor a user site is on sys.path (a function imports the stdlib, its package
 * and its `.ferry/site`, never what happens to be installed on the host).
 */
function pythonArgv(view: SandboxView): string[] {
  return view.rootfs.command({ kind: 'python3' }, ['-u', '-X', 'utf8', '-S', view.rootfs.runtimeFile(shimPath)]);
}

/**
 * Python functions: `handler(request)` in a file of the package, served by the stdlib-only shim
 * (shim.py) over the frame protocol. Sync handlers run in a thread pool of `scaling.concurrency`
 * threads, `async def` handlers on the shim's event loop.
 */
export const pythonRuntime: Runtime = {
  name: 'python',

  validate(manifest: Manifest): void {
    checkHandler(manifest.handler);
  },

  async build(ctx: BuildContext): Promise<void> {
    const { file } = checkHandler(ctx.manifest.handler);
    const path = join(ctx.dir, file);
    if (!existsSync(path) || !statSync(path).isFile()) {
      throw new FerryError('invalid-manifest', `handler file '${file}' is not in the package`);
    }
    ctx.log('python: no build step');
  },

  launch(ctx: LaunchContext): LaunchPlan {
    const { file, fn } = checkHandler(ctx.config.handler);
    const argv = pythonArgv(ctx.view);
    const libs = hostLibraries(ctx.config, ctx.view, ['python']);
    const hostSite = libs.python;
    return {
      argv,
      env: {
        ...ctx.env,
        FERRY_SOCKET: ctx.view.channel.frames,
        FERRY_HANDLER: `${posix.join(ctx.view.packageDir, file)}:${fn}`,
        FERRY_CONCURRENCY: String(ctx.config.scaling.concurrency),
        // requirements.txt installed at deploy (build/): on sys.path after the package itself.
        FERRY_PYTHON_SITE: posix.join(ctx.view.packageDir, PYTHON_SITE_DIR),
        // The host's site/dist-packages (hostLibraries): last on sys.path, after the interpreter's stdlib.
        ...(hostSite.length ? { FERRY_PYTHON_HOST_SITE: hostSite.join(':') } : {}),
        PYTHONDONTWRITEBYTECODE: '1', // the package is read-only and content-addressed
        PYTHONUNBUFFERED: '1',
      },
      cwd: ctx.view.packageDir,
      rootfs: [...needs, ...libs.rootfs],
      channel: 'frames',
    };
  },

  pooledLaunch(ctx: PooledLaunchContext): LaunchPlan {
    return {
      // As launch(), minus the function: FERRY_HANDLER and FERRY_CONCURRENCY arrive with LOAD.
      // Variables the interpreter reads only at start are set here, as a cold start sets them.
      argv: pythonArgv(ctx.view),
      env: {
        FERRY_SOCKET: ctx.view.channel.frames,
        FERRY_POOLED: '1',
        PYTHONDONTWRITEBYTECODE: '1',
        PYTHONUNBUFFERED: '1',
      },
      cwd: ctx.view.packageDir,
      rootfs: needs,
      channel: 'frames',
    };
  },

  load(ctx: LaunchContext): LoadSpec {
    return loadSpecOf(pythonRuntime.launch(ctx));
  },

  poolable(config: EffectiveConfig): boolean {
    return !setsStartupEnv(config.env, startupOnlyEnv);
  },

  check(ctx: CheckContext): LaunchPlan {
    const plan = pythonRuntime.launch({ ...ctx, instanceId: 'check', port: 0, networkIsolated: true });
    return { ...plan, env: { ...plan.env, FERRY_CHECK: '1' } };
  },

  connect(link: InstanceLink): Connector {
    return new FramesConnector(link.dial);
  },
};
