import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressKey } from './address-key.js';

test('IPv4 addresses count one by one, IPv6 addresses by their /64', () => {
  assert.equal(addressKey('10.1.2.3'), '10.1.2.3');
  assert.equal(addressKey('2001:db8:0:1::5'), '2001:db8:0:1::/64');
  assert.equal(addressKey('2001:0db8:0000:0001:ffff:0:0:9'), '2001:db8:0:1::/64');
  assert.equal(addressKey('::1'), '0:0:0:0::/64');
  assert.equal(addressKey('fe80::'), 'fe80:0:0:0::/64');
  assert.equal(addressKey('unknown'), 'unknown');
});
