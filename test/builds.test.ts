// Dependency builds at deploy: package.json (npm ci / npm install) and requirements.txt (pip) are
// installed in a build sandbox from the operator's sources only, cached by their inputs, and a
// failed build stores nothing. Offline: the npm registry is a small server of this test, the
// wheels a folder it writes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { disposeFerry, packFiles, startFerry, writeFiles, type Ferry, type PackageFiles } from './support/ferry.js';
import { buildLog, nodeFn, packTarball, pkgName, pythonFn, startRegistry, upload, writeWheel, type Registry } from './support/build-sources.js';
import { runCli } from './support/helpers.js';
import { sandboxSupport } from './support/sandbox.js';

const support = await sandboxSupport();
const skip = support.ok ? false : `the bwrap sandbox cannot run here: ${support.why}`;
if (skip && process.env.CI === 'true') throw new Error(`this suite must run in CI: ${skip}`);

/** A package that writes 1 MiB when installed, for the disk cap. */
const bigName = 'ferry-big';
/** A package whose install script writes 1 MiB, then waits: only the disk watch can stop it. */
const fillName = 'ferry-fill';
const fillScripts = { postinstall: "node -e \"require('fs').writeFileSync('fill.bin', Buffer.alloc(1 << 20)); setTimeout(() => {}, 600000)\"" };

/** A non-loopback IPv4 address of this host (the egress filter must refuse it). */
function hostAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  throw new Error('this host has no non-loopback IPv4 address to probe');
}

describe('dependency builds', { skip }, () => {
  let work: string;
  let registry: Registry;
  let wheels: string;
  let ferry: Ferry;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'ferry-builds-'));
    registry = await startRegistry({
      [pkgName]: await packTarball(work),
      [bigName]: await packTarball(work, bigName, { 'big.bin': Buffer.alloc(1024 * 1024, 'x') }),
      [fillName]: await packTarball(work, fillName, {}, { scripts: fillScripts }),
    }, { [fillName]: { scripts: fillScripts, hasInstallScript: true } });
    wheels = join(work, 'wheels');
    await mkdir(wheels);
    writeWheel(wheels);
    // The sandbox user reads the wheel folder (bound read-only); the temp dir above it is private.
    await chmod(work, 0o755);
    ferry = await startFerry({
      // A registry on the host's loopback is reached only with the operator's --allow-host-network.
      args: ['--npm-registry', `http://127.0.0.1:${registry.port}/`, '--allow-host-network', '--pip-find-links', wheels],
    });
  });
  after(async () => {
    await disposeFerry(ferry);
    registry.server.close();
    await rm(work, { recursive: true, force: true });
  });

  test('node: package.json dependencies without a lock are installed with npm install', async () => {
    await ferry.deploy('deps-install', nodeFn({ [pkgName]: '^1.0.0' }));
    const res = await fetch(`${ferry.url}/fn/deps-install`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'hello node');
    const log = await buildLog(ferry, 'deps-install');
    assert.match(log, /npm install --omit=dev/);
    assert.ok(registry.hits.includes(`/${pkgName}/-/${pkgName}-1.0.0.tgz`), 'the tarball came from the configured registry');
    // What the build wrote is stored as Ferry's copy, not as files of the sandbox user.
    const version = (await (await ferry.api('GET', '/v1/functions/deps-install/versions/v1')).json()) as { packageSha: string };
    const installed = join(ferry.dataDir, 'packages', version.packageSha, 'node_modules', pkgName, 'index.js');
    assert.equal((await stat(installed)).uid, process.getuid!());
  });

  test('node: with a package-lock.json, npm ci; a second deploy of the same lock reuses the cached build', async () => {
    const url = `http://127.0.0.1:${registry.port}/${pkgName}/-/${pkgName}-1.0.0.tgz`;
    const lock = {
      name: 'fn',
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: 'fn', version: '1.0.0', dependencies: { [pkgName]: '^1.0.0' } },
        [`node_modules/${pkgName}`]: { version: '1.0.0', resolved: url, integrity: registry.integrity },
      },
    };
    const files = nodeFn({ [pkgName]: '^1.0.0' }, { 'package-lock.json': JSON.stringify(lock, null, 2) });
    await ferry.deploy('deps-ci', files);
    const res = await fetch(`${ferry.url}/fn/deps-ci`);
    assert.equal(await res.text(), 'hello node');
    assert.match(await buildLog(ferry, 'deps-ci'), /npm ci --omit=dev/);

    const before = registry.hits.length;
    await ferry.deploy('deps-ci-again', files);
    assert.equal(registry.hits.length, before, 'no request reached the registry');
    const again = await buildLog(ferry, 'deps-ci-again');
    assert.match(again, /reused the cached build [0-9a-f]{12}/);
    assert.doesNotMatch(again, /in a build sandbox/);
    assert.equal(await (await fetch(`${ferry.url}/fn/deps-ci-again`)).text(), 'hello node');
  });

  test('python: requirements.txt is installed from the wheel folder and importable', async () => {
    await ferry.deploy('deps-py', pythonFn());
    const res = await fetch(`${ferry.url}/fn/deps-py`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'hello python');
    const log = await buildLog(ferry, 'deps-py');
    assert.match(log, /pip install -r requirements\.txt \(network: none\)/);
    assert.match(log, /ferrypy/);
  });

  test('a failing build answers 422 build-failed with the log tail, and stores nothing', async () => {
    const packages = join(ferry.dataDir, 'packages');
    const stored = async (): Promise<string[]> => (await readdir(packages)).filter((n) => !n.startsWith('.')).sort();
    const was = await stored();
    const res = await upload(ferry, 'deps-missing', nodeFn({ 'ferry-no-such-package': '^1.0.0' }));
    assert.equal(res.status, 422);
    assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
    const body = (await res.json()) as { code: string; detail: string; log: string };
    assert.equal(body.code, 'build-failed');
    assert.match(body.detail, /npm install --omit=dev ended with exit status/);
    assert.match(body.log, /ferry-no-such-package/);
    assert.ok(Buffer.byteLength(body.log) <= 4096, 'only the tail of the log');
    assert.ok(registry.hits.includes('/ferry-no-such-package'));
    assert.equal((await ferry.api('GET', '/v1/functions/deps-missing')).status, 404);
    assert.deepEqual(await stored(), was, 'no package was stored');
    assert.deepEqual(await readdir(join(ferry.dataDir, 'builds', 'work')), [], 'no build work dir is left');
  });

  test('a package.json without dependencies and an empty requirements.txt need no build', async () => {
    const hits = registry.hits.length;
    await ferry.deploy('deps-none-node', {
      'ferry.json': JSON.stringify({ runtime: 'node', handler: 'index.js' }),
      'package.json': JSON.stringify({ type: 'module', devDependencies: { [pkgName]: '^1.0.0' } }),
      'index.js': "export default () => new Response('plain');\n",
    });
    assert.match(await buildLog(ferry, 'deps-none-node'), /package\.json names none, nothing to install/);
    await ferry.deploy('deps-none-py', {
      'ferry.json': JSON.stringify({ runtime: 'python', handler: 'main.py' }),
      'requirements.txt': '# nothing yet\n\n',
      'main.py': "def handler(req):\n    return 'plain'\n",
    });
    assert.match(await buildLog(ferry, 'deps-none-py'), /requirements\.txt names none, nothing to install/);
    assert.equal(registry.hits.length, hits, 'no request reached the registry');
    assert.equal(await (await fetch(`${ferry.url}/fn/deps-none-py`)).text(), 'plain');
  });

  test('the build log streams to a client that accepts application/x-ndjson, then the outcome', async () => {
    const progress = async (name: string, files: PackageFiles): Promise<Array<Record<string, unknown>>> => {
      const res = await ferry.api('POST', `/v1/functions/${name}/versions`, await packFiles(files), { 'content-type': 'application/gzip', accept: 'application/x-ndjson' });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
      return (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    };
    const ok = await progress('deps-progress', nodeFn({ [pkgName]: '1.0.0' }));
    assert.ok(ok.slice(0, -1).every((l) => typeof l.log === 'string'));
    assert.ok(ok.some((l) => /npm install --omit=dev/.test(String(l.log))));
    const last = ok.at(-1) as { status: number; version: { version: string } };
    assert.equal(last.status, 201);
    assert.equal(last.version.version, 'v1');
    assert.equal(await (await fetch(`${ferry.url}/fn/deps-progress`)).text(), 'hello node');

    const failed = await progress('deps-progress-missing', nodeFn({ 'ferry-no-such-package': '2.0.0' }));
    const end = failed.at(-1) as { status: number; problem: { code: string; log: string } };
    assert.equal(end.status, 422);
    assert.equal(end.problem.code, 'build-failed');
    assert.match(end.problem.log, /ferry-no-such-package/);
    assert.equal((await ferry.api('GET', '/v1/functions/deps-progress-missing')).status, 404);
  });

  test('ferry deploy shows the build log as it is written', async () => {
    const dir = await writeFiles(nodeFn({ [pkgName]: '~1.0.0' }));
    try {
      const r = await runCli(['deploy', dir, '--name', 'deps-cli'], { env: { FERRY_URL: ferry.url, FERRY_TOKEN: ferry.token }, cwd: dir });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^ {2}dependencies: npm install --omit=dev \(network: host\) in a build sandbox$/m);
      assert.match(r.stdout, /^Deployed deps-cli v1$/m);
      const bad = await writeFiles(nodeFn({ 'ferry-no-such-package': '^3.0.0' }));
      const f = await runCli(['deploy', bad, '--name', 'deps-cli-bad'], { env: { FERRY_URL: ferry.url, FERRY_TOKEN: ferry.token }, cwd: bad });
      await rm(bad, { recursive: true, force: true });
      assert.notEqual(f.code, 0);
      assert.match(f.stderr, /npm install --omit=dev ended with exit status/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  describe('with small --build-max-bytes and --build-cache-max-bytes', () => {
    let capped: Ferry;
    before(async () => {
      // 800 bytes: one cached build of the small package fits (a few hundred bytes), two do not.
      capped = await startFerry({
        args: ['--npm-registry', `http://127.0.0.1:${registry.port}/`, '--allow-host-network', '--build-max-bytes', '200KiB', '--build-cache-max-bytes', '800', '--build-timeout', '60s'],
      });
    });
    after(() => disposeFerry(capped));
    const cacheDir = (): string => join(capped.dataDir, 'builds', 'cache');
    const cached = async (): Promise<string[]> => (await readdir(cacheDir()).catch(() => [])).sort();

    test('a build that writes more than --build-max-bytes fails 422 and stores nothing', async () => {
      const packages = join(capped.dataDir, 'packages');
      const stored = async (): Promise<string[]> => (await readdir(packages).catch(() => [])).filter((n) => !n.startsWith('.')).sort();
      const was = await stored();
      const res = await upload(capped, 'deps-big', nodeFn({ [bigName]: '1.0.0' }));
      assert.equal(res.status, 422);
      const body = (await res.json()) as { code: string; detail: string; log: string };
      assert.equal(body.code, 'build-failed');
      assert.match(body.detail, /the build wrote more than 204800 bytes \(--build-max-bytes\)/);
      assert.match(body.log, /^dependencies: the build wrote more than 204800 bytes \(--build-max-bytes\)$/m);
      assert.equal((await capped.api('GET', '/v1/functions/deps-big')).status, 404);
      assert.deepEqual(await stored(), was, 'no package was stored');
      assert.deepEqual(await cached(), [], 'nothing was cached');
      assert.deepEqual(await readdir(join(capped.dataDir, 'builds', 'work')), [], 'no build work dir is left');
    });

    test('a build still running when it passes --build-max-bytes is stopped', async () => {
      const res = await upload(capped, 'deps-fill', nodeFn({ [fillName]: '1.0.0' }));
      assert.equal(res.status, 422);
      const body = (await res.json()) as { code: string; detail: string; log: string };
      assert.equal(body.code, 'build-failed');
      assert.match(body.detail, /^the build wrote more than 204800 bytes \(--build-max-bytes\)$/);
      assert.doesNotMatch(body.log, /--build-timeout/);
      assert.deepEqual(await cached(), [], 'nothing was cached');
      assert.deepEqual(await readdir(join(capped.dataDir, 'builds', 'work')), [], 'no build work dir is left');
    });

    test('past --build-cache-max-bytes a new build evicts the least recently used one', async () => {
      const first = nodeFn({ [pkgName]: '^1.0.0' });
      await capped.deploy('cache-a', first);
      const [a] = await cached();
      assert.ok(a, 'the first build is cached');
      assert.match(await buildLog(capped, 'cache-a'), /in a build sandbox/);

      await capped.deploy('cache-b', nodeFn({ [pkgName]: '1.0.0' }));
      const afterB = await cached();
      assert.equal(afterB.length, 1, 'only one build fits');
      assert.ok(!afterB.includes(a), 'the first build was evicted');
      await assert.rejects(stat(join(cacheDir(), a)), { code: 'ENOENT' });
      assert.equal(await (await fetch(`${capped.url}/fn/cache-b`)).text(), 'hello node');

      await capped.deploy('cache-a-again', first);
      const again = await buildLog(capped, 'cache-a-again');
      assert.match(again, /npm install --omit=dev \(network: host\) in a build sandbox/);
      assert.doesNotMatch(again, /reused the cached build/);
      assert.deepEqual(await cached(), [a], 'the first build is cached again, the second evicted');
      assert.equal(await (await fetch(`${capped.url}/fn/cache-a-again`)).text(), 'hello node');
    });
  });

  describe('with a registry that never answers', () => {
    let silent: Server;
    let slow: Ferry;
    before(async () => {
      // Accepts connections and requests, answers nothing: only the time limit ends the build.
      silent = createServer(() => {});
      silent.listen({ port: 0, host: '127.0.0.1' });
      await once(silent, 'listening');
      const port = (silent.address() as AddressInfo).port;
      slow = await startFerry({ args: ['--npm-registry', `http://127.0.0.1:${port}/`, '--allow-host-network', '--build-timeout', '2s'] });
    });
    after(async () => {
      await disposeFerry(slow);
      silent.closeAllConnections();
      silent.close();
    });

    test('a build over --build-timeout is stopped and answers 422; nothing is stored', async () => {
      const res = await upload(slow, 'deps-slow', nodeFn({ [pkgName]: '^1.0.0' }));
      assert.equal(res.status, 422);
      const body = (await res.json()) as { code: string; detail: string; log: string };
      assert.equal(body.code, 'build-failed');
      assert.match(body.detail, /took longer than --build-timeout \(2s\)/);
      assert.match(body.log, /npm install --omit=dev \(network: host\)/);
      assert.equal((await slow.api('GET', '/v1/functions/deps-slow')).status, 404);
      assert.deepEqual(await readdir(join(slow.dataDir, 'builds', 'work')), [], 'no build work dir is left');
    });
  });

  describe('with the default egress network', () => {
    let egress: Ferry;
    before(async () => {
      egress = await startFerry();
    });
    after(() => disposeFerry(egress));

    test('the build sandbox cannot reach an address the operator did not allow (the host)', async () => {
      const url = registry.tarballUrl(hostAddress());
      const before = registry.hits.length;
      const res = await upload(egress, 'deps-probe', nodeFn({ [pkgName]: url }));
      assert.equal(res.status, 422);
      const body = (await res.json()) as { code: string; log: string };
      assert.equal(body.code, 'build-failed');
      assert.match(body.log, /EHOSTUNREACH|ECONNREFUSED|ENETUNREACH/);
      assert.equal(registry.hits.length, before, 'nothing reached the server on the host');
    });
  });
});
