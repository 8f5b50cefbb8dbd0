import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FerryError } from '../../errors/index.js';
import type { BuildContext, CheckContext, Connector, EffectiveConfig, InstanceLink, LaunchContext, LaunchPlan, LoadSpec, Manifest, PooledLaunchContext, RootfsNeed, Runtime } from '../../core/index.js';
import { FramesConnector } from '../frames/frames-connector.js';
import { loadSpecOf, setsStartupEnv } from '../pooled.js';
import { appendPath, hostLibraries } from '../host-libraries.js';
import { compiledPath, compileTypeScript, findTypeScript, isTypeScript } from './compile-ts.js';
import { typeCheck } from './type-check.js';

const shimPath = fileURLToPath(new URL('./shim.js', import.meta.url));
/** Node and Ferry's runtime directory: the shim imports ../shim and ../frames. */
const needs: RootfsNeed[] = [{ kind: 'node' }, { kind: 'ferry-runtime' }];

/**
 * Read by node, libuv, OpenSSL, ICU or the loader only at process start (NODE_ENV is read by
 * code, not by node); TZ is not here: node applies a TZ set at run time.
 */
const startupOnlyEnv = /^(NODE_(?!ENV$)|UV_|LD_|OPENSSL_|LC_|LANG$|LANGUAGE$)/;

const moduleExt = /\.(m|c)?(j|t)s$/;
const identifier = /^[A-Za-z_$][\w$]*$/;

/** Splits `path/to/file.js[:exportName]`; the export defaults to `default`. */
export function parseNodeHandler(handler: string): { file: string; exportName: string | undefined } {
  const colon = handler.lastIndexOf(':');
  if (colon < 0) return { file: handler, exportName: undefined };
  return { file: handler.slice(0, colon), exportName: handler.slice(colon + 1) };
}

/** The handler must be a module file inside the package: relative, no `..`, a JS/TS extension. */
function checkHandler(handler: string | undefined): { file: string; exportName: string | undefined } {
  if (!handler) {
    throw new FerryError('invalid-manifest', 'runtime node needs "handler": "<file.js|file.ts>[:<export>]" (the module whose default export handles requests)');
  }
  const parsed = parseNodeHandler(handler);
  const exportName = parsed.exportName;
  const file = parsed.file && posix.normalize(parsed.file);
  if (!file || file.startsWith('/') || file.includes('\\') || parsed.file.split('/').includes('..')) {
    throw new FerryError('invalid-manifest', `handler '${handler}': the file must be a relative path inside the package, without '..'`);
  }
  if (!moduleExt.test(file) || /\.d\.[mc]?ts$/.test(file)) {
    throw new FerryError('invalid-manifest', `handler '${handler}': the file must end in .js, .mjs, .cjs, .ts, .mts or .cts`);
  }
  if (exportName !== undefined && !identifier.test(exportName)) {
    throw new FerryError('invalid-manifest', `handler '${handler}': '${exportName}' is not a JavaScript export name`);
  }
  return { file, exportName };
}

/** The module format `.ts` files compile to: the package's own, ESM when it does not say. */
function packageFormat(dir: string): { format: 'esm' | 'cjs'; hasPackageJson: boolean } {
  const file = join(dir, 'package.json');
  if (!existsSync(file)) return { format: 'esm', hasPackageJson: false };
  let pkg: unknown;
  try {
    pkg = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new FerryError('build-failed', `package.json is not valid JSON: ${(err as Error).message}`);
  }
  const type = (pkg as { type?: unknown } | null)?.type;
  return { format: type === 'module' ? 'esm' : 'cjs', hasPackageJson: true };
}

/**
 * JavaScript and TypeScript functions: the handler module's default export (or a named one) gets a
 * web `Request` and a context and returns a Response or a plain value. TypeScript is compiled at
 * build time; instances run the shim (shim.ts) on the same node binary as Ferry.
 */
export const nodeRuntime: Runtime = {
  name: 'node',

  validate(manifest: Manifest): void {
    checkHandler(manifest.handler);
  },

  async build(ctx: BuildContext): Promise<void> {
    const { file } = checkHandler(ctx.manifest.handler);
    const source = join(ctx.dir, file);
    if (!existsSync(source) || !statSync(source).isFile()) {
      throw new FerryError('invalid-manifest', `handler file '${file}' is not in the package`);
    }
    const { format, hasPackageJson } = packageFormat(ctx.dir);
    if (!hasPackageJson) {
      // Without it Node would load the handler's `.js` files as CommonJS and reject `export`.
      writeFileSync(join(ctx.dir, 'package.json'), '{\n  "type": "module"\n}\n');
      ctx.log('node: no package.json: wrote one with "type": "module" (ES modules)');
    }
    const sources = findTypeScript(ctx.dir);
    if (sources.length === 0) {
      ctx.log('node: no TypeScript, no build step');
      return;
    }
    if (isTypeScript(file) && !sources.includes(file)) {
      throw new FerryError('invalid-manifest', `handler file '${file}' is not a regular file in the package`);
    }
    await compileTypeScript(ctx.dir, sources, format, ctx.log);
  },

  launch(ctx: LaunchContext): LaunchPlan {
    return launchNode(ctx, []);
  },

  pooledLaunch(ctx: PooledLaunchContext): LaunchPlan {
    return {
      // No --max-old-space-size: the function, and so its memoryMb, is not known yet. A pooled
      // instance is bounded by its memory cgroup, which the hand-off sets to memoryMb (the pool
      // runs only where that cgroup is enforced).
      argv: ctx.view.rootfs.command({ kind: 'node' }, [ctx.view.rootfs.runtimeFile(shimPath)]),
      env: { NODE_ENV: 'production', FERRY_SOCKET: ctx.view.channel.frames, FERRY_POOLED: '1' },
      cwd: ctx.view.packageDir,
      rootfs: needs,
      channel: 'frames',
    };
  },

  load(ctx: LaunchContext): LoadSpec {
    return loadSpecOf(nodeRuntime.launch(ctx));
  },

  poolable(config: EffectiveConfig): boolean {
    return !setsStartupEnv(config.env, startupOnlyEnv);
  },

  async checkTypes(dir: string, warn: (line: string) => void): Promise<void> {
    const sources = findTypeScript(dir);
    if (sources.length) await typeCheck(dir, sources, warn);
  },

  check(ctx: CheckContext): LaunchPlan {
    // --expose-internals: Node's own decorator gives an ES module's syntax error its line (see
    // instance/load-failure.ts); only the check runs with it, never an instance.
    const plan = launchNode({ ...ctx, instanceId: 'check', port: 0, networkIsolated: true }, ['--expose-internals']);
    return { ...plan, env: { ...plan.env, FERRY_CHECK: '1' } };
  },

  connect(link: InstanceLink): Connector {
    return new FramesConnector(link.dial);
  },
};

/**
 * The plan of a node instance, `nodeOptions` first among Node's options: they go through the
 * root's own way of starting Node (a root of another libc starts it through a loader, so an
 * option put after the command's first word would be the loader's).
 */
function launchNode(ctx: LaunchContext, nodeOptions: string[]): LaunchPlan {
  const { file, exportName } = checkHandler(ctx.config.handler);
  const heapMb = Math.max(16, Math.round(ctx.config.limits.memoryMb * 0.75));
  const handler = posix.join(ctx.view.packageDir, compiledPath(file)) + (exportName ? `:${exportName}` : '');
  const libs = hostLibraries(ctx.config, ctx.view, ['node']);
  const globals = libs.node;
  return {
    // Heap at 3/4 of the limit: the rest is for code, stacks and buffers outside the V8 heap.
    argv: ctx.view.rootfs.command({ kind: 'node' }, [...nodeOptions, `--max-old-space-size=${heapMb}`, ctx.view.rootfs.runtimeFile(shimPath)]),
    env: {
      NODE_ENV: 'production',
      ...ctx.env,
      // The host's global modules (hostLibraries): `require` searches NODE_PATH after every node_modules.
      ...appendPath(ctx.env, 'NODE_PATH', globals),
      FERRY_SOCKET: ctx.view.channel.frames,
      FERRY_HANDLER: handler,
    },
    cwd: ctx.view.packageDir,
    rootfs: [...needs, ...libs.rootfs],
    channel: 'frames',
  };
}
