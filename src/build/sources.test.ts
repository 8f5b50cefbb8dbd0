import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildNetwork, checkSources, isLoopbackUrl } from './sources.js';

test('loopback sources are told apart from the rest', () => {
  for (const url of ['http://127.0.0.1:4873/', 'http://127.9.9.9/', 'http://localhost:8080/', 'http://[::1]:4873/', 'http://registry.localhost/']) assert.ok(isLoopbackUrl(url), url);
  for (const url of ['https://registry.npmjs.org/', 'http://10.0.0.5/', 'http://[fd00::1]/', 'http://128.0.0.1/']) assert.ok(!isLoopbackUrl(url), url);
});

test('the network of a build: none without a source, egress, host only for a loopback source', () => {
  assert.equal(buildNetwork([]), 'none');
  assert.equal(buildNetwork(['https://registry.npmjs.org/']), 'egress');
  assert.equal(buildNetwork(['http://10.0.0.5/simple']), 'egress');
  assert.equal(buildNetwork(['http://127.0.0.1:4873/']), 'host');
});

test('a loopback source needs --allow-host-network', () => {
  const loopback = { npmRegistry: 'http://127.0.0.1:4873/', pipIndexUrl: undefined, pipFindLinks: undefined };
  assert.throws(() => checkSources(loopback, false), /--npm-registry http:\/\/127\.0\.0\.1:4873\/ .*--allow-host-network/);
  checkSources(loopback, true);
  assert.throws(() => checkSources({ npmRegistry: 'https://registry.npmjs.org/', pipIndexUrl: 'http://localhost:3141/simple', pipFindLinks: undefined }, false), /--pip-index-url/);
  checkSources({ npmRegistry: 'https://registry.npmjs.org/', pipIndexUrl: 'https://pypi.org/simple', pipFindLinks: '/srv/wheels' }, false);
});
