// Dependency builds from the operator's own package sources: a PEP 503 index (--pip-index-url)
// and an npm registry on this host. Offline: the sources are small servers of this test.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { disposeFerry, startFerry, type Ferry } from './support/ferry.js';
import { buildLog, pythonFn, startSimpleIndex, upload, writeWheel, type SimpleIndex } from './support/build-sources.js';
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
    await disposeFerry(ferry);
    index.server.close();
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
