import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkSources, isInwardUrl, isLoopbackUrl, relayOf, sourceAccess, urlInside } from './sources.js';

test('loopback sources are told apart from the rest', () => {
  for (const url of ['http://127.0.0.1:4873/', 'http://127.9.9.9/', 'http://localhost:8080/', 'http://[::1]:4873/', 'http://registry.localhost/']) assert.ok(isLoopbackUrl(url), url);
  for (const url of ['https://registry.npmjs.org/', 'http://10.0.0.5/', 'http://[fd00::1]/', 'http://128.0.0.1/']) assert.ok(!isLoopbackUrl(url), url);
});

test('inward sources: loopback, private and link-local addresses; names other than localhost are not', () => {
  for (const url of ['http://127.0.0.1:4873/', 'http://localhost:8080/', 'http://10.0.0.5/', 'http://192.168.1.2:3141/simple', 'http://[fd00::1]/', 'http://169.254.1.1/']) assert.ok(isInwardUrl(url), url);
  for (const url of ['https://registry.npmjs.org/', 'http://8.8.8.8/', 'http://registry.internal:4873/']) assert.ok(!isInwardUrl(url), url);
});

test('the network of a build: none without a source, egress, host only for a loopback source', () => {
  assert.deepEqual(sourceAccess([], false), { network: 'none', relays: [] });
  assert.deepEqual(sourceAccess(['https://registry.npmjs.org/'], false), { network: 'egress', relays: [] });
  assert.deepEqual(sourceAccess(['http://10.0.0.5/simple'], false), { network: 'egress', relays: [] });
  assert.deepEqual(sourceAccess(['http://127.0.0.1:4873/'], false), { network: 'host', relays: [] });
  // Public sources are not relayed under the allowance either.
  assert.deepEqual(sourceAccess(['https://registry.npmjs.org/'], true), { network: 'egress', relays: [] });
});

test('under --build-allow-private-sources an inward source is relayed, and the build gets no network of its own', () => {
  const loopback = sourceAccess(['http://127.0.0.1:4873/'], true);
  assert.equal(loopback.network, 'none');
  assert.deepEqual(loopback.relays, [{ source: 'http://127.0.0.1:4873/', target: { host: '127.0.0.1', port: 4873 }, inside: { hosts: ['127.0.0.1'], port: 4873 }, url: 'http://127.0.0.1:4873/' }]);
  assert.equal(urlInside(loopback, 'http://127.0.0.1:4873/'), 'http://127.0.0.1:4873/', 'a loopback source keeps its URL: lock files stay valid');
  assert.deepEqual(relayOf('http://localhost:3141/simple', 0).inside, { hosts: ['127.0.0.1', '::1'], port: 3141 });
  // A private address cannot be listened on inside: the build is given a loopback one.
  const priv = sourceAccess(['http://10.0.0.5/simple'], true);
  assert.equal(priv.network, 'none');
  assert.deepEqual(priv.relays[0]!.target, { host: '10.0.0.5', port: 80 });
  assert.equal(urlInside(priv, 'http://10.0.0.5/simple'), 'http://127.77.0.1:1104/simple');
  assert.equal(relayOf('https://[fd00::1]:8443/', 1).url, 'https://127.77.0.2:8443/');
  assert.equal(urlInside(priv, 'https://registry.npmjs.org/'), 'https://registry.npmjs.org/');
});

test('a loopback source needs --build-allow-private-sources or --allow-host-network', () => {
  const loopback = { npmRegistry: 'http://127.0.0.1:4873/', pipIndexUrl: undefined, pipFindLinks: undefined, privateSources: false };
  assert.throws(() => checkSources(loopback, false), /--npm-registry http:\/\/127\.0\.0\.1:4873\/ .*--build-allow-private-sources.*--allow-host-network/);
  checkSources(loopback, true);
  checkSources({ ...loopback, privateSources: true }, false);
  assert.throws(() => checkSources({ npmRegistry: 'https://registry.npmjs.org/', pipIndexUrl: 'http://localhost:3141/simple', pipFindLinks: undefined, privateSources: false }, false), /--pip-index-url/);
  checkSources({ npmRegistry: 'https://registry.npmjs.org/', pipIndexUrl: 'https://pypi.org/simple', pipFindLinks: '/srv/wheels', privateSources: false }, false);
});
