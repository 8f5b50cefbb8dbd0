import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadServerOptions } from './options.js';

test('the registry settings: lists parsed, bad ranges, hosts and relative files refused with the flag named', () => {
  const o = loadServerOptions({ registryAllow: '127.0.0.1,10.0.0.0/8', insecureRegistry: '127.0.0.1:5000,registry.local', registryAuthFile: '/etc/ferry/auth.json' }, {});
  assert.deepEqual(o.registryAllow, ['127.0.0.1', '10.0.0.0/8']);
  assert.deepEqual(o.insecureRegistry, ['127.0.0.1:5000', 'registry.local']);
  assert.equal(o.registryCa, undefined);
  assert.throws(() => loadServerOptions({ registryAllow: 'example.com' }, {}), /--registry-allow: 'example.com' is not an IP address or CIDR/);
  assert.throws(() => loadServerOptions({ insecureRegistry: 'http://r.io' }, {}), /--insecure-registry: 'http:\/\/r.io' is not a host\[:port\]/);
  assert.throws(() => loadServerOptions({ registryAuthFile: 'auth.json' }, {}), /--registry-auth-file: 'auth.json' is not an absolute path/);
  assert.throws(() => loadServerOptions({}, { FERRY_REGISTRY_CA: 'ca.pem' }), /--registry-ca: 'ca.pem' is not an absolute path/);
});
