// Native add-ons at deploy: a binding.gyp package is compiled in the build sandbox with the host's
// toolchain (read-only) and node-gyp from npm's own copy, against the headers installed with
// node; on a host without the compilers the build fails naming what is missing and its package.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { disposeFerry, startFerry, type Ferry, type PackageFiles } from './support/ferry.js';
import { buildLog, packTarball, pkgName, startRegistry, upload, type Registry } from './support/build-sources.js';
import { sandboxSupport } from './support/sandbox.js';

const support = await sandboxSupport();
const skip = support.ok ? false : `the bwrap sandbox cannot run here: ${support.why}`;
if (skip && process.env.CI === 'true') throw new Error(`this suite must run in CI: ${skip}`);

const nativeName = 'ferry-native';

/** A tiny Node-API add-on in C: `hello()` answers 'hello native'. */
const nativeFiles: Record<string, Buffer> = {
  'binding.gyp': Buffer.from(JSON.stringify({ targets: [{ target_name: 'native', sources: ['native.c'] }] })),
  'native.c': Buffer.from(`#include <node_api.h>
static napi_value hello(napi_env env, napi_callback_info info) {
  napi_value s;
  napi_create_string_utf8(env, "hello native", NAPI_AUTO_LENGTH, &s);
  return s;
}
NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "hello", NAPI_AUTO_LENGTH, hello, NULL, &fn);
  napi_set_named_property(env, exports, "hello", fn);
  return exports;
}
`),
  'index.js': Buffer.from("module.exports = require('./build/Release/native.node');\n"),
};

const nativeFn: PackageFiles = {
  'ferry.json': JSON.stringify({ runtime: 'node', handler: 'index.js' }),
  'package.json': JSON.stringify({ name: 'fn', version: '1.0.0', type: 'module', dependencies: { [nativeName]: '1.0.0' } }),
  'index.js': `import native from '${nativeName}';\nexport default () => new Response(native.hello());\n`,
};

describe('native add-ons at deploy', { skip }, () => {
  let work: string;
  let registry: Registry;
  let args: string[];

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'ferry-build-toolchain-'));
    // The registry marks it as npm's does: a package with a binding.gyp has an install script.
    registry = await startRegistry(
      { [pkgName]: await packTarball(work), [nativeName]: await packTarball(work, nativeName, nativeFiles, { gypfile: true }) },
      { [nativeName]: { hasInstallScript: true, gypfile: true } },
    );
    args = ['--npm-registry', `http://127.0.0.1:${registry.port}/`, '--build-allow-private-sources'];
  });
  after(async () => {
    registry?.server.close();
    await rm(work, { recursive: true, force: true });
  });

  test('with the host toolchain, a binding.gyp add-on is compiled at deploy and loads', async (t) => {
    const ferry = await startFerry({ args });
    t.after(() => disposeFerry(ferry));
    await ferry.deploy('native-ok', nativeFn);
    assert.equal(await (await fetch(`${ferry.url}/fn/native-ok`)).text(), 'hello native');
    assert.match(await buildLog(ferry, 'native-ok'), /node-gyp rebuild/);
  });

  test('on a host without the compilers and make, the build fails 422 naming each and its Debian package', async (t) => {
    // The server runs in a mount namespace of its own where the compilers and make are an empty,
    // non-executable file: the host as it would be without them, for the server and its sandboxes.
    const empty = join(work, 'empty');
    await writeFile(join(work, 'empty'), '', { mode: 0o644 });
    const hidden = [...new Set(await Promise.all(['cc', 'g++', 'make'].map((tool) => realpath(join('/usr/bin', tool)))))];
    const hide = 'empty=$1; shift; while [ "$1" != -- ]; do mount --bind "$empty" "$1" || exit 1; shift; done; shift; exec "$@"';
    const ferry = await startFerry({ args, prefix: ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', hide, 'hide', empty, ...hidden, '--'] });
    t.after(() => disposeFerry(ferry));
    const res = await upload(ferry, 'native-missing', nativeFn);
    assert.equal(res.status, 422);
    const body = (await res.json()) as { code: string; detail: string; log: string };
    assert.equal(body.code, 'build-failed');
    const line = /^dependencies: native add-ons need cc, g\+\+, make, python3 on the host; missing: cc \(Debian package gcc\), g\+\+ \(Debian package g\+\+\), make \(Debian package make\)/m;
    assert.match(body.log, line);
    assert.match(body.detail, /missing: cc \(Debian package gcc\), g\+\+ \(Debian package g\+\+\), make \(Debian package make\)/);
    assert.equal((await ferry.api('GET', '/v1/functions/native-missing')).status, 404);
  });
});
