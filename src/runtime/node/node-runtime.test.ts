import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { defaultExecutionSettings, defaultPrivacySettings, defaultLimits, defaultSandbox, defaultScaling, type EffectiveConfig } from '../../core/index.js';
import { FerryError } from '../../errors/index.js';
import { startInstance, tempDir } from '../../../test/support/runtime-harness.js';
import { nodeRuntime } from './node-runtime.js';
import { runDirAddresses } from '../../sandbox/socket-channel/index.js';
import { hostRootfsView } from '../../sandbox/rootfs/index.js';

function pkg(t: TestContext, files: Record<string, string>): string {
  const dir = tempDir(t, 'ferry-node-');
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

async function build(dir: string, handler: string): Promise<string[]> {
  const lines: string[] = [];
  await nodeRuntime.build({ dir, manifest: { runtime: 'node', handler }, log: (l) => lines.push(l) });
  return lines;
}

const isCode = (code: string) => (e: unknown) => e instanceof FerryError && e.code === code;

test('validate: handler required, relative, no .., a module extension, an identifier export', () => {
  assert.throws(() => nodeRuntime.validate({ runtime: 'node' }), (e: unknown) => isCode('invalid-manifest')(e) && /runtime node needs "handler"/.test((e as Error).message));
  for (const handler of ['/abs/index.js', '../index.js', 'a/../index.js', 'a\\b.js', 'index', 'index.d.ts', 'index.py', 'index.js:not-a-name', 'index.js:']) {
    assert.throws(() => nodeRuntime.validate({ runtime: 'node', handler }), isCode('invalid-manifest'), handler);
  }
  for (const handler of ['index.js', 'src/fn.mjs', 'lib/h.cjs', 'index.ts:api', './x.mts', 'y.cts:$h']) {
    nodeRuntime.validate({ runtime: 'node', handler });
  }
});

test('launch: node with a heap limit and source maps, the shim, socket and handler env', () => {
  const config: EffectiveConfig = {
    runtime: 'node',
    handler: 'src/index.ts:api',
    command: undefined,
    env: {},
    secrets: [], ...defaultExecutionSettings, ...defaultPrivacySettings, recordPayloads: false,
    scaling: defaultScaling,
    limits: { ...defaultLimits, memoryMb: 128 },
    invoke: 'public',
    sandbox: defaultSandbox,
  };
  const plan = nodeRuntime.launch({
    instanceId: 'i1',
    networkIsolated: false,
    view: { packageDir: '/pkg', runDir: '/run', channel: runDirAddresses('/run'), rootfs: hostRootfsView },
    config,
    env: { A: '1', FERRY_FUNCTION: 'f', NODE_ENV: 'development' },
    port: 1234,
  });
  assert.equal(plan.argv[0], process.execPath);
  assert.equal(plan.argv[1], '--max-old-space-size=96');
  // Source maps are turned on by the shim before it loads the handler, not for Ferry's own modules.
  assert.ok(!plan.argv.includes('--enable-source-maps'));
  assert.match(plan.argv.at(-1)!, /runtime\/node\/shim\.js$/);
  assert.deepEqual(plan.env, { A: '1', FERRY_FUNCTION: 'f', NODE_ENV: 'development', FERRY_SOCKET: '/run/ferry.sock', FERRY_HANDLER: '/pkg/src/index.js:api' });
  assert.equal(plan.cwd, '/pkg');
  assert.equal(plan.channel, 'frames');
  assert.deepEqual(plan.rootfs, [{ kind: 'node' }, { kind: 'ferry-runtime' }]);

  const small = nodeRuntime.launch({ instanceId: 'i2', view: { packageDir: '/p', runDir: '/r', channel: runDirAddresses('/r'), rootfs: hostRootfsView }, config: { ...config, handler: 'a.mts', limits: { ...defaultLimits, memoryMb: 16 } }, env: {}, port: 1, networkIsolated: false });
  assert.equal(small.argv[1], '--max-old-space-size=16');
  assert.equal(small.env.FERRY_HANDLER, '/p/a.mjs');
  assert.equal(small.env.NODE_ENV, 'production');
});

test("the check's Node option goes to Node, also where the root starts Node through a loader", () => {
  const config: EffectiveConfig = {
    runtime: 'node', handler: 'index.js', command: undefined, env: {}, secrets: [], ...defaultExecutionSettings, ...defaultPrivacySettings,
    recordPayloads: false, scaling: defaultScaling, limits: defaultLimits, invoke: 'public', sandbox: defaultSandbox,
  };
  // A root of another libc (a microvm guest's Debian or image root): Ferry's Node through the host's loader.
  const loader = ['/.ferry/lib/ld-linux-x86-64.so.2', '--library-path', '/.ferry/lib', '/.ferry/usr/bin/node'];
  const foreign = { ...hostRootfsView, command: (_need: unknown, args: string[]) => [...loader, ...args] };
  for (const [rootfs, prefix] of [[hostRootfsView, [process.execPath]], [foreign, loader]] as const) {
    const plan = nodeRuntime.check!({ view: { packageDir: '/pkg', runDir: '/run', channel: runDirAddresses('/run'), rootfs }, config, env: {} });
    assert.deepEqual(plan.argv.slice(0, prefix.length + 1), [...prefix, '--expose-internals']);
    assert.equal(plan.env.FERRY_CHECK, '1');
  }
});

test('build: writes package.json {"type":"module"} when there is none; checks the handler exists', async (t) => {
  const dir = pkg(t, { 'index.js': 'export default () => "x";\n' });
  const lines = await build(dir, 'index.js');
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')), { type: 'module' });
  assert.ok(lines.some((l) => l.includes('package.json')));
  await assert.rejects(build(dir, 'missing.js'), isCode('invalid-manifest'));

  const own = pkg(t, { 'package.json': '{"name":"mine"}', 'index.js': 'module.exports = () => 1;\n' });
  await build(own, 'index.js');
  assert.equal(readFileSync(join(own, 'package.json'), 'utf8'), '{"name":"mine"}');
});

test('build: TypeScript compiles to .js/.mjs beside it, skipping .d.ts, node_modules and links', async (t) => {
  const dir = pkg(t, {
    'index.ts': 'import { shout } from "./lib/util.ts";\nexport default (r: Request): string => shout(new URL(r.url).pathname);\n',
    'lib/util.ts': 'export const shout = (s: string): string => s.toUpperCase();\n',
    'esm.mts': 'export const x: number = 1;\n',
    'types.d.ts': 'declare const y: number;\n',
    'node_modules/dep/index.ts': 'this is not typescript (',
  });
  symlinkSync(join(dir, 'lib/util.ts'), join(dir, 'link.ts'));
  const lines = await build(dir, 'index.ts');
  assert.match(readFileSync(join(dir, 'index.js'), 'utf8'), /from "\.\/lib\/util\.js"/);
  assert.ok(existsSync(join(dir, 'lib/util.js')));
  assert.ok(existsSync(join(dir, 'esm.mjs')));
  assert.ok(!existsSync(join(dir, 'types.d.js')) && !existsSync(join(dir, 'types.js')));
  assert.ok(!existsSync(join(dir, 'node_modules/dep/index.js')));
  assert.ok(!existsSync(join(dir, 'link.js')));
  assert.ok(lines.some((l) => l.includes('index.ts -> index.js')));
});

test('build: a TypeScript syntax error fails with tsc-style messages and writes nothing', async (t) => {
  const dir = pkg(t, { 'package.json': '{"type":"module"}', 'index.ts': 'export default () => "ok";\n', 'bad.ts': 'const a: number = 1;\nconst b = (;\n' });
  await assert.rejects(build(dir, 'index.ts'), (e: unknown) => {
    assert.ok(isCode('build-failed')(e));
    assert.match((e as Error).message, /^bad\.ts\(2,12\): error TS1109: Expression expected\./);
    return true;
  });
  assert.ok(!existsSync(join(dir, 'index.js')));
});

test('TypeScript handler: built, launched, stack traces point at the .ts source', async (t) => {
  const dir = pkg(t, {
    'index.ts': [
      'import { greet } from "./greet.ts";',
      'interface Ctx { function: string; requestId: string }',
      'export default async (req: Request, ctx: Ctx): Promise<Response> => {',
      '  if (new URL(req.url).pathname === "/boom") throw new Error("ts boom");',
      '  return Response.json({ hello: greet(ctx.function) });',
      '};',
      '',
    ].join('\n'),
    'greet.ts': 'export function greet(name: string): string {\n  return `hi ${name}`;\n}\n',
  });
  await build(dir, 'index.ts');
  const inst = await startInstance(t, nodeRuntime, dir, { handler: 'index.ts', env: { FERRY_FUNCTION: 'tsfn' } });
  const r = await fetch(`${inst.url}/`);
  assert.deepEqual(await r.json(), { hello: 'hi tsfn' });
  const boom = await fetch(`${inst.url}/boom`);
  assert.equal(boom.status, 500);
  await waitFor(() => inst.stderr().includes('index.ts:4'));
});

test('CommonJS package: .ts compiles to CommonJS and its default export is found', async (t) => {
  const dir = pkg(t, { 'package.json': '{"name":"cjs-fn"}', 'index.ts': 'export default (): string => typeof require;\n' });
  const lines = await build(dir, 'index.ts');
  assert.ok(lines.some((l) => l.includes('CommonJS')));
  const inst = await startInstance(t, nodeRuntime, dir, { handler: 'index.ts' });
  assert.equal(await (await fetch(inst.url)).text(), 'function');
});

test('named export and object-with-fetch handlers', async (t) => {
  const dir = pkg(t, {
    'package.json': '{"type":"module"}',
    'h.js': 'export const api = { greeting: "from fetch", fetch(req) { return this.greeting + " " + req.method; } };\n',
  });
  const inst = await startInstance(t, nodeRuntime, dir, { handler: 'h.js:api' });
  assert.equal(await (await fetch(inst.url, { method: 'PUT', body: 'x' })).text(), 'from fetch PUT');
});

for (const [what, files, handler, message] of [
  ['a module that throws while loading', { 'index.js': 'throw new Error("load boom");\n' }, 'index.js', /cannot load the handler module[\s\S]*load boom[\s\S]*index\.js:1/],
  ['a default export that is not callable', { 'index.js': 'export default 42;\n' }, 'index.js', /"default" of .*index\.js is a number/],
  ['a missing named export', { 'index.js': 'export const a = () => 1;\n' }, 'index.js:b', /has no export "b" \(its exports: a\)/],
  ['a missing module file', {}, 'gone.js', /cannot load the handler module .*gone\.js/],
] as const) {
  test(`load failure: ${what} -> exit 78, ready() rejects, the reason on stderr`, async (t) => {
    const dir = pkg(t, { 'package.json': '{"type":"module"}', ...files });
    const inst = startInstance(t, nodeRuntime, dir, { handler });
    await assert.rejects(inst, (e: unknown) => {
      assert.ok(isCode('instance-start-failed')(e));
      assert.match((e as Error).message, message);
      return true;
    });
  });
}

test('load failure exit code is 78 and nothing listens', async (t) => {
  const dir = pkg(t, { 'package.json': '{"type":"module"}', 'index.js': 'export default null;\n' });
  const inst = await startInstance(t, nodeRuntime, dir, { handler: 'index.js' }, { waitReady: false });
  assert.equal(await inst.exited, 78);
  assert.match(inst.stderr(), /is null, not a function/);
});

async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const baseConfig: EffectiveConfig = { runtime: 'node', handler: 'index.js', command: undefined, env: {}, secrets: [], ...defaultExecutionSettings, ...defaultPrivacySettings, recordPayloads: false, scaling: defaultScaling, limits: defaultLimits, invoke: 'public', sandbox: defaultSandbox };

test('pooled launch: the shim without a function or heap limit; load() is what launch() would start', () => {
  const view = { packageDir: '/pkg', runDir: '/run/ferry', channel: runDirAddresses('/run/ferry'), rootfs: hostRootfsView };
  const pooled = nodeRuntime.pooledLaunch!({ instanceId: 'p1', view });
  assert.equal(pooled.argv[0], process.execPath);
  assert.ok(!pooled.argv.some((a) => a.startsWith('--max-old-space-size')), 'memoryMb is not known yet');
  assert.match(pooled.argv.at(-1)!, /runtime\/node\/shim\.js$/);
  assert.deepEqual(pooled.env, { NODE_ENV: 'production', FERRY_SOCKET: '/run/ferry/ferry.sock', FERRY_POOLED: '1' });
  assert.equal(pooled.cwd, '/pkg');
  assert.equal(pooled.channel, 'frames');

  const ctx = { instanceId: 'p1', view, config: { ...baseConfig, handler: 'src/a.ts:api' }, env: { X: '1', FERRY_FUNCTION: 'f' }, port: 0, networkIsolated: true };
  const load = nodeRuntime.load!(ctx);
  const plan = nodeRuntime.launch(ctx);
  assert.deepEqual(load, { handler: '/pkg/src/a.js:api', env: { NODE_ENV: 'production', X: '1', FERRY_FUNCTION: 'f' }, cwd: '/pkg' });
  assert.equal(load.handler, plan.env.FERRY_HANDLER);
});

test('poolable: not when the environment sets what node reads only at start', () => {
  const ok = (env: Record<string, string>): boolean => nodeRuntime.poolable!({ ...baseConfig, env });
  assert.equal(ok({}), true);
  assert.equal(ok({ NODE_ENV: 'development', TZ: 'UTC', API_KEY: 'x' }), true);
  for (const name of ['NODE_OPTIONS', 'NODE_PATH', 'NODE_EXTRA_CA_CERTS', 'UV_THREADPOOL_SIZE', 'LD_PRELOAD', 'LANG', 'LC_ALL', 'OPENSSL_CONF']) {
    assert.equal(ok({ [name]: 'x' }), false, name);
  }
});

test('pooled shim: LOAD brings the handler, environment and directory; calls then run as cold', async (t) => {
  const dir = pkg(t, {
    'package.json': '{"type":"module"}',
    'index.js': 'import { readFileSync } from "node:fs";\nexport default (req, ctx) => ({ x: process.env.X, ctxX: ctx.env.X, fn: ctx.function, pooled: process.env.FERRY_POOLED ?? null, cwd: process.cwd(), own: readFileSync("own.txt", "utf8") });\n',
    'own.txt': 'mine',
  });
  const inst = await startInstance(t, nodeRuntime, dir, { handler: 'index.js', env: { X: 'from-load', FERRY_FUNCTION: 'pf' } }, { pooled: true });
  assert.deepEqual(await (await fetch(inst.url)).json(), { x: 'from-load', ctxX: 'from-load', fn: 'pf', pooled: null, cwd: dir, own: 'mine' });
});

test('pooled shim: a handler that does not load fails the LOAD with the reason, and the shim exits 78', async (t) => {
  const dir = pkg(t, { 'package.json': '{"type":"module"}', 'index.js': 'throw new Error("pooled load boom");\n' });
  await assert.rejects(startInstance(t, nodeRuntime, dir, { handler: 'index.js' }, { pooled: true }), (e: unknown) => {
    assert.ok(isCode('instance-start-failed')(e));
    assert.match((e as Error).message, /cannot load the handler module/);
    return true;
  });
  const inst = await startInstance(t, nodeRuntime, dir, { handler: 'index.js' }, { pooled: true, waitReady: false });
  const ac = new AbortController();
  await inst.connector.ready(ac.signal);
  await assert.rejects(inst.connector.load!({ handler: join(dir, 'index.js'), env: {}, cwd: dir }, ac.signal), /pooled load boom|cannot load/);
  assert.equal(await inst.exited, 78);
  assert.match(inst.stderr(), /pooled load boom/);
});
