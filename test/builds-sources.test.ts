// Dependency builds from the operator's own package sources: a PEP 503 index (--pip-index-url)
// and an npm registry on this host. Offline: the sources are small servers of this test.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:net';
import { once } from 'node:events';
import { disposeFerry, startFerry, type Ferry } from './support/ferry.js';
import { buildLog, nodeFn, packTarball, pkgName, pythonFn, startRegistry, startSimpleIndex, upload, writeWheel, type Registry, type SimpleIndex } from './support/build-sources.js';
import { sandboxSupport } from './support/sandbox.js';

const support = await sandboxSupport();
const skip = support.ok ? false : `the bwrap sandbox cannot run here: ${support.why}`;
if (skip && process.env.CI === 'true') throw new Error(`this suite must run in CI: ${skip}`);

describe('builds from a --pip-index-url', { skip }, () => {
  let work: string;
  let index: SimpleIndex;
  let ferry: Ferry;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'ferry-build-sources-'));
    await mkdir(join(work, 'wheels'));
    index = await startSimpleIndex('ferrypy', writeWheel(join(work, 'wheels')));
    ferry = await startFerry({ args: ['--pip-index-url', `http://127.0.0.1:${index.port}/simple`, '--allow-host-network'] });
  });
  after(async () => {
    index?.server.close();
    if (ferry) await disposeFerry(ferry);
    await rm(work, { recursive: true, force: true });
  });

  test('python: requirements.txt is installed from the index and importable', async () => {
    await ferry.deploy('index-py', pythonFn());
    const res = await fetch(`${ferry.url}/fn/index-py`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'hello python');
    assert.match(await buildLog(ferry, 'index-py'), /pip install -r requirements\.txt/);
    assert.ok(index.hits.includes('/simple/ferrypy/'), 'pip asked the index for the project');
    assert.ok(index.hits.includes('/files/ferrypy-1.0-py3-none-any.whl'), 'the wheel came from the index');
  });

  test('a package the index does not have fails the build with 422, its name in the log', async () => {
    const res = await upload(ferry, 'index-missing', pythonFn('ferry-absent==1.0\n'));
    assert.equal(res.status, 422);
    const body = (await res.json()) as { code: string; detail: string; log: string };
    assert.equal(body.code, 'build-failed');
    assert.match(body.detail, /pip install -r requirements\.txt ended with exit status/);
    assert.match(body.log, /ferry-absent/);
    assert.ok(index.hits.includes('/simple/ferry-absent/'), 'pip asked the index');
    assert.equal((await ferry.api('GET', '/v1/functions/index-missing')).status, 404);
  });
});

/**
 * Tries 127.0.0.1:`port` from a build's install script and prints what happened; the build goes
 * on either way, so its log can be read.
 */
const probeScript = (port: number): string => `import { connect } from 'node:net';
const s = connect({ host: '127.0.0.1', port: ${port} });
s.setTimeout(5000, () => { console.log('probe: no answer'); s.destroy(); });
s.on('connect', () => { console.log('probe: reached 127.0.0.1:${port}'); s.destroy(); });
s.on('error', (err) => console.log('probe: refused ' + err.code));
`;

describe('builds from loopback sources under --build-allow-private-sources', { skip }, () => {
  let work: string;
  let registry: Registry;
  let index: SimpleIndex;
  /** Another service on the host's loopback: no build may reach it. */
  let other: Server;
  let otherPort: number;
  let reachedOther = 0;
  let ferry: Ferry;
  let sourceArgs: string[];

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'ferry-build-sources-'));
    registry = await startRegistry({ [pkgName]: await packTarball(work) });
    await mkdir(join(work, 'wheels'));
    index = await startSimpleIndex('ferrypy', writeWheel(join(work, 'wheels')));
    other = createServer((c) => {
      reachedOther++;
      c.destroy();
    });
    other.listen({ port: 0, host: '127.0.0.1' });
    await once(other, 'listening');
    otherPort = (other.address() as { port: number }).port;
    sourceArgs = ['--npm-registry', `http://127.0.0.1:${registry.port}/`, '--pip-index-url', `http://127.0.0.1:${index.port}/simple`];
    // The narrow allowance, and not --allow-host-network.
    ferry = await startFerry({ args: [...sourceArgs, '--build-allow-private-sources'] });
  });
  after(async () => {
    // Closed whatever happened before: a server left listening would keep the test running.
    registry?.server.close();
    index?.server.close();
    other?.close();
    if (ferry) await disposeFerry(ferry);
    await rm(work, { recursive: true, force: true });
  });

  test('without an allowance the server does not start, and says which setting allows the source', async () => {
    await assert.rejects(startFerry({ args: sourceArgs }), /--npm-registry http:\/\/127\.0\.0\.1:\d+\/ is on this host's loopback.*--build-allow-private-sources/);
  });

  test('node: the registry is reached, another service on the loopback of the host is not', async () => {
    const files = nodeFn({ [pkgName]: '^1.0.0' }, { 'probe.mjs': probeScript(otherPort) });
    const pkg = JSON.parse(files['package.json'] as string) as Record<string, unknown>;
    files['package.json'] = JSON.stringify({ ...pkg, scripts: { postinstall: 'node probe.mjs' } });
    await ferry.deploy('private-node', files);
    assert.equal(await (await fetch(`${ferry.url}/fn/private-node`)).text(), 'hello node');
    const log = await buildLog(ferry, 'private-node');
    assert.match(log, /^probe: refused ECONNREFUSED$/m, 'the build tried the other port and was refused');
    assert.doesNotMatch(log, /probe: reached/);
    assert.equal(reachedOther, 0, 'nothing reached the other service');
    assert.match(log, new RegExp(`npm install --omit=dev \\(network: none, and through the server only 127\\.0\\.0\\.1:${registry.port}\\)`));
    assert.ok(registry.hits.includes(`/${pkgName}/-/${pkgName}-1.0.0.tgz`), 'the tarball came from the registry');
  });

  test('python: the index is reached and its wheel importable', async () => {
    await ferry.deploy('private-py', pythonFn());
    assert.equal(await (await fetch(`${ferry.url}/fn/private-py`)).text(), 'hello python');
    assert.match(await buildLog(ferry, 'private-py'), new RegExp(`pip install -r requirements\\.txt \\(network: none, and through the server only 127\\.0\\.0\\.1:${index.port}\\)`));
    assert.ok(index.hits.includes('/files/ferrypy-1.0-py3-none-any.whl'), 'the wheel came from the index');
  });
});
