import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IpList, plainAddress } from './ip-list.js';

test('addresses and CIDRs of both families; IPv4-mapped addresses count as IPv4', () => {
  const l = new IpList(['10.0.0.0/8', '192.0.2.7', 'fd00::/8', '::1']);
  for (const a of ['10.1.2.3', '::ffff:10.1.2.3', '192.0.2.7', 'fd12::1', '::1']) assert.ok(l.has(a), a);
  for (const a of ['11.0.0.1', '192.0.2.8', 'fe80::1', 'not-an-address', '']) assert.ok(!l.has(a), a);
  assert.ok(new IpList().empty);
  assert.ok(!new IpList().has('10.0.0.1'));
});

test('bad rules are refused', () => {
  for (const r of ['10.0.0.0/33', 'fd00::/129', '10.0.0.0/8/1', 'example.com', '10.0.0.0/x']) assert.throws(() => new IpList([r]), /not an IP address or CIDR|bad prefix/, r);
});

test('plainAddress drops the IPv4 mapping and zones', () => {
  assert.equal(plainAddress('::ffff:127.0.0.1'), '127.0.0.1');
  assert.equal(plainAddress('fe80::1%eth0'), 'fe80::1');
  assert.equal(plainAddress('nonsense'), undefined);
});
