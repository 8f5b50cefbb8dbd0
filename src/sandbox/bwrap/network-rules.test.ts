import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { contains, DNS_FORWARD_ADDRESS, EVERY_ADDRESS, formatCidr, hostSets, hostSetUpdate, networkRules, parseCidr, parseEgressAllow, routerRules } from './network-rules.js';
import { findTool } from './network.js';
import { need } from '../../../test/support/netns.js';

const fmt = (s: string): string => formatCidr(parseCidr(s));

test('parseCidr normalises addresses and blocks, IPv4 and IPv6', () => {
  assert.equal(fmt('10.1.2.3/8'), '10.0.0.0/8'); // host bits cleared: nft refuses them otherwise
  assert.equal(fmt('192.0.2.7'), '192.0.2.7');
  assert.equal(fmt('172.31.255.255/12'), '172.16.0.0/12');
  assert.equal(fmt('0.0.0.0/0'), '0.0.0.0/0');
  assert.equal(fmt('fd00::2'), 'fd00:0:0:0:0:0:0:2');
  assert.equal(fmt('fe80::1%eth0'), 'fe80:0:0:0:0:0:0:1');
  assert.equal(fmt('2001:db8::ff/32'), '2001:db8:0:0:0:0:0:0/32');
  assert.equal(fmt('::ffff:10.0.0.1'), '0:0:0:0:0:ffff:a00:1');
  assert.equal(fmt('::'), '0:0:0:0:0:0:0:0');
  assert.equal(fmt('1::'), '1:0:0:0:0:0:0:0');
  assert.equal(fmt('fe80::/10'), 'fe80:0:0:0:0:0:0:0/10');
  for (const bad of ['10.0.0.256', '1.2.3.4/33', 'fe80::/129', 'example.com', '1.2.3.4/8/2', '', '10.0.0.0/', '10.0.0.0/-1', '10.0.0.0/8x']) {
    assert.throws(() => parseCidr(bad), /not an IP address|invalid prefix/, bad);
  }
});

test('contains compares blocks bit by bit', () => {
  assert.ok(contains(parseCidr('10.0.0.0/8'), parseCidr('10.123.4.1')));
  assert.ok(contains(parseCidr('172.16.0.0/12'), parseCidr('172.31.0.0/16')));
  assert.ok(!contains(parseCidr('172.16.0.0/12'), parseCidr('172.32.0.1')));
  assert.ok(!contains(parseCidr('10.1.0.0/16'), parseCidr('10.0.0.0/8')));
  assert.ok(contains(parseCidr('fc00::/7'), parseCidr('fd12:3456::1')));
  assert.ok(!contains(parseCidr('fc00::/7'), parseCidr('10.0.0.1')));
});

test('parseEgressAllow splits commas, validates, and refuses loopback', () => {
  assert.deepEqual(parseEgressAllow(['10.0.0.0/8, 192.168.1.0/24', '', 'fd00::/8']).map(formatCidr), ['10.0.0.0/8', '192.168.1.0/24', 'fd00:0:0:0:0:0:0:0/8']);
  assert.throws(() => parseEgressAllow(['10.0.0.0/8,nope']), /not an IP address/);
  assert.throws(() => parseEgressAllow(['127.0.0.1']), /loopback is never reachable/);
  assert.throws(() => parseEgressAllow(['::1']), /loopback/);
  assert.equal(parseEgressAllow(['0.0.0.0/0']).length, 1); // covers loopback without meaning it
});

test('the ruleset: loopback first, host addresses before the allow list, denied ranges last', () => {
  const rules = networkRules(['127.0.0.1', '::1', '192.0.2.2', 'fd00::2', 'fe80::1%eth0', '198.51.100.2'], ['10.123.0.0/16', '198.51.100.0/24']);
  const lines = rules.split('\n');
  const at = (re: RegExp): number => lines.findIndex((l) => re.test(l));
  const lo = at(/oifname "lo" accept/);
  const host4 = at(/ip daddr @host4 reject/);
  const host6At = at(/ip6 daddr @host6 reject/);
  const dns = at(new RegExp(`ip daddr ${DNS_FORWARD_ADDRESS} udp dport 53 accept`));
  const allow4 = at(/ip daddr @allow4 accept/);
  const deny4 = at(/ip daddr @deny4 reject/);
  const deny6 = at(/ip6 daddr @deny6 reject/);
  for (const i of [lo, host4, host6At, dns, allow4, deny4, deny6]) assert.ok(i > 0, rules);
  assert.ok(lo < host4 && host4 < dns && host6At < allow4 && dns < allow4 && allow4 < deny4 && deny4 < deny6, rules);
  assert.match(rules, /policy accept;/); // the internet is allowed: egress
  assert.match(rules, /set host4 \{[^}]*elements = \{ 127\.0\.0\.1, 192\.0\.2\.2, 198\.51\.100\.2 \}/); // the address, not its /24
  const host6 = /set host6 \{[^}]*\}/.exec(rules)![0];
  for (const a of ['0:0:0:0:0:0:0:1', 'fd00:0:0:0:0:0:0:2', 'fe80:0:0:0:0:0:0:1', '64:ff9b:0:0:0:0:c000:202']) assert.ok(host6.includes(a), a); // and via NAT64
  assert.match(rules, /set allow4 \{[^}]*10\.123\.0\.0\/16, 198\.51\.100\.0\/24/);
  assert.match(rules, /set allow6 \{ type ipv6_addr; flags interval; auto-merge; \}/); // empty: no elements clause
  for (const range of ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16', '127.0.0.0/8']) assert.ok(rules.includes(range), range);
  for (const range of ['fc00:0:0:0:0:0:0:0/7', 'fe80:0:0:0:0:0:0:0/10', '64:ff9b:0:0:0:0:a9fe:0/112']) assert.ok(rules.includes(range), range);
});

test('host sets: local blocks are kept whole, blocks inside another one and repeats are dropped', () => {
  // A local route of a whole prefix (127.0.0.0/8, an AnyIP `local 10.9.0.0/24 dev lo`) is the host throughout.
  const { host4, host6 } = hostSets(['127.0.0.1', '127.0.0.0/8', '10.9.0.0/24', '10.9.0.7', '192.0.2.2', '192.0.2.2', '::1', 'fd00::2']);
  assert.deepEqual(host4.map(formatCidr), ['127.0.0.0/8', '10.9.0.0/24', '192.0.2.2']);
  assert.deepEqual(host6.map(formatCidr), ['0:0:0:0:0:0:0:1', 'fd00:0:0:0:0:0:0:2', '64:ff9b:0:0:0:0:7f00:0/104', '64:ff9b:0:0:0:0:a09:0/120', '64:ff9b:0:0:0:0:c000:202']);
  assert.match(networkRules(['10.9.0.0/24'], []), /set host4 \{[^}]*elements = \{ 10\.9\.0\.0\/24 \}/);
});

test('host set updates replace the sets of a loaded ruleset: IPv4 for the router, both families for an instance', () => {
  assert.equal(hostSetUpdate('ip', ['192.0.2.2', '::1', '10.9.0.0/24']), 'flush set ip ferry host4\nadd element ip ferry host4 { 192.0.2.2, 10.9.0.0/24 }\n');
  const inet = hostSetUpdate('inet', ['192.0.2.2', '::1']).split('\n');
  assert.deepEqual(inet, ['flush set inet ferry host4', 'add element inet ferry host4 { 192.0.2.2 }', 'flush set inet ferry host6', 'add element inet ferry host6 { 0:0:0:0:0:0:0:1, 64:ff9b:0:0:0:0:c000:202 }', '']);
  assert.equal(hostSetUpdate('ip', []), 'flush set ip ferry host4\n'); // nft refuses an empty element list
  assert.match(hostSetUpdate('inet', EVERY_ADDRESS), /host4 \{ 0\.0\.0\.0\/0 \}[^]*host6 \{ 0:0:0:0:0:0:0:0\/0, /);
});

test('the ruleset takes another DNS forwarder address', () => {
  assert.match(networkRules([], [], '10.0.2.3'), /ip daddr 10\.0\.2\.3 udp dport 53 accept/);
  assert.throws(() => networkRules(['not-an-ip'], []), /not an IP address/);
});

test('nft accepts the generated rulesets (checked in a throwaway namespace)', (t) => {
  const nft = findTool('nft');
  const unshare = findTool('unshare');
  if (!need(t, !nft ? 'nft is not installed (apt-get install nftables)' : !unshare && 'unshare (util-linux) is not installed')) return;
  const probe = spawnSync(unshare!, ['--user', '--map-root-user', '--net', nft!, 'list', 'ruleset']);
  if (!need(t, probe.status !== 0 && `no unprivileged user+network namespace here: ${probe.stderr.toString().trim()}`)) return;
  const variants = [
    networkRules([], []),
    networkRules(['127.0.0.1', '::1', '192.0.2.2', 'fd00::2', 'fe80::1'], ['10.0.0.0/8', '10.1.0.0/16', '10.1.2.3', 'fd00::/8', '169.254.169.254']),
    networkRules(['192.0.2.2', '192.0.2.2'], ['0.0.0.0/1', '128.0.0.0/1'], '10.0.2.3'),
  ];
  for (const rules of variants) {
    // Loaded for real (not just --check): the kernel validates sets and intervals too.
    const r = spawnSync(unshare!, ['--user', '--map-root-user', '--net', 'sh', '-c', `"$0" -f - && "$0" list table inet ferry >/dev/null`, nft!], { input: rules });
    assert.equal(r.status, 0, `${r.stderr.toString()}\n${rules}`);
  }
  // The updates, applied to a loaded ruleset (an instance's, then the router's), also when the
  // new set overlaps the old one and when it refuses everything.
  const updates = (family: 'ip' | 'inet', loaded: string): void => {
    const steps = [loaded, hostSetUpdate(family, ['10.9.0.0/24', '10.9.0.7', '192.0.2.2', '::1']), hostSetUpdate(family, EVERY_ADDRESS), hostSetUpdate(family, [])];
    const script = `nft="$0"; for step; do printf '%s' "$step" | "$nft" -f - || exit 1; done; "$nft" list set ${family} ferry host4`;
    const r = spawnSync(unshare!, ['--user', '--map-root-user', '--net', 'sh', '-c', script, nft!, ...steps]);
    assert.equal(r.status, 0, `${r.stderr.toString()}\n${steps.join('\n')}`);
    assert.doesNotMatch(r.stdout.toString(), /elements/); // the last update emptied it
  };
  updates('inet', networkRules(['192.0.2.2'], []));
  updates('ip', routerRules(['192.0.2.2'], [], '10.0.2.3'));
});
